"""Train, select and score a model on a supervised benchmark (CREMA-D, CMU-MOSI).

Two model kinds share one protocol: OMIB over two or more modalities (the core's two-stage
:func:`~omib_st.train.fit`), and a single-modality baseline (encoder + MLP head trained on the
task loss alone). Model selection keeps the weights of the epoch with the lowest validation task
loss (the fused head's loss for OMIB, main stage only); the test split is only ever predicted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from omib_st.benchmarks import reporting
from omib_st.config import MIConfig, OMIBConfig, TrainConfig, to_dict
from omib_st.errors import OmibError
from omib_st.module import OMIB, Task
from omib_st.nn import MLP
from omib_st.train import BestState, BestWeights, fit, make_loader, resolve_accelerator

Scorer = Callable[[np.ndarray, np.ndarray], dict[str, float]]


class Unimodal(nn.Module):
    """Single-modality baseline: ``task head(encoder(inputs[modality]))``."""

    def __init__(self, modality: str, encoder: nn.Module, task: Task, head_hidden: int = 64):
        super().__init__()
        self.modality, self.encoder, self.task = modality, encoder, task
        self.head = MLP(int(encoder.out_dim), task.out_dim, (head_hidden,))

    def forward(self, inputs: dict[str, Any]) -> Tensor:
        return self.head(self.encoder(inputs[self.modality]))

    @torch.no_grad()
    def predict(self, inputs: dict[str, Any]) -> Tensor:
        self.eval()
        return self.task.predict(self(inputs))


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor of a nested dict / list batch to ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def train_omib(
    model: OMIB, train: Dataset, val: Dataset, *, config: TrainConfig, mi: MIConfig
) -> dict[str, Any]:
    """Two-stage OMIB training; ``model`` ends with its best validation weights."""
    best = BestState()
    loaders = [
        make_loader(
            train, config.batch_size, shuffle=True, seed=config.seed, num_workers=config.num_workers
        ),
        make_loader(val, config.batch_size, num_workers=config.num_workers),
    ]
    result = fit(model, *loaders, config=config, mi=mi, callbacks=[best])
    best.restore(model)
    bound = None if result.bound is None else result.bound.to_dict()
    return {
        "epochs": result.epochs,
        "best_epoch": best.epoch,
        "best_val_loss": best.best,
        "beta_bound": bound,
        "history": result.history,
    }


def train_unimodal(model: Unimodal, train: Dataset, val: Dataset, *, config: TrainConfig) -> dict:
    """Plain training for ``warmup_epochs + max_epochs`` epochs with the same early stopping."""
    L.seed_everything(config.seed, verbose=False)
    device = torch.device(resolve_accelerator(config.device))
    model.to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    train_loader = make_loader(
        train, config.batch_size, shuffle=True, seed=config.seed, num_workers=config.num_workers
    )
    val_loader = make_loader(val, config.batch_size, num_workers=config.num_workers)
    best, history, epoch = BestWeights(config.patience), [], -1
    for epoch in range(config.warmup_epochs + config.max_epochs):
        model.train()
        for batch in train_loader:
            batch = to_device(batch, device)
            loss = model.task.loss(model(batch["inputs"]), batch["target"])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        val_loss = _mean_loss(model, val_loader, device)
        history.append({"epoch": epoch, "val/task": val_loss})
        if best.update(model, val_loss, epoch):
            break
    best.restore(model)
    return {
        "epochs": epoch + 1,
        "best_epoch": best.epoch,
        "best_val_loss": best.best,
        "beta_bound": None,
        "history": history,
    }


@torch.no_grad()
def _mean_loss(model: Unimodal, loader: Iterable, device: torch.device) -> float:
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        batch, size = to_device(batch, device), len(batch["target"])
        total += model.task.loss(model(batch["inputs"]), batch["target"]).item() * size
        count += size
    return total / count


@torch.no_grad()
def predict(
    model: nn.Module, data: Dataset, *, batch_size: int, device: str = "cpu", num_workers: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``model.predict`` over a dataset in order: (predictions, targets) as numpy arrays."""
    model.to(device).eval()
    predictions, targets = [], []
    for batch in make_loader(data, batch_size, num_workers=num_workers):
        predictions.append(model.predict(to_device(batch["inputs"], device)).float().cpu())
        targets.append(batch["target"])
    return torch.cat(predictions).numpy(), torch.cat(targets).numpy()


def run_supervised(
    encoders: dict[str, nn.Module],
    task: Task,
    data: dict[str, Dataset],
    score: Scorer,
    *,
    omib: OMIBConfig,
    train: TrainConfig,
    mi: MIConfig,
) -> dict[str, Any]:
    """Train OMIB (two or more encoders) or the unimodal baseline (one), select, score.

    ``data`` holds ``train``, ``val`` and ``test`` datasets of OMIB batches. Returns a JSON-ready
    record: ``val`` and ``test`` metrics from ``score(predictions, targets)``, the training
    summary (epochs, best epoch, β bound, per-epoch history) and the split sizes.
    """
    start = time.perf_counter()
    if len(encoders) == 1:
        ((modality, encoder),) = encoders.items()
        model: nn.Module = Unimodal(modality, encoder, task)
        summary = train_unimodal(model, data["train"], data["val"], config=train)
    else:
        model = OMIB(encoders, task, omib)
        summary = train_omib(model, data["train"], data["val"], config=train, mi=mi)
    device = resolve_accelerator(train.device)
    metrics = {
        split: score(
            *predict(
                model,
                data[split],
                batch_size=train.batch_size,
                device=device,
                num_workers=train.num_workers,
            )
        )
        for split in ("val", "test")
    }
    return {
        "model": "omib" if len(encoders) > 1 else "unimodal",
        "modalities": list(encoders),
        "seed": train.seed,
        **metrics,
        **summary,
        "n": {split: len(dataset) for split, dataset in data.items()},
        "seconds": round(time.perf_counter() - start, 2),
        "omib": to_dict(omib),
        "train": to_dict(train),
    }


def run_configured(
    config: Any, encoders: dict[str, nn.Module], task: Task, data: dict[str, Dataset], score: Scorer
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`run_supervised` with the ``omib``, ``train`` and ``mi`` settings of a benchmark's
    ``config``; returns its record and the config's other settings (JSON-ready)."""
    record = run_supervised(
        encoders, task, data, score, omib=config.omib, train=config.train, mi=config.mi
    )
    settings = {k: v for k, v in to_dict(config).items() if k not in ("omib", "train", "mi")}
    return record, settings


def write_json(path: str | Path, record: dict[str, Any]) -> None:
    """Write a run record as JSON (indented by two), atomically; NaN/inf → null."""
    reporting.write_json(path, record, indent=2)


def aggregate(paths: Iterable[str | Path], csv: str | Path, markdown: str | Path) -> None:
    """Collect run records ``<variant>/<anything>.json`` into a CSV (one row per run) and a
    Markdown table (mean ± std of each test metric per variant)."""
    import pandas as pd

    rows = []
    for path in map(Path, paths):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise OmibError(f"run record {path} is unreadable ({err})", "re-run that job") from None
        rows.append(
            {
                "variant": path.parent.name,
                "seed": record["seed"],
                "modalities": "+".join(record["modalities"]),
                **record["test"],
            }
        )
    table = pd.DataFrame(rows).sort_values(["variant", "seed"])
    metrics = [c for c in table.columns if c not in ("variant", "seed", "modalities")]
    lines = reporting.header(["variant", "modalities", "runs", *metrics])
    for variant, group in table.groupby("variant", sort=True):
        cells = [reporting.mean_sd(group[m], ".4f") for m in metrics]
        lines.append(reporting.row([variant, group["modalities"].iloc[0], len(group), *cells]))
    reporting.write_csv(csv, table)
    reporting.write_text(markdown, "\n".join(lines) + "\n")

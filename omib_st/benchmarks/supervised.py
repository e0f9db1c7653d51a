"""Train, select and score a model on a supervised benchmark (CREMA-D, CMU-MOSI).

Two model kinds share one protocol: OMIB over two or more modalities (the core's two-stage
:func:`~omib_st.train.fit`), and a single-modality baseline (encoder + MLP head trained on the
task loss alone). Model selection keeps the weights of the epoch with the lowest validation task
loss (the fused head's loss for OMIB, main stage only); the test split is only ever predicted.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn
from torch.utils.data import Dataset

from omib_st.config import MIConfig, OMIBConfig, TrainConfig, to_dict
from omib_st.errors import OmibError
from omib_st.module import OMIB, Task
from omib_st.nn import MLP
from omib_st.train import fit, make_loader, resolve_accelerator

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


class _BestState(Callback):
    """Remember the main-stage weights with the lowest ``val/task`` (the fused task loss)."""

    def __init__(self) -> None:
        self.best, self.epoch, self.state = math.inf, None, None

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get("val/task")
        if trainer.sanity_checking or module.stage != "main" or value is None:
            return
        if float(value) < self.best:
            self.best, self.epoch = float(value), trainer.current_epoch
            self.state = {k: v.detach().cpu().clone() for k, v in module.model.state_dict().items()}


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
    best = _BestState()
    loaders = [
        make_loader(train, config.batch_size, shuffle=True, seed=config.seed,
                    num_workers=config.num_workers),
        make_loader(val, config.batch_size, num_workers=config.num_workers),
    ]  # fmt: skip
    result = fit(model, *loaders, config=config, mi=mi, callbacks=[best])
    if best.state is not None:
        model.load_state_dict(best.state)
    bound = None if result.bound is None else result.bound.to_dict()
    return {"epochs": result.epochs, "best_epoch": best.epoch, "best_val_loss": best.best,
            "beta_bound": bound, "history": result.history}  # fmt: skip


def train_unimodal(model: Unimodal, train: Dataset, val: Dataset, *, config: TrainConfig) -> dict:
    """Plain training for ``warmup_epochs + max_epochs`` epochs with the same early stopping."""
    L.seed_everything(config.seed, verbose=False)
    device = torch.device(resolve_accelerator(config.device))
    model.to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    train_loader = make_loader(train, config.batch_size, shuffle=True, seed=config.seed,
                               num_workers=config.num_workers)  # fmt: skip
    val_loader = make_loader(val, config.batch_size, num_workers=config.num_workers)
    best, best_epoch, state, history, epoch = math.inf, None, None, [], -1
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
        if val_loss < best:
            best, best_epoch, state = val_loss, epoch, copy.deepcopy(model.state_dict())
        elif config.patience > 0 and epoch - best_epoch >= config.patience:
            break
    if state is not None:
        model.load_state_dict(state)
    return {"epochs": epoch + 1, "best_epoch": best_epoch, "best_val_loss": best,
            "beta_bound": None, "history": history}  # fmt: skip


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
        split: score(*predict(model, data[split], batch_size=train.batch_size, device=device,
                              num_workers=train.num_workers))
        for split in ("val", "test")
    }  # fmt: skip
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


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON atomically (temporary sibling, then ``os.replace``); NaN/inf → null."""
    from omib_st.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_json_safe(record), indent=2) + "\n")


def aggregate(paths: Iterable[str | Path], csv: str | Path, markdown: str | Path) -> None:
    """Collect run records ``<variant>/<anything>.json`` into a CSV (one row per run) and a
    Markdown table (mean ± std of each test metric per variant)."""
    import pandas as pd

    from omib_st.io.atomic import atomic_path

    rows = []
    for path in map(Path, paths):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise OmibError(f"run record {path} is unreadable ({err})", "re-run that job") from None
        rows.append({"variant": path.parent.name, "seed": record["seed"],
                     "modalities": "+".join(record["modalities"]), **record["test"]})  # fmt: skip
    table = pd.DataFrame(rows).sort_values(["variant", "seed"])
    metrics = [c for c in table.columns if c not in ("variant", "seed", "modalities")]
    lines = ["| variant | modalities | runs | " + " | ".join(metrics) + " |",
             "|---|---|---|" + "---|" * len(metrics)]  # fmt: skip
    for variant, group in table.groupby("variant", sort=True):
        cells = [f"{group[m].mean():.4f} ± {group[m].std(ddof=0):.4f}" for m in metrics]
        lines.append(f"| {variant} | {group['modalities'].iloc[0]} | {len(group)} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(markdown) as tmp:
        tmp.write_text("\n".join(lines) + "\n")

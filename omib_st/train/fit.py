"""Run the OMIB schedule with a Lightning Trainer: device, precision, checkpoints, early stop."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader

from omib_st.config import MIConfig, TrainConfig
from omib_st.errors import OmibError
from omib_st.module import OMIB, BetaBound
from omib_st.train.lightning_module import OMIBLightning


@dataclass
class FitResult:
    """What a training run produced besides the weights (which stay in the model)."""

    bound: BetaBound | None
    history: list[dict[str, float]] = field(default_factory=list)
    """One dict of epoch-level metrics per epoch (losses, their parts, r_m, β)."""
    epochs: int = 0
    stopped_early: bool = False


class _History(Callback):
    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        self.epochs.append({"epoch": trainer.current_epoch, **metrics})


class _MainStageEarlyStopping(EarlyStopping):
    """Early stopping that only counts main-stage epochs."""

    def _run_early_stopping_check(self, trainer: L.Trainer) -> None:
        if trainer.lightning_module.stage == "main":
            super()._run_early_stopping_check(trainer)


def resolve_accelerator(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without a GPU is an error."""
    if device == "cuda" and not torch.cuda.is_available():
        raise OmibError(
            "--device cuda was requested but no CUDA GPU is visible", "use --device cpu or auto"
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_precision(precision: str, accelerator: str) -> str:
    """``auto`` → bf16 mixed precision on a GPU that supports it, full precision otherwise."""
    if precision != "auto":
        return "32-true" if precision == "32" else precision
    if accelerator == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def resolve_strategy(strategy: str, devices: int = 1, num_nodes: int = 1) -> str:
    """The Lightning strategy to run: DDP variants with ``find_unused_parameters`` (the warm-up
    trains only the encoders and TRB heads, the main stage not the warm-up decoders), and DDP
    for ``auto`` with several devices or nodes."""
    if strategy in ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook"):
        return f"{strategy}_find_unused_parameters_true"
    if strategy == "auto" and devices * num_nodes > 1:
        return "ddp_find_unused_parameters_true"
    return strategy


def fit(
    model: OMIB,
    train: DataLoader,
    val: DataLoader | None = None,
    *,
    config: TrainConfig = TrainConfig(),
    mi: MIConfig = MIConfig(),
    resume: bool = False,
    callbacks: list[Callback] | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
) -> FitResult:
    """Warm-up, β estimation and main stage; trains ``model`` in place.

    ``resume=True`` continues from ``config.checkpoint_dir/last.ckpt`` when it exists.
    """
    accelerator = resolve_accelerator(config.device)
    history = _History()
    monitor = "val/main_loss" if val is not None else "train/main_loss"
    all_callbacks: list[Callback] = [history, *(callbacks or [])]
    if config.patience > 0:
        all_callbacks.append(
            _MainStageEarlyStopping(monitor=monitor, patience=config.patience, strict=False)
        )
    ckpt_path = None
    if config.checkpoint_dir is not None:
        directory = Path(config.checkpoint_dir)
        all_callbacks.append(ModelCheckpoint(dirpath=directory, save_last=True, save_top_k=0))
        if resume and (directory / "last.ckpt").is_file():
            ckpt_path = str(directory / "last.ckpt")
    elif resume:
        raise OmibError(
            "resume was requested without a checkpoint directory", "set train.checkpoint_dir"
        )
    if config.compile:
        for encoder in model.encoders.values():
            encoder.compile(dynamic=True)
    module = OMIBLightning(model, config, mi)
    with warnings.catch_warnings(), _quiet_lightning():
        for message in (
            ".*does not have many workers.*",
            ".*LeafSpec.*",
            ".*smaller than the logging interval.*",
            ".*all_gather is deprecated.*",
            ".*module\\(s\\) in eval mode.*",  # a frozen backbone is kept in eval mode
        ):
            warnings.filterwarnings("ignore", message=message)
        trainer = L.Trainer(
            accelerator=accelerator,
            devices=config.devices,
            num_nodes=config.num_nodes,
            strategy=resolve_strategy(config.strategy, config.devices, config.num_nodes),
            precision=resolve_precision(config.precision, accelerator),
            max_epochs=config.warmup_epochs + config.max_epochs,
            deterministic=accelerator == "cpu",
            callbacks=all_callbacks,
            logger=False,
            enable_checkpointing=config.checkpoint_dir is not None,
            enable_progress_bar=config.progress_bar,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            **(trainer_kwargs or {}),
        )
        L.seed_everything(config.seed, workers=True, verbose=False)
        trainer.fit(module, train, val, ckpt_path=ckpt_path)
    stopped = any(isinstance(c, EarlyStopping) and c.stopped_epoch > 0 for c in trainer.callbacks)
    return FitResult(module.bound, history.epochs, trainer.current_epoch, stopped)


class _quiet_lightning:
    """Silence Lightning's banner lines (GPU available…, TPU…) for the duration of a fit."""

    names = ("lightning.pytorch", "lightning.fabric", "lightning")

    def __enter__(self) -> None:
        self.levels = [logging.getLogger(n).level for n in self.names]
        for name in self.names:
            logging.getLogger(name).setLevel(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        for name, level in zip(self.names, self.levels):
            logging.getLogger(name).setLevel(level)

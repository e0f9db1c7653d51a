"""Run the OMIB schedule with a Lightning Trainer: device, precision, checkpoints, early stop."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.utils.data import DataLoader

from omib_st.config import MIConfig, TrainConfig
from omib_st.errors import OmibError
from omib_st.module import OMIB, BetaBound
from omib_st.train.lightning_module import OMIBLightning
from omib_st.train.memory import ReleaseFreeMemory


@dataclass
class FitResult:
    """What a training run produced besides the weights (which stay in the model)."""

    bound: BetaBound | None
    history: list[dict[str, float]] = field(default_factory=list)
    """One dict of epoch-level metrics per epoch (losses, their parts, r_m, β)."""
    epochs: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    """Wall time of the training loop (both stages and the β estimate)."""
    best_epoch: int | None = None
    """The epoch whose weights were kept, when a caller restored its best validation epoch."""


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


class _AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints go to a temporary file beside the target and are then renamed onto it, so a
    run killed while saving keeps its previous checkpoint intact."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            torch.save(checkpoint, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


class _EpochCheckpoint(ModelCheckpoint):
    """Writes ``last.ckpt`` after every training epoch, so a killed run resumes from its last
    finished epoch. (Lightning's own ``save_last`` only writes beside a top-k checkpoint, that is
    once at the end when ``save_top_k=0``.) A ModelCheckpoint, so it runs after early stopping has
    updated its state for the epoch."""

    def __init__(self, path: Path):
        super().__init__(dirpath=path.parent, save_top_k=0, save_last=False)
        self.path = path

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.path)

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        pass

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        pass


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
    run_id: str | None = None,
    callbacks: list[Callback] | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
) -> FitResult:
    """Warm-up, β estimation and main stage; trains ``model`` in place.

    With ``config.checkpoint_dir`` a checkpoint (``last.ckpt``) is written after every epoch.
    ``resume=True`` continues from it when it exists (and starts afresh when it does not); it is
    read with ``weights_only=True``. ``run_id`` (any string identifying the data and settings) is
    stored in the checkpoint and a resume from a checkpoint of another run is refused. Without
    ``resume`` an existing ``last.ckpt`` is an error rather than silently left beside the new run.

    Raises :class:`~omib_st.errors.OmibError` when the loss becomes NaN or infinite, and
    ``KeyboardInterrupt`` (never ``SystemExit``) when interrupted.
    """
    accelerator = resolve_accelerator(config.device)
    all_callbacks = [*(callbacks or []), ReleaseFreeMemory()]
    if config.patience > 0:
        monitor = "val/main_loss" if val is not None else "train/main_loss"
        all_callbacks.append(
            _MainStageEarlyStopping(monitor=monitor, patience=config.patience, strict=False)
        )
    ckpt_path = _checkpointing(config, resume, all_callbacks)
    if config.compile:
        for encoder in model.encoders.values():
            encoder.compile(dynamic=True)
    module = OMIBLightning(model, config, mi, run_id=run_id)
    with warnings.catch_warnings(), _quiet_lightning():
        for message in _IGNORED_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        trainer = _trainer(config, accelerator, all_callbacks, trainer_kwargs)
        start = time.perf_counter()
        with _own_random_state(), _interrupt_as_keyboard_interrupt(trainer):
            L.seed_everything(config.seed, workers=True, verbose=False)
            trainer.fit(module, train, val, ckpt_path=ckpt_path, weights_only=True)
        seconds = time.perf_counter() - start
    stopped = any(isinstance(c, EarlyStopping) and c.stopped_epoch > 0 for c in trainer.callbacks)
    return FitResult(module.bound, module.history, trainer.current_epoch, stopped, seconds)


_IGNORED_WARNINGS = (
    ".*does not have many workers.*",
    ".*LeafSpec.*",
    ".*smaller than the logging interval.*",
    ".*all_gather is deprecated.*",
    ".*module\\(s\\) in eval mode.*",  # a frozen backbone is kept in eval mode
)
"""Lightning's warnings about choices made on purpose here."""


def _checkpointing(config: TrainConfig, resume: bool, callbacks: list[Callback]) -> str | None:
    """Add the per-epoch checkpoint to ``callbacks``; the checkpoint to resume from, if any."""
    if config.checkpoint_dir is None:
        if resume:
            raise OmibError(
                "resume was requested without a checkpoint directory", "set train.checkpoint_dir"
            )
        return None
    last = Path(config.checkpoint_dir) / "last.ckpt"
    callbacks.append(_EpochCheckpoint(last))
    if resume and last.is_file():
        return str(last)
    if not resume and last.exists():
        raise OmibError(
            f"{last} holds a checkpoint of an earlier run",
            "continue it with --resume (resume=True), or empty train.checkpoint_dir",
        )
    return None


def _trainer(
    config: TrainConfig,
    accelerator: str,
    callbacks: list[Callback],
    trainer_kwargs: dict[str, Any] | None,
) -> L.Trainer:
    """The Lightning Trainer of the two stages (max and min epochs count both)."""
    checkpoints = config.checkpoint_dir is not None
    return L.Trainer(
        accelerator=accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=resolve_strategy(config.strategy, config.devices, config.num_nodes),
        precision=resolve_precision(config.precision, accelerator),
        max_epochs=config.warmup_epochs + config.max_epochs,
        min_epochs=config.warmup_epochs + config.min_epochs,
        deterministic=accelerator == "cpu",
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=checkpoints,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        plugins=[_AtomicCheckpointIO()] if checkpoints else None,
        **(trainer_kwargs or {}),
    )


@contextmanager
def _own_random_state() -> Iterator[None]:
    """Training seeds Python's, NumPy's and torch's global generators (Lightning's
    ``seed_everything``, per epoch); give the caller's states back afterwards."""
    import random

    import numpy as np

    python, numpy = random.getstate(), np.random.get_state()  # noqa: NPY002 (restored)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)  # noqa: NPY002


@contextmanager
def _interrupt_as_keyboard_interrupt(trainer: L.Trainer) -> Iterator[None]:
    """Lightning answers Ctrl-C with ``sys.exit(1)`` and leaves SIGINT ignored for the rest of
    the process (a notebook kernel could no longer be interrupted). Restore the handler and
    raise ``KeyboardInterrupt`` instead, so callers (the CLI: exit 130) can report it."""
    handler = signal.getsignal(signal.SIGINT)
    try:
        yield
    except SystemExit:
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        if handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, handler)


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

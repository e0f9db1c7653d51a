"""Methods, settings and the configuration of the synthetic benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omib_st.config import MIConfig, OMIBConfig, TrainConfig, replace

SETTINGS = ("SIM-I", "SIM-II", "SIM-III")
ABLATIONS: dict[str, dict[str, Any]] = {
    "no_warmup": {"train.warmup_epochs": 0},
    "no_cross_attention": {"omib.fusion": "concat"},
    "no_omf": {"omib.omf": False},
    "fixed_r": {"omib.dynamic_r": False},
}
BASELINES = ("optimal", "concat_mlp")
METHODS = ("omib", *BASELINES, *ABLATIONS)
BETA_SCALES = (0.1, 0.5, 1.0, 2.0, 10.0, 100.0)
LABELS = {
    "omib": "OMIB",
    "optimal": "optimal [a0, a1, a2]",
    "concat_mlp": "MLP on [v1 ‖ v2]",
    "no_warmup": "w/o warm-up",
    "no_cross_attention": "w/o cross-attention (concat)",
    "no_omf": "w/o OMF block",
    "fixed_r": "fixed r = 1",
}


def _train_defaults() -> TrainConfig:
    return TrainConfig(
        warmup_epochs=5,
        max_epochs=30,
        patience=8,
        min_epochs=0,  # early stopping as for the baselines (best-validation selection)
        batch_size=512,
        lr=1e-3,
        weight_decay=1e-2,
        progress_bar=False,
        device="cpu",
    )


@dataclass(frozen=True)
class SyntheticConfig:
    """Data, model and training defaults of the synthetic benchmark."""

    n_train: int = 10000
    n_val: int = 2000
    n_test: int = 5000
    component_dim: int = 8
    input_dim: int = 64
    noise: float = 0.1
    label_noise: float = 0.325
    nonlinear: bool = True
    encoder_hidden: int = 64
    encoder_dim: int = 32
    encoder_dropout: float = 0.3
    head_hidden: int = 32
    omib: OMIBConfig = field(default_factory=lambda: OMIBConfig(latent_dim=16, fused_dim=16))
    train: TrainConfig = field(default_factory=_train_defaults)
    mi: MIConfig = field(default_factory=MIConfig)


QUICK: dict[str, Any] = {
    "n_train": 1500,
    "n_val": 500,
    "n_test": 1000,
    "train.warmup_epochs": 2,
    "train.max_epochs": 6,
    "train.patience": 3,
    "train.batch_size": 128,
    "mi.steps": 60,
}
"""Overrides of ``--quick``: a smoke-sized run (seconds per method)."""


def make_config(quick: bool = False, **overrides: Any) -> SyntheticConfig:
    """Defaults, then the quick preset, then dotted ``overrides`` (e.g. ``{"train.lr": 3e-3}``)."""
    changes = {**(QUICK if quick else {}), **overrides}
    return replace(SyntheticConfig(), **changes) if changes else SyntheticConfig()

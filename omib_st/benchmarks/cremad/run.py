"""One CREMA-D run: load the layout, carve the validation split, train, select, score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from omib_st.benchmarks.cremad.config import CremadConfig
from omib_st.benchmarks.cremad.data import (
    LABELS,
    CremadDataset,
    CremadLayout,
    load_cremad,
    split_train_val,
)
from omib_st.benchmarks.cremad.model import build_encoders
from omib_st.benchmarks.supervised import run_configured
from omib_st.module import Classification


def classification_metrics(prediction: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (over the classes present in targets or predictions)."""
    from sklearn.metrics import f1_score

    return {
        "accuracy": float(np.mean(prediction == target)),
        "macro_f1": float(f1_score(target, prediction, average="macro", zero_division=0)),
    }


def run_cremad(
    root: str | Path,
    config: CremadConfig | None = None,
    *,
    audio_dir: str | Path | None = None,
    visual_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train on ``train.csv`` minus a validation split, select on it, score on ``test.csv``.

    Returns the JSON-ready record of :func:`~omib_st.benchmarks.supervised.run_supervised`
    with ``skipped`` (clips listed but missing on disk, per split) and the data paths added.
    ``config`` defaults to ``CremadConfig()``.
    """
    config = config or CremadConfig()
    layout = CremadLayout.from_root(
        root, audio_dir=audio_dir, visual_dir=visual_dir, fps=config.fps
    )
    data = load_cremad(layout)
    train, val = split_train_val(data["train"], config.train.val_fraction, config.split_seed)
    datasets = {
        "train": CremadDataset(train, config, train=True),
        "val": CremadDataset(val, config),
        "test": CremadDataset(data["test"], config),
    }
    torch.manual_seed(config.train.seed)
    encoders, task = build_encoders(config), Classification(len(LABELS))
    record, settings = run_configured(config, encoders, task, datasets, classification_metrics)
    return {
        "benchmark": "cremad",
        **record,
        "skipped": data["skipped"],
        "settings": settings,
        "layout": {k: str(v) for k, v in vars(layout).items()},
    }

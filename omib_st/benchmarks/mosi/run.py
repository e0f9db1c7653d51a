"""One MOSI run: read the pickle, train on train, select on valid, score on test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from omib_st.benchmarks.mosi.config import MosiConfig
from omib_st.benchmarks.mosi.data import load_mosi
from omib_st.benchmarks.mosi.metrics import regression_metrics
from omib_st.benchmarks.mosi.model import build_encoders
from omib_st.benchmarks.supervised import run_configured
from omib_st.module import Regression
from omib_st.train import ModalityDataset


def run_mosi(path: str | Path, config: MosiConfig | None = None) -> dict[str, Any]:
    """Train OMIB (or the unimodal baseline) on MOSI and score it with :func:`regression_metrics`.

    Returns the record of :func:`~omib_st.benchmarks.supervised.run_supervised` with the
    pickle's layout, the text representation used and the settings added. ``config`` defaults
    to ``MosiConfig()``.
    """
    config = config or MosiConfig()
    data = load_mosi(path, text=config.text, max_len=config.max_len, standardize=config.standardize)
    datasets = {
        name: ModalityDataset(
            {m: data.inputs[split][m] for m in config.modalities}, data.target[split]
        )
        for name, split in (("train", "train"), ("val", "valid"), ("test", "test"))
    }
    torch.manual_seed(config.train.seed)
    encoders, task = build_encoders(config, data), Regression(1, loss=config.loss)
    record, settings = run_configured(config, encoders, task, datasets, regression_metrics)
    return {
        "benchmark": "mosi",
        **record,
        "layout": data.layout,
        "text": data.text,
        "vocab_size": data.vocab_size,
        "settings": settings,
        "data": str(path),
    }

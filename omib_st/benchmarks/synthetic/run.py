"""Runs of the synthetic benchmark: one method on one setting and seed, and a whole table."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omib_st.benchmarks.synthetic.config import (
    ABLATIONS,
    BASELINES,
    METHODS,
    SETTINGS,
    SyntheticConfig,
    make_config,
)
from omib_st.benchmarks.synthetic.report import write_outputs
from omib_st.benchmarks.synthetic.train import train_baseline, train_omib
from omib_st.config import replace, to_dict


def run_synthetic(
    setting: str,
    *,
    method: str = "omib",
    seed: int = 0,
    beta_scale: float = 1.0,
    config: SyntheticConfig | None = None,
    quick: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Train ``method`` on a SIM setting (data and weights drawn from ``seed``); return a record.

    ``overrides`` are dotted config keys (``n_train``, ``train.max_epochs``, ``omib.latent_dim``…)
    applied on top of ``config`` (default: :class:`SyntheticConfig`, or its quick preset).
    """
    import torch

    from omib_st.benchmarks.synthetic_data import make_synthetic

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")
    base = config if config is not None else make_config(quick)
    changes = {**overrides, **ABLATIONS.get(method, {}), "train.seed": seed}
    if method not in BASELINES:
        changes["omib.beta_scale"] = beta_scale
    cfg = replace(base, **changes)
    start = time.perf_counter()
    data = make_synthetic(
        setting,
        n_train=cfg.n_train,
        n_val=cfg.n_val,
        n_test=cfg.n_test,
        component_dim=cfg.component_dim,
        input_dim=cfg.input_dim,
        noise=cfg.noise,
        label_noise=cfg.label_noise,
        nonlinear=cfg.nonlinear,
        seed=seed,
    )
    torch.manual_seed(seed)
    if method in BASELINES:
        predict, summary = train_baseline(method, data, cfg)
    else:
        predict, summary = train_omib(data, cfg)
    accuracy = {
        split: float((predict(split) == data[split].target).float().mean())
        for split in ("val", "test")
    }
    record = {
        "setting": setting,
        "method": method,
        "seed": seed,
        "beta_scale": beta_scale if method not in BASELINES else math.nan,
        "test_acc": accuracy["test"],
        "val_acc": accuracy["val"],
        **summary,
        "seconds": round(time.perf_counter() - start, 2),
    }
    record["config"] = to_dict(cfg)
    return record


def plan(
    settings: Sequence[str] = SETTINGS,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    beta_scales: Sequence[float] | None = None,
    beta_scale: float = 1.0,
) -> list[dict[str, Any]]:
    """The runs of a table: every setting × seed × method (OMIB variants at ``beta_scale``),
    plus OMIB at every other β / M_u in ``beta_scales``."""
    unknown = [m for m in methods if m not in METHODS] + [s for s in settings if s not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown setting(s) or method(s) {unknown}")
    runs = []
    for setting in settings:
        for seed in seeds:
            runs += [
                {"setting": setting, "method": m, "seed": seed, "beta_scale": beta_scale}
                for m in methods
            ]
            for scale in beta_scales or ():
                if scale != beta_scale or "omib" not in methods:
                    runs.append(
                        {"setting": setting, "method": "omib", "seed": seed, "beta_scale": scale}
                    )
    return runs


def run_table(
    settings: Sequence[str] = SETTINGS,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    beta_scales: Sequence[float] | None = None,
    beta_scale: float = 1.0,
    out: str | Path | None = None,
    quick: bool = False,
    log: Callable[[str], None] | None = print,
    **overrides: Any,
):
    """Run every setting × method × seed (and the β sweep); return one row per run.

    With ``out``, write ``table.csv`` (all runs), ``table.md`` (summary) and
    ``accuracy_vs_beta.png`` there.
    """
    import pandas as pd

    config = make_config(quick, **overrides)
    records = []
    for spec in plan(settings, methods, seeds, beta_scales, beta_scale):
        record = run_synthetic(spec.pop("setting"), config=config, **spec)
        record.pop("config")
        records.append(record)
        if log is not None:
            scale = record["beta_scale"]
            beta = f"β = {scale:g} M_u" if math.isfinite(scale) else ""
            log(
                f"{record['setting']:<8} {record['method']:<19} seed {record['seed']} {beta:<13} "
                f"test acc {record['test_acc']:.4f} ({record['seconds']:.0f} s)"
            )
    table = pd.DataFrame(records)
    if out is not None:
        write_outputs(table, out)
    return table

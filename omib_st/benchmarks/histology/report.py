"""The histology benchmark's outputs: the tidy table and the Markdown summary."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from omib_st.benchmarks import reporting
from omib_st.benchmarks.her2st.report import QUICK_NOTE
from omib_st.benchmarks.histology.data import A1
from omib_st.benchmarks.histology.methods import COLUMNS, LABELS, METHODS
from omib_st.benchmarks.metrics import overall
from omib_st.benchmarks.reporting import header, plus_minus, row, summary_cell

MEANS = ("auc", "ap", "f1_true_fraction")
"""Metrics averaged over the leave-one-section-out sections in the summary."""


def tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The documented columns first, in method / target / seed order."""
    return reporting.tidy(table, METHODS, COLUMNS)


def _introduction(table: pd.DataFrame, sections: list[str], targets: list[str]) -> str:
    seeds = ", ".join(map(str, sorted(table.seed.unique())))
    a1 = "; A1 against its pathologist labels" if A1 in targets else ""
    return (
        f"Real H&E, leave-one-section-out over {', '.join(sections)} (truth: the her2st "
        "authors' *cancer* expression clusters, a proxy from expression; *unknown* clusters "
        f"excluded){a1}. Seeds {seeds}; cells: ROC AUC mean ± sd over seeds; **mean**: mean "
        f"over {', '.join(sections)} per seed, then mean ± sd over seeds."
    )


def summary_markdown(table: pd.DataFrame) -> str:
    """AUC (mean ± sd over seeds) per section, the mean over the leave-one-section-out sections
    (A1 apart), AP and F1 at the true fraction of that mean, runtime."""
    sections = sorted(t for t in table.target.unique() if t != A1)
    targets = sections + ([A1] if A1 in set(table.target) else [])
    lines = [_introduction(table, sections, targets), ""]
    if table.get("quick", pd.Series(False)).astype(bool).any():
        lines += [QUICK_NOTE, ""]
    means = ["**mean AUC**", "mean AP", "mean F1@k", "s / fit"]
    lines += header(["method", *targets, *means])
    lofo = table[table.target != A1]
    stats = {m: overall(lofo, m) for m in MEANS} if len(lofo) else {}
    for method in [m for m in METHODS if m in set(table.method)]:
        rows = table[table.method == method]
        cells = [summary_cell(rows[rows.target == t].auc) for t in targets]
        means = [_mean(stats, metric, method) for metric in MEANS]
        means[0] = f"**{means[0]}**"
        lines.append(row([LABELS[method], *cells, *means, f"{rows.runtime_s.mean():.1f}"]))
    sizes = table.drop_duplicates("target").set_index("target").loc[targets]
    spots = [
        f"{t} {int(r.n_evaluated)} evaluated ({int(r.n_anomalous)} anomalous, "
        f"{int(r.n_evaluated - r.n_anomalous)} normal)"
        for t, r in sizes.iterrows()
    ]
    return "\n".join(lines + ["", "Spots: " + ", ".join(spots) + "."]) + "\n"


def _mean(stats: dict[str, pd.DataFrame], metric: str, method: str) -> str:
    """A method's mean ± sd over the leave-one-section-out sections (``–`` when there is none)."""
    s = stats[metric].loc[method] if stats and method in stats[metric].index else None
    return "–" if s is None or not np.isfinite(s["mean"]) else plus_minus(s["mean"], s["std"])


def write_outputs(
    table: pd.DataFrame, scores: pd.DataFrame, out: str | os.PathLike
) -> dict[str, Path]:
    """``table.csv`` (tidy), ``table.md`` (summary) and ``scores.csv.gz``, each written
    atomically."""
    return reporting.write_tables(tidy(table), summary_markdown(table), scores, out)

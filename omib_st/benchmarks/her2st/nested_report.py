"""The nested her2st run's outputs: its tables, its Markdown summary and its maps."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from omib_st.benchmarks.reporting import (
    header,
    plot_map,
    row,
    summary_cell,
    write_csv,
    write_text,
)

METRICS = ["auc", "ap", "f1_true_fraction", "f1_own", "mcc_own"]


def write_nested_outputs(
    out: str | os.PathLike,
    table: pd.DataFrame,
    grid: pd.DataFrame,
    spots: pd.DataFrame,
    chosen: pd.DataFrame,
) -> None:
    """``nested.csv``, ``grid.csv``, ``nested.md``, ``scores.csv.gz`` and ``maps/`` into ``out``
    (created), each file written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "nested.csv", table)
    write_csv(out / "grid.csv", grid)
    write_text(out / "nested.md", nested_markdown(table))
    write_csv(out / "scores.csv.gz", spots, compression="gzip")
    write_nested_maps(chosen, spots, out / "maps")


def write_nested_maps(chosen: pd.DataFrame, spots: pd.DataFrame, folder: str | os.PathLike) -> None:
    """For each outer section, its pathologist labels beside omib-st's scores under the choice
    made for it (first seed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    first = chosen[chosen.seed == chosen.seed.min()]
    for r in first.itertuples():
        picked = spots[
            (spots.seed == r.seed)
            & (spots.target == r.target)
            & (spots.smoothing == r.smoothing)
            & (spots.threshold_rule == r.threshold_rule)
        ]
        title = (
            f"{r.target}: omib-st, nested choice (smoothing {r.smoothing:g}, "
            f"{r.threshold_rule}), AUC {r.auc:.3f}"
        )
        plot_map(picked.assign(method="omib_nested"), folder / f"{r.target}.png", title)


def nested_markdown(table: pd.DataFrame) -> str:
    """Per method: each section's mean ± sd over seeds and the mean over sections (mean ± sd of
    the per-seed means), for AUC, AP, F1 at the true fraction, and F1 / MCC at the own threshold;
    and omib-st's choices per section and seed."""
    targets = sorted(table.target.unique())
    lines = []
    for metric in METRICS:
        lines += [f"**{metric}**", "", *header(["method", *targets, "**mean**"])]
        for method, rows in table.groupby("method", sort=False):
            cells = [_cell(rows[rows.target == t][metric]) for t in targets]
            per_seed = rows.groupby("seed")[metric].mean()
            lines.append(row([method, *cells, f"**{_cell(per_seed)}**"]))
        lines.append("")
    chosen = table[table.method == "omib_nested"]
    if len(chosen):
        lines += ["omib-st's nested choices (smoothing, threshold rule) per section and seed:", ""]
        for target, rows in chosen.groupby("target"):
            picks = ", ".join(
                f"seed {int(r.seed)}: {r.smoothing:g} / {r.threshold_rule}"
                for r in rows.itertuples()
            )
            lines.append(f"- {target}: {picks}")
    return "\n".join(lines) + "\n"


def _cell(values: pd.Series) -> str:
    """Mean ± sd over the finished runs, ``–`` when none finished."""
    return summary_cell(values, failed="–")

"""The her2st benchmark's outputs: the tidy table, the Markdown summary and the spot maps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from omib_st.benchmarks import reporting
from omib_st.benchmarks.her2st.baselines import SMOOTHING
from omib_st.benchmarks.her2st.methods import LABELS, METHODS, OMIB_VARIANTS
from omib_st.benchmarks.her2st.records import COLUMNS
from omib_st.benchmarks.metrics import overall
from omib_st.benchmarks.reporting import header, plot_map, row, summary_cell

METRICS = {
    "auc": "ROC AUC",
    "ap": "Average precision",
    "f1_true_fraction": "F1 at the true anomaly fraction (top-k)",
    "f1_own": "F1 at the method's own label-free threshold",
}
"""The metrics of the summary, one table each, and their titles."""
CHANCE = {
    "auc": "chance (random scores)",
    "ap": "chance (random scores) = anomaly fraction",
    "f1_true_fraction": "chance (random scores) = anomaly fraction",
    "f1_own": "flag every spot",
}
INTRODUCTION = (
    "her2st leave-one-patient-out: {n} target sections, seeds {seeds}. Cells: mean ± sd over "
    "seeds; **mean** = the mean over sections of each seed, then mean ± sd over seeds. omib-st "
    "is expression-only on these sections (no H&E image), so it fuses the neighbourhood GNN and "
    "the spot's own profile. `+ smooth`: scores smoothed over the spatial graph with weight "
    "{smoothing}. A failed run counts as its section's mean over the other seeds in **mean**; "
    "failures are counted in the AUC table."
)
SUPERVISED_NOTE = (
    "**Supervised protocol** (issue 15): every method trains on the labelled spots (tumour vs "
    "the four normal labels; undetermined and unlabelled spots left out) of the other patients' "
    "sections; omib-st's score is the fused head's probability of the tumour class. Not "
    "comparable with one-class numbers."
)
QUICK_NOTE = "**Quick preset (smoke test): not a result.**"


def tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the documented columns first, in method / target / seed order."""
    return reporting.tidy(table, METHODS, COLUMNS)


def best_baseline(table: pd.DataFrame) -> str | None:
    """The baseline with the highest overall mean AUC (None when no baseline ran)."""
    rows = table[~table.method.isin(list(OMIB_VARIANTS))]
    if rows.empty:
        return None
    return str(overall(rows, "auc")["mean"].idxmax())


def chance_levels(table: pd.DataFrame, metric: str) -> dict[str, float]:
    """Per target, what a method without information scores: 0.5 AUC; the anomaly fraction p
    for AP and for F1 at the true fraction (expected values under random scores); for the own
    threshold, the F1 of flagging every spot, 2p / (1 + p)."""
    sizes = table.drop_duplicates("target").set_index("target")
    p = sizes.n_anomalous / sizes.get("n_evaluated", sizes.n_spots)
    level = {"auc": 0 * p + 0.5, "ap": p, "f1_true_fraction": p, "f1_own": 2 * p / (1 + p)}
    return {t: float(v) for t, v in level[metric].items()}


def summary_markdown(table: pd.DataFrame) -> str:
    """Mean ± sd over seeds per section and overall, for each metric; mean runtime per fit."""
    table = reporting.ordered(table, METHODS)
    targets = sorted(table.target.unique())
    seeds = ", ".join(map(str, sorted(table.seed.unique())))
    lines = [INTRODUCTION.format(n=len(targets), seeds=seeds, smoothing=SMOOTHING), ""]
    if (table.get("protocol", pd.Series("one_class")) == "supervised").any():
        lines += [SUPERVISED_NOTE, ""]
    if table.get("quick", pd.Series(False)).astype(bool).any():
        lines += [QUICK_NOTE, ""]
    for metric in METRICS:
        lines += _metric_table(table, metric, targets)
    sizes = table.drop_duplicates("target").set_index("target").loc[targets]
    described = [
        f"{t} ({int(r.n_spots)} spots, {int(r.n_anomalous)} anomalous of "
        f"{int(r.get('n_evaluated', r.n_spots))} evaluated)"
        for t, r in sizes.iterrows()
    ]
    return "\n".join(lines + ["Sections: " + ", ".join(described) + "."]) + "\n"


def _metric_table(table: pd.DataFrame, metric: str, targets: list[str]) -> list[str]:
    """One metric's table: a row per method (the AUC table adds runtime, inverted and failed
    runs), then the chance level."""
    auc = metric == "auc"
    tail = ["runtime per fit (s)", "AUC < 0.5", "failed"] if auc else []
    lines = [f"### {METRICS[metric]}", "", *header(["method", *targets, "**mean**", *tail])]
    stats = overall(table, metric)
    for method in [m for m in METHODS if m in set(table.method)]:
        rows = table[table.method == method]
        cells = [summary_cell(rows[rows.target == t][metric], runs=True) for t in targets]
        mean, sd = stats.loc[method, "mean"], stats.loc[method, "std"]
        sd = 0.0 if not np.isfinite(sd) else sd
        total = f"**{reporting.plus_minus(mean, sd)}**" if np.isfinite(mean) else "failed"
        if auc:
            inverted, failed = int((rows[metric] < 0.5).sum()), int(rows[metric].isna().sum())
            tail = [f"{rows.runtime_s.mean():.1f}", f"{inverted} of {len(rows)}", failed]
        lines.append(row([LABELS[method], *cells, total, *tail]))
    levels = chance_levels(table, metric)
    cells = " | ".join(f"{levels[t]:.3f}" for t in targets)
    pad = " | | |" if auc else ""
    mean = np.mean(list(levels.values()))
    return lines + [f"| *{CHANCE[metric]}* | {cells} | *{mean:.3f}* |{pad}", ""]


def write_maps(table: pd.DataFrame, scores: pd.DataFrame, folder: str | os.PathLike) -> list[Path]:
    """``<target>_<method>.png`` for omib-st (defaults) and the best baseline, first seed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [m for m in ("omib", best_baseline(table)) if m is not None and m in set(table.method)]
    paths = []
    for method in chosen:
        for target in sorted(table.target.unique()):
            rows = table[(table.method == method) & (table.target == target)].dropna(subset="auc")
            if rows.empty:  # failed on every seed
                continue
            seed = int(rows.seed.min())
            auc = float(rows[rows.seed == seed].auc.iloc[0])
            picked = (scores.method == method) & (scores.target == target) & (scores.seed == seed)
            path = folder / f"{target}_{method}.png"
            plot_map(
                scores[picked], path, f"{target}: {LABELS[method]}, seed {seed}, AUC {auc:.3f}"
            )
            paths.append(path)
    return paths


def write_outputs(
    table: pd.DataFrame, scores: pd.DataFrame, out: str | os.PathLike
) -> dict[str, Path]:
    """``table.csv`` (tidy), ``table.md`` (summary), ``scores.csv.gz`` and ``maps/*.png``."""
    paths = reporting.write_tables(tidy(table), summary_markdown(table), scores, out)
    paths["maps"] = Path(out) / "maps"
    write_maps(table, scores, paths["maps"])
    return paths

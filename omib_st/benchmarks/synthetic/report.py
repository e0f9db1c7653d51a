"""The synthetic benchmark's records and outputs: run records, the Markdown summary and the plot
of accuracy against β."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from omib_st.benchmarks.reporting import (
    header,
    mean_sd,
    row,
    save_figure,
    write_csv,
    write_json,
    write_text,
)
from omib_st.benchmarks.synthetic.config import LABELS, METHODS, SETTINGS

ESTIMATE_NAMES = {
    "H_v1": "Ĥ(v1)",
    "H_v2": "Ĥ(v2)",
    "I_v1_v2": "Î(v1; v2)",
    "H_joint": "Ĥ(v1, v2)",
    "m_upper_safe": "M_u^safe = β",
    "r_v2": "final r_2",
    "kl_v1": "KL_1 (last epoch)",
    "kl_v2": "KL_2 (last epoch)",
}
"""The OMIB estimates of the summary, and their names."""


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    """One run as JSON (NaN → null), written atomically."""
    write_json(path, record)


def read_records(paths: Iterable[str | Path]):
    """Run records (JSON files) back into a table."""
    import pandas as pd

    rows = []
    for path in paths:
        record = json.loads(Path(path).read_text())
        record.pop("config", None)
        rows.append(record)
    return pd.DataFrame(rows).astype({"beta_scale": float}).fillna(value=math.nan)


def summary_markdown(table) -> str:
    """Mean ± std (over seeds) of test accuracy per method and setting, the β sweep, estimates."""
    table = table.astype({"beta_scale": float})
    settings = [s for s in SETTINGS if s in set(table.setting)]
    main = table[table.beta_scale.isna() | (table.beta_scale == 1.0)]
    lines = [
        "Test accuracy, mean ± std over seeds (β = M_u for the OMIB variants).",
        "",
        *header(["method", *settings, "runs"]),
    ]
    for method in [m for m in METHODS if m in set(main.method)]:
        rows = main[main.method == method]
        cells = [
            mean_sd(rows[rows.setting == s].test_acc) if (rows.setting == s).any() else "–"
            for s in settings
        ]
        lines.append(row([LABELS[method], *cells, len(rows)]))
    if {"omib", "optimal"} <= set(main.method):
        gaps = [
            f"{_accuracy(main, 'optimal', s) - _accuracy(main, 'omib', s):+.3f}" for s in settings
        ]
        lines.append("| optimum − OMIB | " + " | ".join(gaps) + " | |")
    sweep = table[table.method == "omib"]
    if sweep.beta_scale.nunique() > 1:
        lines += [
            "",
            "OMIB test accuracy against β (in units of M_u^safe).",
            "",
            *header(["β / M_u", *settings]),
        ]
        for scale in sorted(sweep.beta_scale.unique()):
            rows = sweep[sweep.beta_scale == scale]
            lines.append(
                row([f"{scale:g}", *(mean_sd(rows[rows.setting == s].test_acc) for s in settings)])
            )
    omib = main[main.method == "omib"]
    if len(omib):
        lines += [
            "",
            "Estimates of the OMIB runs (β = M_u), mean ± std over seeds (nats).",
            "",
            *header(["quantity", *settings]),
        ]
        for key, name in ESTIMATE_NAMES.items():
            cells = [mean_sd(omib[omib.setting == s][key], ".3g", sd_spec=".2g") for s in settings]
            lines.append(row([name, *cells]))
    return "\n".join(lines) + "\n"


def _accuracy(table, method: str, setting: str) -> float:
    return table[(table.method == method) & (table.setting == setting)].test_acc.mean()


def plot_beta_sweep(table, path: str | Path) -> None:
    """Test accuracy against β / M_u (log x), one line per setting, the optimum dashed."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    table = table.astype({"beta_scale": float})
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for i, setting in enumerate(s for s in SETTINGS if s in set(table.setting)):
        color = f"C{i}"
        rows = table[(table.method == "omib") & (table.setting == setting)]
        stats = rows.groupby("beta_scale").test_acc.agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(
            stats.index,
            stats["mean"],
            yerr=stats["std"],
            marker="o",
            capsize=3,
            color=color,
            label=f"OMIB {setting}",
        )
        optimum = table[(table.method == "optimal") & (table.setting == setting)].test_acc
        if len(optimum):
            ax.axhline(
                optimum.mean(), color=color, linestyle="--", linewidth=1, label=f"optimum {setting}"
            )
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("β / M_u (M_u = safe bound from MINE estimates)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Synthetic data: OMIB accuracy against β")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def write_outputs(table, out: str | Path) -> dict[str, Path]:
    """``table.csv``, ``table.md`` and ``accuracy_vs_beta.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "table.csv", "md": out / "table.md", "png": out / "accuracy_vs_beta.png"}
    write_csv(paths["csv"], table)
    write_text(paths["md"], summary_markdown(table))
    plot_beta_sweep(table, paths["png"])
    return paths

"""The benchmarks' one reporting layer: records, Markdown tables and spot maps.

- Records: :func:`write_json` (NaN and inf written as ``null``, see :func:`json_safe`),
  :func:`write_csv`, :func:`write_text`, :func:`save_figure` and :func:`write_tables`. Every file
  goes through :func:`omib_st.io.atomic.atomic_path`: a reader never sees it half-written, and a
  write that fails leaves nothing behind (nor touches an older file of the same name).
- Markdown: :func:`mean_sd`, :func:`plus_minus` and :func:`summary_cell` cells (``mean ± sd``),
  :func:`header` and :func:`row` lines.
- Tables: :func:`ordered` (rows in method / target / seed order), :func:`tidy` (documented
  columns first too) and :func:`concat_scores`.
- Maps: :func:`plot_map`, a section's pathologist labels beside a method's scores, drawn with
  matplotlib's ``Figure`` API only (never pyplot: the caller's backend and figures are left alone).

pandas, matplotlib and the writers of :mod:`omib_st.io` are imported where they are used, so that
importing this module stays light (``omib-st benchmark perf`` measures fresh processes).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

PathLike = str | os.PathLike


# ---------------------------------------------------------------------- records
def json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot hold replaced: NaN and ±inf → ``None`` (``null``), NumPy
    scalars → Python numbers, paths → strings, tuples → lists, mapping keys → strings; nested
    dicts and lists are walked."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: PathLike, data: Any, *, indent: int = 1) -> None:
    """``data`` as JSON (:func:`json_safe`, so NaN → ``null``), written atomically."""
    write_text(path, json.dumps(json_safe(data), indent=indent) + "\n")


def write_text(path: PathLike, text: str) -> None:
    """``text`` into ``path``, atomically."""
    from omib_st.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_csv(path: PathLike, table: Any, **kwargs: Any) -> None:
    """A DataFrame as CSV without its index (``kwargs`` go to ``to_csv``, e.g. ``compression``),
    atomically."""
    from omib_st.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, **kwargs)


def save_figure(fig: Any, path: PathLike, *, dpi: int) -> None:
    """A matplotlib ``Figure`` saved atomically (the format follows the suffix of ``path``)."""
    from omib_st.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)


def write_tables(table: Any, markdown: str, scores: Any, out: PathLike) -> dict[str, Path]:
    """``table.csv``, ``table.md`` and ``scores.csv.gz`` into ``out`` (created), each atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "table.csv", "md": out / "table.md", "scores": out / "scores.csv.gz"}
    write_csv(paths["csv"], table)
    write_text(paths["md"], markdown)
    write_csv(paths["scores"], scores, compression="gzip")
    return paths


# ---------------------------------------------------------------------- Markdown
def plus_minus(mean: float, sd: float, spec: str = ".3f", sd_spec: str | None = None) -> str:
    """``"0.812 ± 0.034"``: ``mean`` and ``sd`` in the format ``spec`` (``sd_spec`` for the sd)."""
    return f"{mean:{spec}} ± {sd:{sd_spec or spec}}"


def mean_sd(values: Any, spec: str = ".3f", *, sd_spec: str | None = None, ddof: int = 0) -> str:
    """The mean ± sd (population sd unless ``ddof``) of ``values``, NaN skipped; ``nan ± nan``
    when nothing is left."""
    import pandas as pd

    values = pd.Series(values, dtype=float)
    return plus_minus(values.mean(), values.std(ddof=ddof), spec, sd_spec)


def summary_cell(values: Any, *, failed: str = "failed", runs: bool = False) -> str:
    """A table cell over runs: the mean ± sd of those that finished (NaN = failed); ``failed``
    when every run failed, ``–`` when there was none; with ``runs``, ``(k of n runs)`` is added
    when some failed."""
    done = values.dropna()
    if done.empty:
        return failed if len(values) else "–"
    missing = runs and len(done) < len(values)
    return mean_sd(done) + (f" ({len(done)} of {len(values)} runs)" if missing else "")


def row(cells: Iterable[Any]) -> str:
    """One Markdown table line: ``| a | b |``."""
    return "| " + " | ".join(map(str, cells)) + " |"


def header(columns: Sequence[Any]) -> list[str]:
    """A Markdown table's header line and its ``|---|`` rule."""
    return [row(columns), "|" + "---|" * len(columns)]


# ---------------------------------------------------------------------- tables
def ordered(table: Any, methods: Sequence[str]) -> Any:
    """``table``'s rows in method (the order of ``methods``) / target / seed order."""
    rank = {m: i for i, m in enumerate(methods)}
    return table.sort_values(
        ["method", "target", "seed"],
        key=lambda c: c.map(rank) if c.name == "method" else c,
        kind="stable",
    ).reset_index(drop=True)


def tidy(table: Any, methods: Sequence[str], columns: Sequence[str]) -> Any:
    """:func:`ordered` rows, with ``columns`` first and the other columns after them."""
    table = ordered(table, methods)
    return table[list(columns) + [c for c in table.columns if c not in columns]]


def concat_scores(frames: list[Any], columns: Sequence[str]) -> Any:
    """Spot-score frames as one (empty, with ``columns``, when there are none)."""
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


# ---------------------------------------------------------------------- maps
PATHOLOGY_COLOURS = {
    "invasive cancer": "#d62728",
    "cancer in situ": "#ff9896",
    "immune infiltrate": "#9467bd",
    "breast glands": "#2ca02c",
    "connective tissue": "#8c564b",
    "adipose tissue": "#f2d64b",
    "undetermined": "#bbbbbb",
    "nan": "#eeeeee",
}
"""Colour of each her2st pathologist label on a map (``nan``: an unlabelled spot)."""


def plot_map(scores: Any, path: PathLike, title: str = "") -> None:
    """Two panels over the array grid: the pathologist label, and the method's score (the spots
    its own threshold flags outlined in red). ``scores``: one row per spot with ``array_col``,
    ``array_row``, ``pathology``, ``score`` and ``anomaly``."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    fig = Figure(figsize=(11, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    x, y = scores.array_col, scores.array_row
    pathology = scores["pathology"].astype(str)
    for label, colour in PATHOLOGY_COLOURS.items():
        where = pathology == label
        if where.any():
            name = label if label != "nan" else "unlabelled"
            left.scatter(x[where], y[where], c=colour, s=24, marker="s", label=name)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    left.set_title("pathologist label")
    points = right.scatter(x, y, c=scores.score, s=24, marker="s", cmap="viridis")
    flagged = scores.anomaly.astype(bool)
    right.scatter(
        x[flagged],
        y[flagged],
        s=24,
        marker="s",
        facecolors="none",
        edgecolors="red",
        linewidths=0.8,
    )
    fig.colorbar(points, ax=right, shrink=0.7, label="score")
    right.set_title("score (red outline: flagged by the method's own threshold)", fontsize=9)
    for ax in (left, right):
        ax.set_xlim(x.min() - 1, x.max() + 1)
        ax.set_ylim(y.max() + 1, y.min() - 1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path, dpi=110)

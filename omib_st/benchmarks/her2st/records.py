"""A fold's results as records and spot scores, and their files (her2st and histology).

Each method's run on a fold and seed becomes one record (a flat dict: the table row) and, unless
it failed, one spot-score frame (one row per spot of the target, for the maps). A workflow job
writes both with :func:`write_run`; :func:`read_runs` gathers the jobs back into one table.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.metrics import check_direction, evaluate
from omib_st.benchmarks.reporting import concat_scores, write_csv, write_json

COLUMNS = [
    "method",
    "target",
    "seed",
    "auc",
    "ap",
    "f1_true_fraction",
    "f1_own",
    "runtime_s",
    "n_spots",
    "n_anomalous",
]
"""The tidy table's leading columns (one row per method × target × seed)."""


def score_columns(label: str) -> list[str]:
    """Columns of the spot scores whose label column is ``label``."""
    return ["target", "method", "seed", "spot", "array_col", "array_row", label, "score", "anomaly"]


SCORE_COLUMNS = score_columns("pathology")
"""Columns of the her2st spot scores (one row per method × target × seed × spot)."""
FAILED_METRICS = dict.fromkeys(("auc", "ap", "f1_true_fraction", "f1_own"), math.nan)
"""The metrics of a run that failed."""


def scored_fields(
    result: dict[str, Any], truth: np.ndarray, keep: np.ndarray, method: str, target: str
) -> tuple[dict[str, float], dict[str, Any]]:
    """The metrics of a method's ``result`` (``scores``, ``labels``, ``threshold``) on the
    evaluated spots ``keep``, and the fields that go with them: whether the score is inverted
    (a warning when it is), the threshold and the number of spots flagged."""
    scores, labels = result["scores"], result["labels"]
    metrics = evaluate(scores[keep], truth[keep], labels[keep])
    fields = {
        "inverted": check_direction(metrics["auc"], method, target),
        "threshold": result["threshold"],
        "n_flagged": int(labels.sum()),
    }
    return metrics, fields


def spot_frame(
    adata: AnnData,
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    keys: dict[str, Any],
    label: tuple[str, str] = ("pathology", "pathology"),
) -> pd.DataFrame:
    """One row per spot of ``adata``: the ``keys`` (target, method, seed…), the spot and its
    array position, its label (``label``: the column to write and the ``obs`` key it comes
    from), the score and whether the method flags it."""
    column, key = label
    return pd.DataFrame(
        {
            **keys,
            "spot": adata.obs_names,
            "array_col": adata.obs["array_col"].to_numpy(),
            "array_row": adata.obs["array_row"].to_numpy(),
            column: adata.obs[key].astype(str).to_numpy(),
            "score": scores,
            "anomaly": labels,
        }
    )


def gather(
    folds: Iterable[Any],
    seeds: Iterable[int],
    run: Callable[[Any, int], tuple[list[dict[str, Any]], pd.DataFrame]],
    columns: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``run(fold, seed)`` (records and spot scores) for every fold × seed, as one table and
    one spot-score frame (empty, with ``columns``, when nothing was scored)."""
    records, frames = [], []
    for fold in folds:
        for seed in seeds:
            rec, scores = run(fold, seed)
            records += rec
            frames.append(scores)
    return pd.DataFrame(records), concat_scores(frames, columns)


def write_run(path: str | os.PathLike, records: list[dict[str, Any]], scores: pd.DataFrame) -> None:
    """One job's records (JSON, NaN → null) and, beside it, its spot scores (``.scores.csv.gz``),
    each written atomically."""
    write_csv(scores_file(path), scores, compression="gzip")
    write_json(path, records)


def scores_file(path: str | os.PathLike) -> Path:
    """Where :func:`write_run` puts the spot scores of the records file ``path``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".json") + ".scores.csv.gz")


def read_runs(paths: Iterable[str | os.PathLike]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records and spot scores written by :func:`write_run`, as one table each."""
    records, frames = [], []
    for path in paths:
        records += json.loads(Path(path).read_text())
        frame = pd.read_csv(scores_file(path))
        if len(frame):  # a run whose methods all failed has no scores
            frames.append(frame)
    table = pd.DataFrame(records).infer_objects()
    table["error"] = table.get("error", pd.Series("", index=table.index)).fillna("")
    return table, concat_scores(frames, SCORE_COLUMNS)

"""Metrics shared by several benchmarks (the per-section ones of her2st and histology are in
:mod:`omib_st.benchmarks.her2st.metrics`).

- :func:`lesion_aucs` / :func:`planted_auc`: ROC AUC against the lesions planted in a synthetic
  section (``obs["is_anomaly"]``, ``obs["lesion"]``), overall and per lesion kind;
- :func:`overall`: a metric over sections and seeds, as the her2st and histology tables report it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LESION_KINDS = ("both", "expression", "image")
"""Kinds of planted lesion: visible in both modalities, in expression only, in the image only."""


def planted_auc(adata: Any, scores: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` against the planted lesions; None when the section holds only one
    class (no lesion, or nothing else)."""
    from sklearn.metrics import roc_auc_score

    truth = adata.obs["is_anomaly"].to_numpy()
    if not truth.any() or truth.all():
        return None
    return float(roc_auc_score(truth, scores))


def lesion_aucs(adata: Any, scores: np.ndarray) -> dict[str, float]:
    """ROC AUC against the planted lesions: all of them (``auc``), and each kind against the
    normal spots (``auc_<kind>``, for the kinds the section holds)."""
    from sklearn.metrics import roc_auc_score

    truth = adata.obs["is_anomaly"].to_numpy()
    out = {"auc": float(roc_auc_score(truth, scores))}
    for kind in LESION_KINDS:
        keep = (adata.obs["lesion"] == kind).to_numpy() | ~truth
        if keep.sum() > (~truth).sum():
            out[f"auc_{kind}"] = float(roc_auc_score(truth[keep], scores[keep]))
    return out


def overall(table: Any, metric: str) -> Any:
    """Per method: the mean over sections of each seed, then mean and sd (population) over seeds.

    ``table``: one row per method × target × seed. A failed run (NaN) counts as its section's
    mean over the method's other seeds, so a failure neither raises nor lowers the mean over
    sections (a section failed on every seed is left out).
    """
    cells = table[["method", "target", "seed", metric]].copy()
    section_mean = cells.groupby(["method", "target"])[metric].transform("mean")
    cells[metric] = cells[metric].fillna(section_mean)
    per_seed = cells.groupby(["method", "seed"])[metric].mean()
    return per_seed.groupby("method").agg(mean="mean", std=lambda x: x.std(ddof=0))

"""Per-section detection metrics, with the score direction checked rather than assumed."""

from __future__ import annotations

import math
import warnings

import numpy as np


class InvertedScoreWarning(UserWarning):
    """A method ranks the anomalous spots of a section *below* the normal ones (AUC < 0.5)."""


def f1_at_true_fraction(scores: np.ndarray, truth: np.ndarray) -> float:
    """F1 when the ``k`` highest-scoring spots are called anomalous, ``k`` = true anomalies.

    The rule MEATRD and STANDS use: the predicted anomaly fraction equals the true one (so
    precision = recall = F1). Ties at the cut are broken by spot order (a stable sort).
    """
    scores, truth = np.asarray(scores, dtype=np.float64), np.asarray(truth, dtype=bool)
    k = int(truth.sum())
    if k == 0:
        return math.nan
    top = np.argsort(-scores, kind="stable")[:k]
    return float(truth[top].sum() / k)


def f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """F1 of boolean predictions (0 when nothing is predicted or nothing is true)."""
    predicted, truth = np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)
    tp = int((predicted & truth).sum())
    denominator = int(predicted.sum()) + int(truth.sum())
    return 2 * tp / denominator if denominator else math.nan


def mcc(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Matthews correlation of boolean predictions (0 when a row or column of the table is empty)."""
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(np.asarray(truth, bool), np.asarray(predicted, bool)))


def evaluate(
    scores: np.ndarray, truth: np.ndarray, labels: np.ndarray | None = None
) -> dict[str, float]:
    """ROC AUC, average precision, F1 at the true fraction, and F1 and MCC of ``labels`` (the
    method's own threshold).

    ``scores``: higher = more anomalous *as the method reports it*; it is never flipped. AUC and
    AP are NaN when the spots are all of one class.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores, truth = np.asarray(scores, dtype=np.float64), np.asarray(truth, dtype=bool)
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    both = 0 < truth.sum() < len(truth)
    return {
        "auc": float(roc_auc_score(truth, scores)) if both else math.nan,
        "ap": float(average_precision_score(truth, scores)) if both else math.nan,
        "f1_true_fraction": f1_at_true_fraction(scores, truth),
        "f1_own": f1(labels, truth) if labels is not None else math.nan,
        "mcc_own": mcc(labels, truth) if labels is not None else math.nan,
    }


def check_direction(auc: float, method: str, target: str) -> bool:
    """Whether the score is inverted on this section (AUC < 0.5); warns when it is.

    The AUC is recorded as measured: a method whose score points the wrong way keeps its low
    AUC, and the table flags it (column ``inverted``).
    """
    inverted = bool(auc < 0.5)  # NaN compares False
    if inverted:
        warnings.warn(
            f"{method} on {target}: AUC {auc:.3f} < 0.5, the score ranks anomalous spots below "
            "normal ones (recorded as is, not flipped)",
            InvertedScoreWarning,
            stacklevel=2,
        )
    return inverted

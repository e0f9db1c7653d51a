"""CMU-MOSI metrics, with both binary conventions of the literature made explicit.

Following MMSA (``MetricsTop.__eval_mosi_regression``):

- ``acc7``: predictions and labels clipped to [-3, 3] and rounded (``np.round``, half to even);
  accuracy over **all** test samples.
- ``acc2_nonzero`` / ``f1_nonzero``: samples with label 0 removed, classes ``> 0`` vs ``<= 0``
  (the "negative / positive" convention; F1 is support-weighted).
- ``acc2_haszero`` / ``f1_haszero``: all samples, classes ``>= 0`` vs ``< 0`` ("negative /
  non-negative").
- ``mae``: mean absolute error; ``corr``: Pearson correlation (NaN for constant predictions).

Papers that report one "Acc-2" usually mean the non-zero variant; many report both as "x / y".
"""

from __future__ import annotations

import numpy as np


def regression_metrics(prediction: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """All MOSI metrics of sentiment predictions against labels (both ``[N]``)."""
    from sklearn.metrics import f1_score

    pred = np.asarray(prediction, dtype=np.float64).reshape(-1)
    truth = np.asarray(target, dtype=np.float64).reshape(-1)
    acc7 = np.mean(np.round(np.clip(pred, -3, 3)) == np.round(np.clip(truth, -3, 3)))
    nonzero = truth != 0
    pos_pred, pos_truth = pred[nonzero] > 0, truth[nonzero] > 0
    neg_pred, neg_truth = pred >= 0, truth >= 0
    constant = pred.std() == 0 or truth.std() == 0
    return {
        "acc7": float(acc7),
        "acc2_nonzero": float(np.mean(pos_pred == pos_truth)) if nonzero.any() else float("nan"),
        "f1_nonzero": float(f1_score(pos_truth, pos_pred, average="weighted", zero_division=0))
        if nonzero.any()
        else float("nan"),
        "acc2_haszero": float(np.mean(neg_pred == neg_truth)),
        "f1_haszero": float(f1_score(neg_truth, neg_pred, average="weighted", zero_division=0)),
        "mae": float(np.mean(np.abs(pred - truth))),
        "corr": float("nan") if constant else float(np.corrcoef(pred, truth)[0, 1]),
    }

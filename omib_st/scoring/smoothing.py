"""Spatial smoothing of scores over the neighbour graph."""

from __future__ import annotations

import numpy as np
from scipy import sparse


def smooth_scores(scores: np.ndarray, graph: sparse.spmatrix, weight: float) -> np.ndarray:
    """(1 − weight) · own score + weight · mean score of the graph neighbours (isolated spots keep theirs)."""
    if weight == 0:
        return scores
    degree = np.asarray(graph.sum(axis=1)).ravel()
    neighbour_mean = np.divide(
        graph @ scores, degree, out=scores.astype(float).copy(), where=degree > 0
    )
    return (1 - weight) * scores + weight * neighbour_mean


def log_odds(probability: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """log(p / (1 − p)), with p clipped to [eps, 1 − eps] (float64)."""
    p = np.clip(np.asarray(probability, dtype=np.float64), eps, 1 - eps)
    return np.log(p / (1 - p))


def smooth_probability(
    probability: np.ndarray, graph: sparse.spmatrix, weight: float, eps: float = 1e-6
) -> np.ndarray:
    """:func:`smooth_scores` of the log-odds, mapped back to a probability: the neighbours of a
    saturated spot (p ≈ 0 or 1) still move it, which averaging probabilities would not."""
    return 1 / (1 + np.exp(-smooth_scores(log_odds(probability, eps), graph, weight)))

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

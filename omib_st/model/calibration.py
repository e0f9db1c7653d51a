"""Calibration of a one-class model on its held-out normal reference spots, and the threshold rules.

At fit, :func:`calibrate` scores the held-out spots (and their graph neighbours, so they can be
smoothed like a target) and keeps their combined scores and graph with the model. The
``quantile`` rule (:func:`reference_threshold`) takes its cut from them, smoothed with the
current ``scoring.smoothing``; the other rules (:data:`RULES`) cut the target's own scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from omib_st.config import ScoringConfig
from omib_st.model.inference import evidence
from omib_st.scoring import (
    combine,
    mixture_threshold,
    multiotsu_threshold,
    otsu_threshold,
    quantile_threshold,
    robust_stats,
    smooth_scores,
)

CALIBRATION_KEYS = ("scores", "indptr", "indices", "held_out")
"""What a one-class model keeps of its calibration: the combined scores of the held-out spots
and their neighbours, their graph (CSR arrays) and the held-out spots' positions among them."""

Rule = Callable[[np.ndarray, ScoringConfig, int], float]
RULES: dict[str, Rule] = {
    "mixture": lambda scores, scoring, seed: mixture_threshold(
        scores, scoring.prior_anomaly_fraction, seed=seed
    ),
    "otsu": lambda scores, scoring, seed: otsu_threshold(scores),
    "multiotsu": lambda scores, scoring, seed: multiotsu_threshold(scores),
}
"""The rules that cut a target's own smoothed scores, by ``scoring.threshold`` value; any other
value (``quantile``) is :func:`reference_threshold`."""


def depth_covariate(detector: Any, dataset: Any) -> np.ndarray | None:
    """The covariate of depth-aware scoring for the spots of ``dataset`` (None when off)."""
    return dataset.depth[dataset.spots] if detector.config.scoring.depth_adjust else None


def calibrate(
    detector: Any, sections: Sequence[Any], held_out: np.ndarray
) -> tuple[dict[str, tuple[float, ...]], dict[str, np.ndarray]]:
    """The score statistics and the calibration (:data:`CALIBRATION_KEYS`) from the held-out
    normal reference spots, on the same statistic a target gets: robust z-scores of each part,
    combined, and (in :func:`reference_threshold`) smoothed over the spot's own section graph."""
    c = detector.config
    full = detector._dataset(sections)
    needed = np.union1d(held_out, full.graph[held_out].indices)
    dataset = detector._dataset(sections, needed)
    parts, _ = evidence(detector, dataset)
    where = np.searchsorted(needed, held_out)
    depth = depth_covariate(detector, dataset)
    stats = robust_stats(
        {k: v[where] for k, v in parts.items()},
        None if depth is None else depth[where],
        seed=c.train.seed,
    )
    graph = full.graph[needed][:, needed]
    calibration = {
        "scores": combine(parts, stats, c.scoring.combine, depth),
        "indptr": graph.indptr,
        "indices": graph.indices,
        "held_out": where,
    }
    return stats, calibration


def reference_threshold(calibration: dict[str, np.ndarray], scoring: ScoringConfig) -> float:
    """The ``scoring.quantile`` of the held-out reference spots' scores, smoothed with the
    current ``scoring.smoothing`` over their own sections (so a changed smoothing stays
    calibrated)."""
    n = len(calibration["scores"])
    graph = sparse.csr_matrix(
        (np.ones(len(calibration["indices"])), calibration["indices"], calibration["indptr"]),
        shape=(n, n),
    )
    smoothed = smooth_scores(calibration["scores"], graph, scoring.smoothing)
    return quantile_threshold(smoothed[calibration["held_out"]], scoring.quantile)


def target_threshold(
    scores: np.ndarray, calibration: dict[str, np.ndarray], scoring: ScoringConfig, seed: int
) -> float:
    """The ``scoring.threshold`` rule's cut for a target's (smoothed) scores."""
    rule = RULES.get(scoring.threshold)
    if rule is None:
        return reference_threshold(calibration, scoring)
    return rule(scores, scoring, seed)

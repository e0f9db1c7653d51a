"""Calibration of a one-class model on its held-out normal reference spots, and the threshold rules.

At fit, :func:`calibrate` scores the held-out spots (and their graph neighbours, so they can be
smoothed like a target) and keeps each part's robust z-scores and the graph with the model. The
``quantile`` rule (:func:`reference_threshold`) takes its cut from them, smoothed and combined
with the current settings (:func:`spot_scores`); the other rules (:data:`RULES`) cut the
target's own scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from omib_st.config import ScoringConfig
from omib_st.model.inference import evidence
from omib_st.model.supervised import THRESHOLD
from omib_st.scoring import (
    log_odds,
    mixture_threshold,
    multiotsu_threshold,
    otsu_threshold,
    pool,
    quantile_threshold,
    robust_stats,
    smooth_scores,
    zscores,
)

CALIBRATION_KEYS = ("scores", "indptr", "indices", "held_out")
"""What a one-class model keeps of its calibration: the robust z-scores of the held-out spots
and their neighbours (``[spots, parts]``, parts in the order of the reference statistics; one
combined column in models saved before per-part smoothing), their graph (CSR arrays) and the
held-out spots' positions among them."""

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


def spot_scores(
    z: Mapping[str, np.ndarray], graph: sparse.spmatrix, scoring: ScoringConfig
) -> np.ndarray:
    """Each spot's score from its parts' robust z-scores: every part smoothed over ``graph``
    with its own weight (:meth:`~omib_st.config.ScoringConfig.smoothing_of`), then pooled
    (``scoring.combine``)."""
    return pool(
        {p: smooth_scores(v, graph, scoring.smoothing_of(p)) for p, v in z.items()}, scoring.combine
    )


def calibrate(
    detector: Any, sections: Sequence[Any], held_out: np.ndarray
) -> tuple[dict[str, tuple[float, ...]], dict[str, np.ndarray]]:
    """The score statistics and the calibration (:data:`CALIBRATION_KEYS`) from the held-out
    normal reference spots, on the same statistic a target gets: robust z-scores of each part,
    smoothed over the spot's own section graph and combined in :func:`reference_threshold`."""
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
        "scores": np.stack(list(zscores(parts, stats, depth).values()), axis=1),
        "indptr": graph.indptr,
        "indices": graph.indices,
        "held_out": where,
    }
    return stats, calibration


def reference_threshold(
    calibration: dict[str, np.ndarray], scoring: ScoringConfig, parts: Sequence[str] = ()
) -> float:
    """The ``scoring.quantile`` of the held-out reference spots' scores, smoothed and combined
    with the current ``scoring`` settings over their own sections (so a changed smoothing stays
    calibrated); ``parts`` names the calibration's columns (the reference statistics' keys)."""
    z = np.asarray(calibration["scores"])
    n = len(z)
    graph = sparse.csr_matrix(
        (np.ones(len(calibration["indices"])), calibration["indices"], calibration["indptr"]),
        shape=(n, n),
    )
    columns = {"score": z} if z.ndim == 1 else dict(zip(parts, z.T, strict=True))
    scores = spot_scores(columns, graph, scoring)
    return quantile_threshold(scores[calibration["held_out"]], scoring.quantile)


def target_threshold(
    scores: np.ndarray,
    calibration: dict[str, np.ndarray],
    scoring: ScoringConfig,
    seed: int,
    parts: Sequence[str] = (),
) -> float:
    """The ``scoring.threshold`` rule's cut for a target's (smoothed) scores."""
    rule = RULES.get(scoring.threshold)
    if rule is None:
        return reference_threshold(calibration, scoring, parts)
    return rule(scores, scoring, seed)


def supervised_threshold(probability: np.ndarray, scoring: ScoringConfig, seed: int) -> float:
    """The probability above which a supervised model labels a spot anomalous: 0.5 under
    ``scoring.supervised_threshold: decision``; otherwise that rule's cut of the section's own
    log-odds, as a probability (1 when the rule flags nothing)."""
    if scoring.supervised_threshold == "decision":
        return THRESHOLD
    cut = RULES[scoring.supervised_threshold](log_odds(probability), scoring, seed)
    return float(1 / (1 + np.exp(-cut)))

"""Putting the parts of the one-class evidence on one scale, relative to normal reference spots."""

from __future__ import annotations

import numpy as np

_MAX_FIT = 2000
"""Reference spots used for the Theil–Sen line (its cost is quadratic)."""

Stats = tuple[float, float, float]
"""``(intercept, slope, spread)``: a normal spot's expected value is ``intercept + slope × covariate``."""


def robust_stats(
    parts: dict[str, np.ndarray], covariate: np.ndarray | None = None, *, seed: int = 0
) -> dict[str, Stats]:
    """Expected value and robust spread of each part on held-out normal spots.

    Without ``covariate`` the expected value is the median. With it (the spots' log library
    size), it is a Theil–Sen line in the covariate, so that evidence which grows with sampling
    noise (shallow spots) is judged against normal spots of the same depth. The spread is
    IQR / 1.349 of the residuals, floored.
    """
    rng = np.random.default_rng(seed)
    stats = {}
    for name, values in parts.items():
        values = np.asarray(values, dtype=np.float64)
        slope = 0.0
        if covariate is not None and np.ptp(covariate) > 0:
            from scipy.stats import theilslopes

            fit = rng.permutation(len(values))[:_MAX_FIT]
            slope = float(theilslopes(values[fit], covariate[fit]).slope)
        shifted = values - slope * (covariate if covariate is not None else 0.0)
        q25, intercept, q75 = np.percentile(shifted, [25, 50, 75])
        spread = max((q75 - q25) / 1.349, 1e-6 * max(abs(intercept), 1.0), 1e-12)
        stats[name] = (float(intercept), slope, float(spread))
    return stats


def zscores(
    parts: dict[str, np.ndarray], stats: dict[str, Stats], covariate: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each part's robust z-score against the reference (its expected value at ``covariate``
    subtracted, divided by its spread)."""
    shift = 0.0 if covariate is None else np.asarray(covariate, dtype=np.float64)
    return {
        name: (parts[name] - intercept - slope * shift) / spread
        for name, (intercept, slope, spread) in stats.items()
    }


def pool(z: dict[str, np.ndarray], how: str = "mean") -> np.ndarray:
    """One score from the parts' z-scores: their mean, or their maximum (a spot abnormal in any
    one view scores high)."""
    stacked = np.stack(list(z.values()))
    return stacked.max(axis=0) if how == "max" else stacked.mean(axis=0)


def combine(
    parts: dict[str, np.ndarray],
    stats: dict[str, Stats],
    how: str = "mean",
    covariate: np.ndarray | None = None,
) -> np.ndarray:
    """Anomaly score from each part's robust z-score against the reference, pooled
    (:func:`pool`)."""
    return pool(zscores(parts, stats, covariate), how)

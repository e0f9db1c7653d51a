"""Putting the parts of the one-class evidence on one scale, relative to normal reference spots."""

from __future__ import annotations

import numpy as np


def robust_stats(parts: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """Median and robust spread (IQR / 1.349, floored) of each part on held-out normal spots."""
    stats = {}
    for name, values in parts.items():
        q25, median, q75 = np.percentile(values, [25, 50, 75])
        spread = max((q75 - q25) / 1.349, 1e-6 * max(abs(median), 1.0), 1e-12)
        stats[name] = (float(median), float(spread))
    return stats


def combine(
    parts: dict[str, np.ndarray], stats: dict[str, tuple[float, float]], how: str = "max"
) -> np.ndarray:
    """Anomaly score from each part's robust z-score against the reference: their maximum
    (a spot abnormal in any one view scores high) or their mean."""
    z = np.stack([(parts[name] - median) / spread for name, (median, spread) in stats.items()])
    return z.max(axis=0) if how == "max" else z.mean(axis=0)

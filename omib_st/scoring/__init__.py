"""From per-spot evidence to scores and labels: standardisation, smoothing, thresholds."""

from omib_st.scoring.smoothing import log_odds, smooth_probability, smooth_scores
from omib_st.scoring.standardize import combine, pool, robust_stats, zscores
from omib_st.scoring.threshold import (
    mixture_threshold,
    multiotsu_threshold,
    otsu_threshold,
    quantile_threshold,
)

__all__ = [
    "combine",
    "log_odds",
    "mixture_threshold",
    "multiotsu_threshold",
    "otsu_threshold",
    "pool",
    "quantile_threshold",
    "robust_stats",
    "smooth_probability",
    "smooth_scores",
    "zscores",
]

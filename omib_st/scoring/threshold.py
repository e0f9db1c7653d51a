"""Label-free thresholds that turn anomaly scores into labels."""

from __future__ import annotations

import numpy as np


def quantile_threshold(reference_scores: np.ndarray, quantile: float = 0.95) -> float:
    """The ``quantile`` of scores of held-out normal reference spots (false-positive rate 1 − q)."""
    return float(np.quantile(reference_scores, quantile))


def mixture_threshold(
    scores: np.ndarray, prior_anomaly_fraction: float = 0.1, seed: int = 0
) -> float:
    """Boundary of a two-component Gaussian mixture on the target's scores.

    The anomalous component (the one with the higher mean) starts with weight
    ``prior_anomaly_fraction``; the threshold is the lowest score whose posterior of being
    anomalous exceeds 1/2 (``inf`` when no score does).
    """
    from sklearn.mixture import GaussianMixture

    x = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    p = prior_anomaly_fraction
    means = np.quantile(x, [(1 - p) / 2, 1 - p / 2]).reshape(-1, 1)
    mixture = GaussianMixture(2, weights_init=[1 - p, p], means_init=means, random_state=seed).fit(
        x
    )
    anomalous = int(np.argmax(mixture.means_.ravel()))
    posterior = mixture.predict_proba(x)[:, anomalous]
    above = x.ravel()[(posterior > 0.5) & (x.ravel() >= mixture.means_.min())]
    return float(above.min()) if above.size else float("inf")


def otsu_threshold(scores: np.ndarray) -> float:
    """Otsu's threshold on the target's scores: the cut that maximises the between-class variance
    of the two sides (``skimage.filters.threshold_otsu``). Needs no reference and no prior
    anomaly fraction, so a section whose scores are all shifted (depth, batch) is split as well
    as one that is not; like the mixture, it always splits a section in two (``inf`` when every
    score is equal)."""
    from skimage.filters import threshold_otsu

    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0 or np.ptp(x) == 0:
        return float("inf")
    return float(threshold_otsu(x, nbins=max(256, min(4096, x.size))))


def multiotsu_threshold(scores: np.ndarray, classes: int = 3) -> float:
    """The lowest of the multi-Otsu thresholds (``skimage.filters.threshold_multiotsu``): the
    scores are split into ``classes`` by maximal between-class variance and every spot above the
    lowest class is flagged. Where a lesion's scores spread (a core and a less abnormal margin),
    this keeps the margin that Otsu's two-class cut leaves out; like Otsu, it always flags part
    of a section (``inf`` when the scores take fewer than ``classes`` values)."""
    from skimage.filters import threshold_multiotsu

    x = np.asarray(scores, dtype=np.float64)
    if np.unique(x).size < classes:
        return float("inf")
    return float(threshold_multiotsu(x, classes=classes, nbins=256)[0])

"""The methods of the histology benchmark and their names.

The image-only kNN baselines of :mod:`~omib_st.benchmarks.histology.baselines`, each on the raw
patches and (``_reinhard``) after Reinhard normalisation of every section to the pooled LAB
statistics of the benchmark's sections; and the omib-st detector, image-only, fused, or
expression-only (:data:`OMIB_METHODS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omib_st.benchmarks.her2st import records
from omib_st.benchmarks.histology import baselines as bl
from omib_st.errors import OmibError

REINHARD = "_reinhard"
BASELINE_METHODS = tuple(name + suffix for suffix in ("", REINHARD) for name in bl.BASELINES)
OMIB_METHODS: dict[str, dict[str, Any]] = {
    "omib_image": {"use_image": True, "use_expression": False},
    "omib_fused": {"use_image": True},
    "omib_expression": {"use_image": False},
}
"""omib-st variants → arguments of ``OmibDetector.fit``."""
METHODS = (*BASELINE_METHODS, *OMIB_METHODS)
DEFAULT_METHODS = METHODS
"""Every baseline and the omib-st image-only, fused and expression-only models, in one run."""
LABELS = {
    "knn_color": "kNN, colour histograms",
    "knn_descriptors": "kNN, morphology descriptors",
    "knn_cnn": "kNN, random-init ResNet-18",
    "omib_image": "omib-st, image only",
    "omib_fused": "omib-st, fused",
    "omib_expression": "omib-st, expression only",
}
LABELS.update({m + REINHARD: LABELS[m] + " (Reinhard)" for m in bl.BASELINES})
COLUMNS = [*records.COLUMNS, "n_evaluated"]
"""The tidy table's leading columns (one row per method × target × seed)."""
SCORE_COLUMNS = records.score_columns("truth")
"""Columns of the spot scores (one row per method × target × seed × spot)."""


def check_methods(methods: Sequence[str]) -> list[str]:
    """``methods`` without repeats; an unknown name is an error naming the valid ones."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise OmibError(
            f"unknown method(s) {', '.join(unknown)}", f"choose from {', '.join(METHODS)}"
        )
    return list(dict.fromkeys(methods))


def split_method(method: str) -> tuple[str, str]:
    """``knn_cnn_reinhard`` → (``cnn``, ``_reinhard``)."""
    stain = REINHARD if method.endswith(REINHARD) else ""
    return bl.BASELINES[method.removesuffix(REINHARD)], stain

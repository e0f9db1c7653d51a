"""omib-st: anomalous tissue detection in spatial transcriptomics.

Expression (a GNN over neighbouring spots) and H&E patches (a CNN) are fused through an Optimal
Multimodal Information Bottleneck; every spot gets an anomaly score in the user's AnnData.

Submodules load on first use so that ``import omib_st`` stays light::

    import omib_st as om
    om.tl.detect(adata, reference=normal)
    om.pl.anomaly(adata)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "benchmarks",
    "config",
    "datasets",
    "io",
    "model",
    "module",
    "nn",
    "pl",
    "pp",
    "scoring",
    "tl",
    "train",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"omib_st.{name}")
    raise AttributeError(f"module 'omib_st' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

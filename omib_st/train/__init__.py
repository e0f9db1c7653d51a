"""Training: the two-stage OMIB schedule on PyTorch Lightning."""

from omib_st.train.data import EpochShuffleSampler, ModalityDataset, make_loader
from omib_st.train.fit import (
    FitResult,
    fit,
    resolve_accelerator,
    resolve_precision,
    resolve_strategy,
)
from omib_st.train.lightning_module import OMIBLightning
from omib_st.train.selection import BestState, BestWeights

__all__ = [
    "BestState",
    "BestWeights",
    "EpochShuffleSampler",
    "FitResult",
    "ModalityDataset",
    "OMIBLightning",
    "make_loader",
    "fit",
    "resolve_accelerator",
    "resolve_precision",
    "resolve_strategy",
]

"""CREMA-D emotion recognition (audio + visual, 6 classes) in the OGM-GE data layout."""

from omib_st.benchmarks.cremad.config import CremadConfig
from omib_st.benchmarks.cremad.data import (
    LABELS,
    Clip,
    CremadDataset,
    CremadLayout,
    load_cremad,
    read_split_csv,
    split_train_val,
)
from omib_st.benchmarks.cremad.model import FrameEncoder, build_encoders
from omib_st.benchmarks.cremad.run import classification_metrics, run_cremad

__all__ = [
    "LABELS",
    "Clip",
    "CremadConfig",
    "CremadDataset",
    "CremadLayout",
    "FrameEncoder",
    "build_encoders",
    "classification_metrics",
    "load_cremad",
    "read_split_csv",
    "run_cremad",
    "split_train_val",
]

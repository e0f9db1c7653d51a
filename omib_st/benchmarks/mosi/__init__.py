"""CMU-MOSI sentiment regression (text + audio + vision) from MMSA or MAG-BERT pickles."""

from omib_st.benchmarks.mosi.config import MosiConfig
from omib_st.benchmarks.mosi.data import MosiData, PaddedSequences, load_mosi
from omib_st.benchmarks.mosi.metrics import regression_metrics
from omib_st.benchmarks.mosi.model import build_encoders
from omib_st.benchmarks.mosi.run import run_mosi

__all__ = [
    "MosiConfig",
    "MosiData",
    "PaddedSequences",
    "build_encoders",
    "load_mosi",
    "regression_metrics",
    "run_mosi",
]

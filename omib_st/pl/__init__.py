"""Plotting (scanpy grammar)."""

from omib_st.pl.anomaly import anomaly

__all__ = ["anomaly"]

"""Small data sets generated on the fly (nothing is downloaded)."""

from omib_st.datasets.synthetic_visium import synthetic_visium

__all__ = ["synthetic_visium"]

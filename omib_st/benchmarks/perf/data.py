"""The synthetic sections of the performance benchmark."""

from __future__ import annotations

import math

SPOT_SPACING_UM = 8.0
"""Bin size of the synthetic sections (Visium HD's 8 µm bins)."""


def lattice(n_spots: int) -> tuple[int, int]:
    """Rows and columns of a near-square lattice of about ``n_spots`` spots."""
    n_cols = max(8, math.ceil(math.sqrt(n_spots)))
    return max(8, math.ceil(n_spots / n_cols)), n_cols


def section(n_spots: int, *, seed: int = 0, lesions: bool = True, shuffle: bool = True):
    """A synthetic HD-like section of about ``n_spots`` 8 µm bins (image at 0.35 px/µm)."""
    import numpy as np

    from omib_st.datasets import synthetic_visium

    n_rows, n_cols = lattice(n_spots)
    adata = synthetic_visium(
        n_rows=n_rows,
        n_cols=n_cols,
        seed=seed,
        spot_spacing=SPOT_SPACING_UM,
        spot_diameter=SPOT_SPACING_UM,
        lesions=("both", "expression", "image") if lesions else (),
    )
    if shuffle:
        adata = adata[np.random.default_rng(seed).permutation(adata.n_obs)].copy()
    return adata

"""Checks of ``obsm["spatial"]``: present, ``n × 2`` numbers, finite, not degenerate."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.io.validate.problem import examples, problem

MAX_MEAN_DEGREE = 12.0
"""Mean neighbours per spot within 1.2 lattice spacings (the median nearest-neighbour distance)
beyond which the coordinates are degenerate: twice a hexagonal lattice's 6 (a square lattice
has 4, randomly packed beads about 1)."""
_FIX = 'store full-resolution pixel coordinates (x = column, y = row) in obsm["spatial"]'


def _spatial_problems(adata: AnnData, geometry: bool = False) -> Iterator[str]:
    if "spatial" not in adata.obsm:
        yield problem('obsm["spatial"] is missing', _FIX + ", as squidpy.read.visium does")
        return
    try:
        coords = np.asarray(adata.obsm["spatial"])
    except (TypeError, ValueError):
        coords = np.asarray([], dtype=object)
    if coords.ndim != 2 or coords.shape[1] != 2:
        yield problem(
            f'obsm["spatial"] has shape {coords.shape}; expected ({adata.n_obs}, 2)', _FIX
        )
        return
    if coords.dtype.kind not in "uif":
        yield problem(f'obsm["spatial"] has non-numeric dtype {coords.dtype}', _FIX)
        return
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        yield problem(
            f'obsm["spatial"] has NaN or infinite coordinates for {int(bad.sum())} spot(s) '
            f"(e.g. {examples(adata.obs_names[bad])})",
            "drop those spots or fix their coordinates",
        )
    elif geometry and len(coords) > 1:
        yield from _geometry_problems(np.asarray(coords, dtype=np.float64))


def _geometry_problems(coords: np.ndarray) -> Iterator[str]:
    """Degenerate spot positions: all at one pixel, or packed so that a lattice-ring graph
    would be far denser than a spot lattice."""
    from scipy.spatial import cKDTree

    fix = _FIX + ", one position per spot"
    if np.ptp(coords, axis=0).max() == 0:
        x, y = coords[0]
        yield problem(
            f'all {len(coords)} spots of obsm["spatial"] are at the same pixel ({x:g}, {y:g})', fix
        )
        return
    tree = cKDTree(coords)
    distances, _ = tree.query(coords, k=2)
    spacing = float(np.median(distances[:, 1]))
    degree = (tree.count_neighbors(tree, 1.2 * spacing) - len(coords)) / len(coords)
    if spacing == 0 or degree > MAX_MEAN_DEGREE:
        what = "more than half of the spots share their position with another spot"
        if spacing > 0:
            what = (
                f"spots would have {degree:.0f} neighbours on average within 1.2 lattice "
                f"spacings ({spacing:.3g} px; a spot lattice has 4 to 6)"
            )
        yield problem(f'obsm["spatial"] is degenerate: {what}', fix)


def coordinate_problems(adata: AnnData) -> list[str]:
    """Problems of ``obsm["spatial"]``: missing, wrong shape or type, NaN, or degenerate
    (every spot at one pixel; positions packed far denser than a spot lattice)."""
    return list(_spatial_problems(adata, geometry=True))


def get_coords(adata: AnnData) -> np.ndarray:
    """Checked ``obsm["spatial"]`` as a float64 ``n_spots × 2`` array (x = column, y = row)."""
    problems = list(_spatial_problems(adata))
    if problems:
        raise OmibError(problems[0])
    return np.asarray(adata.obsm["spatial"], dtype=np.float64)

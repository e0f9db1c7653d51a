"""Where synthetic spots and lesions sit: the Visium hex lattice and lesion centres, in µm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omib_st.errors import OmibError

SPOT_SPACING_UM = 100.0
"""Centre-to-centre distance of Visium spots."""
MARGIN_UM = 300.0
"""Glass and tissue around the outermost spots."""


def lattice(
    n_rows: int, n_cols: int, spacing: float = SPOT_SPACING_UM
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visium hex lattice: array rows/columns (odd rows offset, columns step by 2) and µm centres."""
    rows = np.repeat(np.arange(n_rows), n_cols)
    cols = 2 * np.tile(np.arange(n_cols), n_rows) + rows % 2
    xy = np.column_stack(
        [
            MARGIN_UM + cols * spacing / 2,
            MARGIN_UM + rows * spacing * np.sqrt(3) / 2,
        ]
    )
    return rows, cols, xy


def place_lesions(
    rng: np.random.Generator,
    xy: np.ndarray,
    kinds: Sequence[str],
    radius: float,
    spacing: float = SPOT_SPACING_UM,
) -> np.ndarray:
    """Lesion centres (µm), one per kind, each in its own vertical strip of the section."""
    lo, hi = xy.min(axis=0) + radius + spacing, xy.max(axis=0) - radius - spacing
    if np.any(hi < lo):
        raise OmibError("the section is too small for its lesions", "use more rows and columns")
    edges = np.linspace(lo[0], hi[0], len(kinds) + 1)
    width = (edges[1] - edges[0]) if len(kinds) > 1 else 0.0
    pad = min(width / 2, radius + spacing / 2) if len(kinds) > 1 else 0.0
    x = rng.uniform(edges[:-1] + pad, edges[1:] - pad)
    y = rng.uniform(lo[1], hi[1], len(kinds))
    return np.column_stack([x, y])

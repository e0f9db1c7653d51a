"""Texture of grey patches: grey-level co-occurrence properties and local binary patterns."""

from __future__ import annotations

import numpy as np

GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation")
GLCM_DISTANCES = (1, 3)
GLCM_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
GLCM_LEVELS = 16
"""Grey levels of the co-occurrence matrices (props averaged over :data:`GLCM_ANGLES`)."""
LBP_POINTS, LBP_RADIUS = 8, 1
"""Uniform local binary patterns: ``LBP_POINTS + 2`` codes, histogram as fractions."""
TEXTURE_NAMES = (
    *(f"glcm_{prop}_d{d}" for d in GLCM_DISTANCES for prop in GLCM_PROPS),
    *(f"lbp_{k}" for k in range(LBP_POINTS + 2)),
)
"""Columns of :func:`glcm_descriptors` then :func:`lbp_descriptors`."""


def glcm_matrices(grey: np.ndarray, levels: int = GLCM_LEVELS) -> np.ndarray:
    """Symmetric, normalised grey-level co-occurrence matrices of a ``[B, H, W]`` grey stack in
    [0, 1], all patches at once: ``[levels, levels, len(GLCM_DISTANCES), B × len(GLCM_ANGLES)]``,
    angle fastest; for one patch, what :func:`skimage.feature.graycomatrix` gives."""
    n, height, width = grey.shape
    q = np.minimum((grey * levels).astype(np.int64), levels - 1)
    offsets = (np.arange(n) * levels * levels)[:, None, None]
    out = np.zeros((levels, levels, len(GLCM_DISTANCES), n * len(GLCM_ANGLES)))
    for d_idx, distance in enumerate(GLCM_DISTANCES):
        for a_idx, angle in enumerate(GLCM_ANGLES):
            dr, dc = round(np.sin(angle) * distance), round(np.cos(angle) * distance)
            rows, cols = (
                slice(max(0, -dr), height - max(0, dr)),
                slice(max(0, -dc), width - max(0, dc)),
            )
            first = q[:, rows, cols]
            second = q[:, rows.start + dr : rows.stop + dr, cols.start + dc : cols.stop + dc]
            counts = np.bincount(
                (offsets + first * levels + second).ravel(), minlength=n * levels * levels
            ).reshape(n, levels, levels)
            counts = counts + counts.transpose(0, 2, 1)
            counts = counts / np.maximum(counts.sum(axis=(1, 2), keepdims=True), 1)
            out[:, :, d_idx, a_idx :: len(GLCM_ANGLES)] = counts.transpose(1, 2, 0)
    return out


def glcm_descriptors(grey: np.ndarray) -> np.ndarray:
    """Co-occurrence properties of a ``[B, H, W]`` grey stack, averaged over the angles:
    ``[B, len(GLCM_DISTANCES) × len(GLCM_PROPS)]``, distance-major."""
    from skimage.feature import graycoprops

    matrices = glcm_matrices(grey)
    n_angles = len(GLCM_ANGLES)
    props = [
        graycoprops(matrices, prop).reshape(len(GLCM_DISTANCES), -1, n_angles).mean(axis=2)
        for prop in GLCM_PROPS
    ]  # each [n_distances, B]
    return np.stack(props, axis=1).reshape(-1, grey.shape[0]).T  # distance-major, prop-minor


def lbp_descriptors(grey: np.ndarray) -> np.ndarray:
    """Histogram of the uniform local binary pattern codes of each grey patch, as fractions:
    ``[B, LBP_POINTS + 2]``."""
    from skimage.feature import local_binary_pattern

    n_codes = LBP_POINTS + 2
    grey8 = np.rint(grey * 255).astype(np.uint8)
    codes = np.stack(
        [local_binary_pattern(g, LBP_POINTS, LBP_RADIUS, method="uniform") for g in grey8]
    ).astype(np.int64)
    offsets = (np.arange(len(grey)) * n_codes)[:, None, None]
    hist = np.bincount((codes + offsets).ravel(), minlength=len(grey) * n_codes)
    return hist.reshape(len(grey), n_codes) / codes[0].size

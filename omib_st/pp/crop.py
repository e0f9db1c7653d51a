"""Cropping square windows around points and resampling them to a fixed size, for a batch."""

from __future__ import annotations

import numpy as np

from omib_st.errors import OmibError

PAD_VALUE = 255
"""Pixels outside the image are white, like glass around the tissue."""
MAX_CROP_SIDE = 4096.0
"""Longest crop side in pixels: one such crop takes about 200 MB of float32 while resampled."""
_MAX_BATCH_PIXELS = 1 << 23  # window pixels handled at once: bounds memory for large crops


def _weights(starts: np.ndarray, ratio: float, size: int, window: int) -> np.ndarray:
    """Triangle-filter resampling matrices, ``len(starts) × size × window``.

    Output pixel ``i`` of crop ``b`` has its centre at window coordinate
    ``starts[b] + (i + 0.5) × ratio`` (pixel ``k`` of the window is centred on ``k``). When
    downsampling the filter widens with ``ratio`` (antialiasing, as in Pillow).
    """
    support = max(ratio, 1.0)
    centres = starts[:, None] + (np.arange(size) + 0.5) * ratio
    offsets = np.arange(window)[None, None, :] - centres[:, :, None]
    weights = np.clip(1.0 - np.abs(offsets) / support, 0.0, None, dtype=np.float32)
    weights /= weights.sum(axis=2, keepdims=True)
    return weights


def crop_resize(image: np.ndarray, centers: np.ndarray, side: float, size: int) -> np.ndarray:
    """Square crops of side ``side`` px centred on ``centers``, resampled to ``size × size``.

    Parameters
    ----------
    image
        ``H × W × 3`` uint8 image.
    centers
        ``B × 2`` crop centres in pixels of ``image``: x = column, y = row; pixel ``(c, r)`` is
        centred on the integer coordinates ``(c, r)``.
    side
        Crop side in pixels of ``image`` (any positive float).
    size
        Side of the output patches.

    Returns
    -------
    ``B × 3 × size × size`` uint8 (channels first). Regions outside ``image`` are white (255).

    Raises
    ------
    OmibError
        When ``side`` is not a positive number or exceeds :data:`MAX_CROP_SIDE`, ``size`` is not
        positive, or a centre is NaN or infinite.
    """
    side = float(side)
    centers = _checked_centers(centers, side, size)
    out = np.empty((len(centers), 3, size, size), dtype=np.uint8)
    support = max(side / size, 1.0)
    window = int(np.ceil(side + 2 * support)) + 3
    step = max(1, _MAX_BATCH_PIXELS // (window * window))
    for first in range(0, len(centers), step):
        batch = centers[first : first + step]
        out[first : first + len(batch)] = _crop_batch(image, batch, side, size, window)
    return out


def _checked_centers(centers: np.ndarray, side: float, size: int) -> np.ndarray:
    """``centers`` as a float64 ``B × 2`` array, once the crop settings and centres are valid."""
    if not (np.isfinite(side) and side > 0) or size < 1:
        raise OmibError(
            f"crop side {side:g} px and patch size {size} must be a positive number",
            "check spot_diameter_fullres and the patch settings",
        )
    if side > MAX_CROP_SIDE:
        raise OmibError(
            f"a crop of {side:.4g} px is too large (at most {MAX_CROP_SIDE:.0f} px)",
            "check spot_diameter_fullres and patch.scale, or cut patches from a smaller image "
            "(patch.resolution)",
        )
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(centers).all():
        raise OmibError(
            "crop centres contain NaN or infinite values", "drop or fix those spots' coordinates"
        )
    return centers


def _crop_batch(image: np.ndarray, batch: np.ndarray, side: float, size: int, window: int):
    """Patches of one batch: ``window × window`` pixel windows around each crop (white outside
    the image), resampled along y then x."""
    ratio = side / size
    support = max(ratio, 1.0)
    height, width = image.shape[:2]
    offsets = np.arange(window)
    lows = batch - side / 2  # continuous crop start, x and y
    origins = np.floor(lows - support).astype(np.int64) - 1
    rows = origins[:, 1, None] + offsets
    cols = origins[:, 0, None] + offsets
    crops = image[np.clip(rows, 0, height - 1)[:, :, None], np.clip(cols, 0, width - 1)[:, None, :]]
    outside = ~(
        ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    )
    crops[outside] = PAD_VALUE
    weights_y = _weights(lows[:, 1] - origins[:, 1], ratio, size, window)
    weights_x = _weights(lows[:, 0] - origins[:, 0], ratio, size, window)
    n = len(batch)
    along_y = np.matmul(weights_y, crops.reshape(n, window, window * 3).astype(np.float32))
    along_y = along_y.reshape(n, size, window, 3).transpose(0, 3, 1, 2)  # n, 3, size, window
    patches = np.matmul(along_y, weights_x.transpose(0, 2, 1)[:, None])  # n, 3, size, size
    return np.clip(np.rint(patches), 0, 255).astype(np.uint8)

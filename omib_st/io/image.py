"""Reading H&E images into uint8 RGB arrays, optionally downscaled."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from omib_st.errors import OmibError


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """An ``H × W × 3`` uint8 view or copy of a grey, RGB or RGBA image (floats read as 0–1)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise OmibError(f"image has shape {image.shape}", "give an H×W×3 RGB image")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    image = image[:, :, :3]
    if image.dtype == np.uint8:
        return image
    if np.issubdtype(image.dtype, np.floating):
        scale = 255.0 if np.nanmax(image) <= 1.0 else 1.0
        return np.clip(np.rint(np.nan_to_num(image) * scale), 0, 255).astype(np.uint8)
    if image.dtype == np.uint16:
        return (image // 257).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise OmibError(f"image file {path} does not exist", "check the image path")
    try:
        with warnings.catch_warnings():  # Pillow's notes on corrupt files; the error says it all
            warnings.simplefilter("ignore")
            return Image.open(path)
    except (UnidentifiedImageError, OSError) as err:
        raise OmibError(
            f"{path} is not a readable image ({err})", "give a PNG, JPEG or TIFF"
        ) from None


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image file, read from its header without decoding it."""
    from PIL import Image

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with _open(Path(path)) as im:
            return im.size
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def read_image(path: str | os.PathLike, *, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """Read an image file as uint8 RGB, downscaled so that its longer side is ≤ ``max_side``.

    Parameters
    ----------
    path
        PNG, JPEG or TIFF file. Large full-resolution slides are allowed (Pillow's
        decompression-bomb limit is lifted for this call).
    max_side
        Longest side of the result in pixels; ``None`` keeps the full resolution.

    Returns
    -------
    The ``H × W × 3`` uint8 image and its scale factor relative to the file (1.0 when not
    downscaled): pixel ``(x, y)`` of the file is pixel ``(x, y) × scale`` of the result.
    """
    from PIL import Image

    path = Path(path)
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with _open(path) as im:
            width, height = im.size
            scale = 1.0
            if max_side is not None and max(width, height) > max_side:
                scale = max_side / max(width, height)
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                im.draft("RGB", size)  # JPEG: decode at a reduced size, much faster
                im = im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
            try:
                array = np.asarray(im.convert("RGB") if im.mode != "RGB" else im)
            except OSError as err:
                raise OmibError(f"{path} could not be decoded ({err})", "check the file") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return np.ascontiguousarray(array, dtype=np.uint8), scale


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Downscale an RGB array so its longer side is ≤ ``max_side``; returns it and its scale."""
    from PIL import Image

    image = to_rgb_uint8(image)
    height, width = image.shape[:2]
    if max(width, height) <= max_side:
        return image, 1.0
    scale = max_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(small), scale

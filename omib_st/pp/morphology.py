"""Morphology descriptors of H&E patches: stain, nuclei and texture, at a spot and around it.

:func:`morphology_descriptors` turns uint8 patches ``[B, 3, H, W]`` into float32 ``[B, D]``
(columns named by :data:`DESCRIPTOR_NAMES`); :func:`spot_descriptors` does it for every spot of
a section, on the spot's patch and on a larger context patch around it. Descriptors are meant
to be computed once per spot and cached, then z-scored before any distance is taken.

Sizes (areas, distances) are in patch pixels, so compare descriptors only between patches cut
at the same physical scale (:class:`~omib_st.pp.PatchExtractor` sizes patches from the spot
diameter, so the same ``size`` and ``scale`` give the same µm per pixel in every section).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from anndata import AnnData

from omib_st.pp.stain import channels_last, optical_density, tissue_mask
from omib_st.pp.texture import TEXTURE_NAMES, glcm_descriptors, lbp_descriptors

COLOUR_NAMES = (
    "tissue_fraction",
    "od_mean",
    "grey_mean",
    "grey_std",
    "h_mean",
    "h_std",
    "h_p90",
    "e_mean",
    "e_std",
    "e_p90",
)
"""Colour and stain statistics: fraction of tissue pixels, mean optical density, grey level,
and haematoxylin / eosin channels of :func:`skimage.color.rgb2hed` over the whole patch."""
NUCLEI_NAMES = (
    "nuclei_count",
    "nuclei_density",
    "nuclei_area_fraction",
    "nucleus_area_mean",
    "nucleus_area_std",
    "nucleus_eccentricity_mean",
    "nucleus_circularity_mean",
    "nucleus_h_mean",
    "nucleus_h_std",
)
"""Nuclei segmented from the haematoxylin channel: count, count per 1,000 tissue pixels, share
of the patch they cover, area (px) mean and sd, mean eccentricity (of the ellipse with the same
second moments) and circularity (4π area / boundary pixels²), haematoxylin mean and sd over
nuclear pixels."""
DESCRIPTOR_NAMES = (*COLOUR_NAMES, *NUCLEI_NAMES, *TEXTURE_NAMES)
"""Column names of :func:`morphology_descriptors`, in order."""
NUCLEI_THRESHOLD = 0.08
"""Haematoxylin level (``rgb2hed`` units, after a σ = 1 px blur) above which a pixel is nuclear."""
MIN_NUCLEUS_AREA = 4
"""Smallest nucleus in patch pixels; smaller connected components are noise."""
CHUNK = 256
"""Patches handled at once (bounds memory)."""
_GREY = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)  # skimage.color.rgb2gray weights
_IN_PLANE = np.zeros((3, 3, 3), dtype=bool)  # 2-D 4-connectivity on a [B, H, W] stack
_IN_PLANE[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def morphology_descriptors(
    patches,
    *,
    nuclei_threshold: float = NUCLEI_THRESHOLD,
    min_nucleus_area: int = MIN_NUCLEUS_AREA,
) -> np.ndarray:
    """Descriptors of uint8 RGB patches ``[B, 3, H, W]`` (NumPy or torch): float32 ``[B, D]``.

    Columns are :data:`DESCRIPTOR_NAMES`: colour / stain statistics, nuclei from the
    haematoxylin channel and texture (:mod:`omib_st.pp.texture`: grey-level co-occurrence,
    uniform local binary patterns). Each patch's row depends on that patch only.
    """
    rgb = channels_last(patches)
    blocks = [
        _descriptors(rgb[i : i + CHUNK], nuclei_threshold, min_nucleus_area)
        for i in range(0, len(rgb), CHUNK)
    ]
    if not blocks:
        return np.zeros((0, len(DESCRIPTOR_NAMES)), dtype=np.float32)
    return np.concatenate(blocks).astype(np.float32)


def _descriptors(rgb: np.ndarray, threshold: float, min_area: int) -> np.ndarray:
    from skimage.color import rgb2hed

    hed = rgb2hed(rgb).astype(np.float32)
    grey = rgb.astype(np.float32) @ _GREY / 255.0
    tissue = tissue_mask(rgb)
    return np.concatenate(
        [
            _colour(rgb, hed, grey, tissue),
            _nuclei(hed[..., 0], tissue, threshold, min_area),
            glcm_descriptors(grey),
            lbp_descriptors(grey),
        ],
        axis=1,
    )


def _colour(rgb, hed, grey, tissue) -> np.ndarray:
    n = len(rgb)
    h, e = hed[..., 0].reshape(n, -1), hed[..., 1].reshape(n, -1)
    grey = grey.reshape(n, -1)
    return np.stack(
        [
            tissue.reshape(n, -1).mean(axis=1),
            optical_density(rgb).sum(axis=-1).reshape(n, -1).mean(axis=1),
            grey.mean(axis=1),
            grey.std(axis=1),
            h.mean(axis=1),
            h.std(axis=1),
            np.percentile(h, 90, axis=1),
            e.mean(axis=1),
            e.std(axis=1),
            np.percentile(e, 90, axis=1),
        ],
        axis=1,
    )


def _nuclei(h: np.ndarray, tissue: np.ndarray, threshold: float, min_area: int) -> np.ndarray:
    """Connected components of the blurred haematoxylin above ``threshold``, per patch."""
    from scipy import ndimage

    n, height, width = h.shape
    mask = ndimage.gaussian_filter(h, sigma=(0, 1, 1)) > threshold
    mask = ndimage.binary_opening(mask, structure=_IN_PLANE)
    labels, n_labels = ndimage.label(mask, structure=_IN_PLANE)
    boundary = mask & ~ndimage.binary_erosion(mask, structure=_IN_PLANE)
    pixels = np.flatnonzero(labels)
    label = labels.ravel()[pixels]
    patch, y, x = np.unravel_index(pixels, labels.shape)
    y, x = y.astype(np.float64), x.astype(np.float64)

    def per_label(weights=None):
        return np.bincount(label, weights, minlength=n_labels + 1)[1:]

    area = per_label()
    owner = (per_label(patch) / np.maximum(area, 1)).round().astype(np.int64)
    my, mx = per_label(y) / np.maximum(area, 1), per_label(x) / np.maximum(area, 1)
    vyy = per_label(y * y) / np.maximum(area, 1) - my**2
    vxx = per_label(x * x) / np.maximum(area, 1) - mx**2
    vxy = per_label(x * y) / np.maximum(area, 1) - mx * my
    half_sum, root = (vxx + vyy) / 2, np.sqrt(((vxx - vyy) / 2) ** 2 + vxy**2)
    major, minor = half_sum + root, np.maximum(half_sum - root, 0)
    eccentricity = np.sqrt(1 - minor / np.maximum(major, 1e-12)) * (major > 0)
    perimeter = per_label(boundary.ravel()[pixels].astype(np.float64))
    circularity = 4 * np.pi * area / np.maximum(perimeter, 1) ** 2

    keep = area >= min_area
    owner, area = owner[keep], area[keep]

    def per_patch(weights=None):
        return np.bincount(owner, weights, minlength=n).astype(np.float64)

    count = per_patch()
    safe = np.maximum(count, 1)
    area_mean = per_patch(area) / safe
    area_std = np.sqrt(np.maximum(per_patch(area**2) / safe - area_mean**2, 0))
    nuclear = keep[label - 1]  # nuclear pixels of kept nuclei
    in_patch, values = patch[nuclear], h.ravel()[pixels[nuclear]].astype(np.float64)
    n_px = np.bincount(in_patch, minlength=n).astype(np.float64)
    h_mean = np.bincount(in_patch, values, minlength=n) / np.maximum(n_px, 1)
    h_var = np.bincount(in_patch, values**2, minlength=n) / np.maximum(n_px, 1) - h_mean**2
    tissue_px = tissue.reshape(n, -1).sum(axis=1)
    return np.stack(
        [
            count,
            1000 * count / np.maximum(tissue_px, 1),
            n_px / (height * width),
            area_mean,
            area_std,
            per_patch(eccentricity[keep]) / safe,
            per_patch(circularity[keep]) / safe,
            h_mean,
            np.sqrt(np.maximum(h_var, 0)),
        ],
        axis=1,
    )


# ---------------------------------------------------------------------- per spot
def descriptor_names(context: bool = True) -> list[str]:
    """Columns of :func:`spot_descriptors`: ``spot:<name>`` then, with context,
    ``context:<name>``."""
    return [
        f"{where}:{name}"
        for where in ("spot", "context")[: 1 + context]
        for name in DESCRIPTOR_NAMES
    ]


def patch_descriptors(
    extractor,
    spots: np.ndarray | None = None,
    *,
    batch_size: int = CHUNK,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    **kwargs,
) -> np.ndarray:
    """:func:`morphology_descriptors` of the patches of a :class:`~omib_st.pp.PatchExtractor`
    (all spots, or ``spots``), cut batch by batch; ``transform`` maps each uint8 batch first
    (stain normalisation, augmentation)."""
    spots = np.arange(len(extractor)) if spots is None else np.asarray(spots)
    blocks = [np.zeros((0, len(DESCRIPTOR_NAMES)), dtype=np.float32)]
    for start in range(0, len(spots), batch_size):
        patches = extractor[spots[start : start + batch_size]]
        blocks.append(
            morphology_descriptors(transform(patches) if transform else patches, **kwargs)
        )
    return np.concatenate(blocks)


def spot_descriptors(
    adata: AnnData,
    *,
    size: int = 64,
    context: float | None = 3.0,
    context_size: int | None = None,
    library_id: str | None = None,
    image: np.ndarray | str | os.PathLike | None = None,
    batch_size: int = CHUNK,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    **kwargs,
) -> np.ndarray:
    """Morphology of every spot of ``adata``: float32 ``[n_spots, D]`` or, with ``context``,
    ``[n_spots, 2 D]`` (columns :func:`descriptor_names`).

    The spot patch spans one spot diameter at ``size`` px; the context patch spans ``context``
    diameters around the same centre at ``context_size`` px (default ``size``: the surroundings
    at a coarser scale, cheap to cut from a downscaled image; ``size × context`` keeps the spot
    patch's µm per pixel at several times the cost). Patches come from
    :meth:`~omib_st.pp.PatchExtractor.from_adata` (``library_id``, ``image`` as there), each from
    the smallest image sharp enough for it unless ``image`` is given.
    """
    from omib_st.pp.patches import PatchExtractor

    scales = [(1.0, size)]
    if context:
        scales.append((float(context), context_size or size))
    blocks = []
    for scale, side in scales:
        extractor = PatchExtractor.from_adata(
            adata, size=side, scale=scale, library_id=library_id, image=image
        )
        blocks.append(
            patch_descriptors(extractor, batch_size=batch_size, transform=transform, **kwargs)
        )
    return np.concatenate(blocks, axis=1)

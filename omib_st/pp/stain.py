"""Stain normalisation (Reinhard, Macenko) and stain augmentation (HED jitter, brightness).

Patches are uint8 ``[B, 3, H, W]`` (NumPy or torch) in and uint8 NumPy ``[B, 3, H, W]`` out.
Normalisation statistics are fitted on a *set* of patches (a section, or the reference
sections), never on one patch alone, so a spot darker than the rest of its section stays darker.
Randomness comes only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omib_st.errors import OmibError

BACKGROUND_OD = 0.15
"""Pixels whose optical density, summed over RGB, is below this are unstained (glass, fat)."""
TISSUE_SATURATION = 0.14
"""Smallest HSV saturation of a stained pixel: glass and fat are grey or faintly tinted in
scans whose background is not white, stained tissue is coloured."""
DARK_OD = 1.5
"""Summed optical density above which a pixel is tissue whatever its saturation."""


def channels_last(patches) -> np.ndarray:
    """uint8 ``[B, H, W, 3]`` NumPy view of uint8 ``[B, 3, H, W]`` patches (NumPy or torch)."""
    if hasattr(patches, "detach"):  # a torch tensor, without importing torch
        patches = patches.detach().cpu().numpy()
    patches = np.asarray(patches)
    if patches.ndim != 4 or patches.shape[1] != 3 or patches.dtype != np.uint8:
        raise OmibError(
            f"patches have shape {patches.shape} and dtype {patches.dtype}",
            "give uint8 RGB patches [B, 3, H, W] (as PatchExtractor returns them)",
        )
    return patches.transpose(0, 2, 3, 1)


def channels_first(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[B, 3, H, W]`` from a float ``[B, H, W, 3]`` image in [0, 1] (clipped, rounded)."""
    out = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """Optical density ``-log((I + 1) / 256)`` of uint8 RGB, float32, same shape."""
    return -np.log((rgb.astype(np.float32) + 1.0) / 256.0)


def tissue_mask(rgb: np.ndarray) -> np.ndarray:
    """Tissue pixels of uint8 RGB ``[..., 3]``: saturation ≥ :data:`TISSUE_SATURATION` or
    summed optical density ≥ :data:`DARK_OD`."""
    high, low = rgb.max(axis=-1).astype(np.float32), rgb.min(axis=-1)
    saturation = (high - low) / np.maximum(high, 1.0)
    return (saturation >= TISSUE_SATURATION) | (optical_density(rgb).sum(axis=-1) >= DARK_OD)


def _tissue_pixels(rgb: np.ndarray, n_min: int = 16) -> np.ndarray:
    """``[N, 3]`` tissue pixels of ``[B, H, W, 3]`` (all pixels when there are too few)."""
    mask = tissue_mask(rgb)
    return rgb[mask] if mask.sum() >= n_min else rgb.reshape(-1, 3)


# ---------------------------------------------------------------------- Reinhard
@dataclass(frozen=True)
class LabStats:
    """Mean and standard deviation of tissue pixels in CIE-LAB: a Reinhard reference."""

    mean: np.ndarray
    std: np.ndarray


def lab_stats(patches) -> LabStats:
    """LAB mean and standard deviation of the tissue pixels of a set of patches, pooled."""
    from skimage.color import rgb2lab

    lab = rgb2lab(_tissue_pixels(channels_last(patches))[None] / np.float32(255))[0]
    lab = lab.astype(np.float64)
    return LabStats(lab.mean(axis=0), np.maximum(lab.std(axis=0), 1e-6))


def pooled_lab_stats(sections: list[LabStats]) -> LabStats:
    """The LAB statistics of several sections' pixels taken together, each section weighted
    alike: a Reinhard target that no one section's size dominates."""
    means = np.stack([s.mean for s in sections])
    variances = np.stack([s.std**2 for s in sections])
    mean = means.mean(axis=0)
    return LabStats(mean, np.sqrt((variances + (means - mean) ** 2).mean(axis=0)))


def reinhard(patches, target: LabStats, source: LabStats | None = None) -> np.ndarray:
    """Reinhard colour transfer: map the LAB statistics ``source`` onto ``target``.

    ``source`` defaults to :func:`lab_stats` of ``patches`` themselves (pass a section's own
    statistics when normalising it batch by batch). Computed in float32.
    """
    from skimage.color import lab2rgb, rgb2lab

    rgb = channels_last(patches)
    source = lab_stats(patches) if source is None else source
    scale = (target.std / source.std).astype(np.float32)
    shift = (target.mean - source.mean * target.std / source.std).astype(np.float32)
    lab = rgb2lab(rgb / np.float32(255)) * scale + shift
    return channels_first(lab2rgb(lab))


# ---------------------------------------------------------------------- Macenko
@dataclass(frozen=True)
class MacenkoStains:
    """Stain vectors (unit optical-density columns: haematoxylin, eosin) and the 99th
    percentile of each stain's concentration: a Macenko reference."""

    matrix: np.ndarray
    max_concentration: np.ndarray


def macenko_stains(
    patches,
    rng: np.random.Generator,
    *,
    max_pixels: int = 200_000,
    angle_percentile: float = 1.0,
) -> MacenkoStains:
    """Macenko et al. (2009) stain estimation on the tissue pixels of a set of patches.

    At most ``max_pixels`` stained pixels, drawn with ``rng`` (its only use), are kept. The stain
    plane is spanned by the top two eigenvectors of their optical-density covariance; the stains
    are the ``angle_percentile`` / ``100 - angle_percentile`` extremes of the angle within it.
    """
    od = optical_density(channels_last(patches)).reshape(-1, 3)
    od = od[(od > BACKGROUND_OD / 3).all(axis=1)]
    if len(od) < 16:
        raise OmibError(
            f"{len(od)} stained pixels: too few to estimate stains",
            "fit the stains on patches that contain tissue",
        )
    if len(od) > max_pixels:
        od = od[rng.choice(len(od), max_pixels, replace=False)]
    plane = np.linalg.eigh(np.cov(od.T))[1][:, [2, 1]]  # top two eigenvectors, 3 × 2
    plane *= np.sign(plane.sum(axis=0, keepdims=True) + 1e-12)  # positive optical densities
    projected = od @ plane
    angle = np.arctan2(projected[:, 1], projected[:, 0])
    low, high = np.percentile(angle, [angle_percentile, 100 - angle_percentile])
    stains = np.stack([plane @ [np.cos(a), np.sin(a)] for a in (low, high)], axis=1)
    if stains[0, 0] < stains[0, 1]:  # haematoxylin absorbs red more than eosin does
        stains = stains[:, ::-1]
    stains /= np.linalg.norm(stains, axis=0, keepdims=True)
    concentration = np.linalg.lstsq(stains, od.T, rcond=None)[0]
    return MacenkoStains(stains, np.maximum(np.percentile(concentration, 99, axis=1), 1e-6))


def macenko(
    patches,
    target: MacenkoStains,
    source: MacenkoStains | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Macenko normalisation: unmix with ``source`` stains, rescale each stain's concentration
    to ``target``'s 99th percentile, remix with ``target`` stains.

    ``source`` defaults to :func:`macenko_stains` of ``patches`` themselves (then ``rng`` is
    required).
    """
    if source is None:
        if rng is None:
            raise OmibError(
                "macenko without source stains needs rng", "pass rng=np.random.default_rng(seed)"
            )
        source = macenko_stains(patches, rng)
    rgb = channels_last(patches)
    od = optical_density(rgb).reshape(-1, 3).T
    concentration = np.linalg.lstsq(source.matrix, od, rcond=None)[0]
    concentration *= (target.max_concentration / source.max_concentration)[:, None]
    out = 256.0 * np.exp(-(target.matrix @ concentration)) - 1.0
    return channels_first(out.T.reshape(rgb.shape) / 255.0)


# ---------------------------------------------------------------------- augmentation
def _draws(rng: np.random.Generator, n: int, low: float, high: float, shared: bool, k: int = 1):
    """``[n, 1, 1, k]`` uniform draws: one per patch, or one for all (``shared``)."""
    values = rng.uniform(low, high, size=(1 if shared else n, 1, 1, k))
    return np.broadcast_to(values, (n, 1, 1, k))


def hed_scale(patches, alpha, beta) -> np.ndarray:
    """Each stain channel ``c`` (haematoxylin, eosin, DAB) becomes ``alpha × c + beta``;
    ``alpha`` and ``beta`` broadcast against ``[B, 1, 1, 3]``.

    The channels are those of :func:`skimage.color.rgb2hed`, but not clipped at 0 (scikit-image
    clips the negative eosin of many purple pixels, so its round trip would change them): with
    ``alpha = 1`` and ``beta = 0`` the patches come back unchanged.
    """
    from skimage.color import hed_from_rgb, rgb_from_hed

    log_floor = np.log(1e-6)  # scikit-image's scale of the stain channels
    rgb = np.maximum(channels_last(patches) / 255.0, 1e-6)
    hed = (np.log(rgb) / log_floor) @ hed_from_rgb
    return channels_first(np.exp(((hed * alpha + beta) @ rgb_from_hed) * log_floor))


def hed_jitter(
    patches,
    rng: np.random.Generator,
    *,
    sigma: float = 0.05,
    bias: float = 0.005,
    shared: bool = False,
) -> np.ndarray:
    """HED colour augmentation (Tellez et al. 2018): :func:`hed_scale` with
    ``alpha ~ U(1 - sigma, 1 + sigma)`` and ``beta ~ U(-bias, bias)`` per stain.

    One draw per patch, or one for the whole batch with ``shared`` (a whole section stained
    differently).
    """
    n = len(channels_last(patches))
    alpha = _draws(rng, n, 1 - sigma, 1 + sigma, shared, 3)
    beta = _draws(rng, n, -bias, bias, shared, 3)
    return hed_scale(patches, alpha, beta)


def brightness_scale(patches, factor) -> np.ndarray:
    """Multiply RGB by ``factor`` (a number, or one per patch broadcasting against
    ``[B, 1, 1, 1]``), clipped to [0, 255]."""
    return channels_first(channels_last(patches) / 255.0 * factor)


def brightness_jitter(
    patches, rng: np.random.Generator, *, amount: float = 0.1, shared: bool = False
) -> np.ndarray:
    """:func:`brightness_scale` by ``U(1 - amount, 1 + amount)``, drawn per patch or, with
    ``shared``, once for the whole batch."""
    factor = _draws(rng, len(channels_last(patches)), 1 - amount, 1 + amount, shared)
    return brightness_scale(patches, factor)

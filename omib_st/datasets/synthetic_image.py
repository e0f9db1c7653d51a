"""The synthetic H&E image: tissue outline, fat holes, eosin fibres and haematoxylin nuclei."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from omib_st.datasets.fields import Fields, eval_grid

# Histology per tissue class: nuclei per µm², nucleus radius (µm), haematoxylin and eosin optical
# densities. Domains: 0 = dense epithelium, 1 = fibrous stroma, 2 = loose tissue with fat holes.
HISTOLOGY = {
    "domain_0": (1 / 110, 3.2, 0.85, 0.22),
    "domain_1": (1 / 450, 2.6, 0.80, 0.45),
    "domain_2": (1 / 900, 2.8, 0.75, 0.16),
    "lesion": (1 / 80, 4.3, 1.2, 0.28),
}
_HAEMATOXYLIN = np.array([0.650, 0.704, 0.286])  # Ruifrok & Johnston stain vectors (OD per RGB)
_EOSIN = np.array([0.072, 0.990, 0.105])
GLASS = 242
"""Grey level of the bare glass around the tissue."""

Disks = list[tuple[np.ndarray, float]]
"""Lesions drawn in the image: centre (µm) and radius (µm)."""


def render(
    rng: np.random.Generator,
    shape: tuple[int, int],
    scale: float,
    domain_fields: Fields,
    lesion_disks: Disks,
    spot_box: tuple,
) -> np.ndarray:
    """H&E-like RGB image (uint8) of the section at ``scale`` pixels per µm."""
    height, width = shape
    xs, ys = np.arange(width) / scale, np.arange(height) / scale
    klass = np.argmax(eval_grid(domain_fields, xs, ys), axis=0)
    holes = _fat_holes(rng, klass, xs, ys, scale, lesion_disks)
    tissue = _tissue_outline(rng, xs, ys, scale, spot_box)
    eosin = _eosin(rng, klass, holes, scale, lesion_disks)
    haematoxylin = _nuclei(rng, klass, tissue & ~holes, scale, lesion_disks)
    od = np.minimum(haematoxylin, 2.5)[..., None] * _HAEMATOXYLIN.astype(np.float32)
    od += eosin[..., None] * _EOSIN.astype(np.float32)
    rgb = 255 * np.exp(-od) + 3 * rng.standard_normal((*shape, 3), dtype=np.float32)
    glass = ~tissue
    rgb[glass] = GLASS + 2 * rng.standard_normal((int(glass.sum()), 3), dtype=np.float32)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _fat_holes(rng, klass, xs, ys, scale, lesion_disks: Disks) -> np.ndarray:
    """Fat holes: smoothed noise on a coarse grid, interpolated, thresholded in loose tissue;
    tumour fills the fat."""
    height, width = klass.shape
    step = 4
    noise = rng.standard_normal((height // step + 1, width // step + 1), dtype=np.float32)
    field = ndimage.zoom(ndimage.gaussian_filter(noise, 18 * scale / step), step, order=1)
    field = field[:height, :width]
    holes = (klass == 2) & (field > np.quantile(field[::step, ::step], 0.55))
    for cxy, r in lesion_disks:
        holes &= np.hypot(xs[None, :] - cxy[0], ys[:, None] - cxy[1]) > r
    return holes


def _tissue_outline(rng, xs, ys, scale, spot_box) -> np.ndarray:
    """Tissue mask: the spot area grown by 150 ± 100 µm, with a wobbly edge."""
    (x0, y0), (x1, y1) = spot_box
    dx = np.maximum(np.maximum(x0 - xs, xs - x1), 0).astype(np.float32)
    dy = np.maximum(np.maximum(y0 - ys, ys - y1), 0).astype(np.float32)
    wx = ndimage.gaussian_filter1d(rng.standard_normal(len(xs)), 40 * scale)
    wy = ndimage.gaussian_filter1d(rng.standard_normal(len(ys)), 40 * scale)
    wobble = 30 * (wx[None, :] / wx.std() + wy[:, None] / wy.std())
    return np.hypot(dx[None, :], dy[:, None]) < 150 + np.clip(wobble, -100, 100)


def _eosin(rng, klass, holes, scale, lesion_disks: Disks) -> np.ndarray:
    """Eosin density: per class, with fibres (mostly in stroma), fat holes in loose tissue and
    denser tumour stroma in the lesions."""
    eosin = np.array([HISTOLOGY[f"domain_{k}"][3] for k in range(3)], dtype=np.float32)[klass]
    fibres = ndimage.gaussian_filter(rng.standard_normal(klass.shape, dtype=np.float32), (0.7, 3.0))
    fibres /= fibres.std() + 1e-8
    eosin *= 1 + fibres * np.where(klass == 1, 0.3, 0.1).astype(np.float32)
    eosin[holes] *= 0.08
    for cxy, r in lesion_disks:
        (c0, r0), (c1, r1) = (
            np.floor((cxy - r) * scale).astype(int),
            np.ceil((cxy + r) * scale).astype(int),
        )
        c0, r0 = max(c0, 0), max(r0, 0)
        yy, xx = np.mgrid[r0:r1, c0:c1] / scale
        box = eosin[r0:r1, c0:c1]
        inside = np.hypot(xx - cxy[0], yy - cxy[1])[: box.shape[0], : box.shape[1]] <= r
        box[inside] = HISTOLOGY["lesion"][3]
    return eosin


def _nuclei(rng, klass, keep_area, scale, lesion_disks: Disks) -> np.ndarray:
    """Haematoxylin density: a Poisson process of nuclei thinned to each class's density (inside
    ``keep_area``), drawn as Gaussian blobs."""
    height, width = klass.shape
    max_density = max(h[0] for h in HISTOLOGY.values())
    n = rng.poisson(width * height / scale**2 * max_density)
    px, py = rng.uniform(0, width - 1, n), rng.uniform(0, height - 1, n)
    ix, iy = np.rint(px).astype(int), np.rint(py).astype(int)
    nuclear_class = np.array([f"domain_{k}" for k in range(3)], dtype=object)[klass[iy, ix]]
    for cxy, r in lesion_disks:
        nuclear_class[np.hypot(px / scale - cxy[0], py / scale - cxy[1]) <= r] = "lesion"
    keep = keep_area[iy, ix]
    thin = rng.random(n)
    haematoxylin = np.zeros(klass.shape, dtype=np.float32)
    for name, (density, radius, od, _) in HISTOLOGY.items():
        chosen = keep & (nuclear_class == name) & (thin < density / max_density)
        peak = od * rng.uniform(0.7, 1.3, chosen.sum())
        sigma = max(radius * scale / 1.18, 0.6)  # FWHM of a blob = nucleus diameter
        haematoxylin += _stamp(klass.shape, px[chosen], py[chosen], sigma, peak)
    return haematoxylin


def _stamp(shape, px, py, sigma, peak) -> np.ndarray:
    """Sum of Gaussian blobs (centres ``px, py`` in pixels, given peak values) on an image."""
    height, width = shape
    reach = int(np.ceil(2.5 * sigma))
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1].reshape(2, 1, -1)
    ix, iy = np.rint(px).astype(np.int64)[:, None] + dx, np.rint(py).astype(np.int64)[:, None] + dy
    inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
    value = peak[:, None] * np.exp(
        -((ix - px[:, None]) ** 2 + (iy - py[:, None]) ** 2) / (2 * sigma**2)
    )
    flat = np.bincount((iy * width + ix)[inside], weights=value[inside], minlength=height * width)
    return flat.reshape(shape).astype(np.float32)

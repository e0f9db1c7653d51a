"""A seeded synthetic Visium section with planted lesions, for tests, demos and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import ndimage, sparse

from omib_st.errors import OmibError
from omib_st.io.image import downscale

FULLRES_PX_PER_UM = 3.6
"""Full-resolution pixels per micrometre (a typical Visium microscope scan)."""
SPOT_SPACING_UM = 100.0
SPOT_DIAMETER_UM = 55.0
FIDUCIAL_RATIO = 1.6155  # fiducial / spot diameter in Space Ranger's scalefactors_json.json
MARGIN_UM = 300.0
LESION_KINDS = ("none", "both", "expression", "image")

# Histology per tissue class: nuclei per µm², nucleus radius (µm), haematoxylin and eosin optical
# densities. Domains: 0 = dense epithelium, 1 = fibrous stroma, 2 = loose tissue with fat holes.
_HISTOLOGY = {
    "domain_0": (1 / 110, 3.2, 0.85, 0.22),
    "domain_1": (1 / 450, 2.6, 0.80, 0.45),
    "domain_2": (1 / 900, 2.8, 0.75, 0.16),
    "lesion": (1 / 80, 4.3, 1.2, 0.28),
}
_HAEMATOXYLIN = np.array([0.650, 0.704, 0.286])  # Ruifrok & Johnston stain vectors (OD per RGB)
_EOSIN = np.array([0.072, 0.990, 0.105])
_GLASS = 242
_COUNT_CHUNK = 20_000  # spots whose dense counts are drawn at once


def _smooth_fields(rng: np.random.Generator, n_fields: int, n_waves: int, wavelength: tuple):
    """Random Fourier features: ``n_fields`` smooth random functions of position (µm)."""
    angle = rng.uniform(0, 2 * np.pi, (n_fields, n_waves))
    freq = 2 * np.pi / rng.uniform(*wavelength, (n_fields, n_waves))
    phase = rng.uniform(0, 2 * np.pi, (n_fields, n_waves))
    amp = rng.uniform(0.5, 1.0, (n_fields, n_waves))
    return np.cos(angle) * freq, np.sin(angle) * freq, phase, amp


def _eval_fields(fields, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Evaluate the fields at points; ``len(x) × n_fields``."""
    wx, wy, phase, amp = fields
    arg = x[:, None, None] * wx + y[:, None, None] * wy + phase
    return (amp * np.cos(arg)).sum(axis=2)


def _eval_grid(fields, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Evaluate the fields on the grid ``ys × xs``; ``n_fields × len(ys) × len(xs)``.

    ``cos(a + b) = cos a cos b - sin a sin b`` makes this a small matrix product per field.
    """
    wx, wy, phase, amp = fields
    a = xs[None, None, :] * wx[..., None] + phase[..., None]  # fields, waves, width
    b = ys[None, None, :] * wy[..., None]  # fields, waves, height
    left = np.concatenate([amp[..., None] * np.cos(b), -amp[..., None] * np.sin(b)], axis=1)
    right = np.concatenate([np.cos(a), np.sin(a)], axis=1)
    return np.matmul(left.transpose(0, 2, 1), right).astype(np.float32)


def _lattice(
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


def _place_lesions(
    rng, xy: np.ndarray, kinds: Sequence[str], radius: float, spacing: float = SPOT_SPACING_UM
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


def _counts(
    rng, domain, lesion, n_genes, n_domains, xy, fields_library, tissue_seed, library_size=3000.0
) -> tuple:
    """Negative binomial counts with domain and lesion programmes; returns CSR counts (float32)
    and the programmes.

    The programmes and baseline expression come from ``tissue_seed`` alone, so sections of the
    same tissue share them and differ only in layout, library sizes and noise. Sections of more
    than ``_COUNT_CHUNK`` spots are drawn in chunks of spots, so memory stays bounded.
    """
    tissue = np.random.default_rng(tissue_seed)
    n_prog = max(1, min(20, n_genes // (n_domains + 2)))
    programme = np.full(n_genes, "none", dtype=object)
    order = tissue.permutation(n_genes)
    for k in range(n_domains):
        programme[order[k * n_prog : (k + 1) * n_prog]] = f"domain_{k}"
    programme[order[n_domains * n_prog : (n_domains + 1) * n_prog]] = "lesion"
    log_base = tissue.normal(0.0, 1.2, n_genes)
    trend = _eval_fields(fields_library, xy[:, 0], xy[:, 1])[:, 0]
    library = np.exp(np.log(library_size) + 0.15 * trend + rng.normal(0, 0.3, len(domain)))
    theta = 5.0  # NB dispersion: variance = mean + mean² / theta
    shifted = np.isin(lesion, ("both", "expression"))
    chunks = []
    for start in range(0, len(domain), _COUNT_CHUNK):
        part = slice(start, start + _COUNT_CHUNK)
        log_mu = np.tile(log_base, (len(domain[part]), 1))
        for k in range(n_domains):
            log_mu[np.ix_(domain[part] == k, programme == f"domain_{k}")] += 1.6
        log_mu[np.ix_(shifted[part], programme == "lesion")] += 2.0
        # A few domain genes go down in lesions, so the shift is not a pure gain.
        log_mu[np.ix_(shifted[part], programme == "domain_0")] -= 0.7
        proportions = np.exp(log_mu)
        proportions /= proportions.sum(axis=1, keepdims=True)
        mean = proportions * library[part, None]
        chunks.append(
            sparse.csr_matrix(rng.poisson(rng.gamma(theta, mean / theta)), dtype=np.float32)
        )
    return sparse.vstack(chunks, format="csr") if len(chunks) > 1 else chunks[0], programme


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


def _render(rng, shape, scale, domain_fields, lesion_disks, spot_box) -> np.ndarray:
    """H&E-like RGB image (uint8) of the section at ``scale`` pixels per µm."""
    height, width = shape
    xs, ys = np.arange(width) / scale, np.arange(height) / scale
    klass = np.argmax(_eval_grid(domain_fields, xs, ys), axis=0)
    # Fat holes: smoothed noise on a coarse grid, interpolated, thresholded in loose tissue.
    step = 4
    noise = rng.standard_normal((height // step + 1, width // step + 1), dtype=np.float32)
    field = ndimage.zoom(ndimage.gaussian_filter(noise, 18 * scale / step), step, order=1)
    field = field[:height, :width]
    holes = (klass == 2) & (field > np.quantile(field[::step, ::step], 0.55))
    for cxy, r in lesion_disks:  # tumour fills the fat
        holes &= np.hypot(xs[None, :] - cxy[0], ys[:, None] - cxy[1]) > r

    # Tissue outline: the spot area grown by 150 ± 100 µm, with a wobbly edge.
    (x0, y0), (x1, y1) = spot_box
    dx = np.maximum(np.maximum(x0 - xs, xs - x1), 0).astype(np.float32)
    dy = np.maximum(np.maximum(y0 - ys, ys - y1), 0).astype(np.float32)
    wx = ndimage.gaussian_filter1d(rng.standard_normal(width), 40 * scale)
    wy = ndimage.gaussian_filter1d(rng.standard_normal(height), 40 * scale)
    wobble = 30 * (wx[None, :] / wx.std() + wy[:, None] / wy.std())
    tissue = np.hypot(dx[None, :], dy[:, None]) < 150 + np.clip(wobble, -100, 100)

    # Eosin: per-class density, fibres (mostly in stroma), fat holes in loose tissue.
    eosin = np.array([_HISTOLOGY[f"domain_{k}"][3] for k in range(3)], dtype=np.float32)[klass]
    fibres = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), (0.7, 3.0))
    fibres /= fibres.std() + 1e-8
    eosin *= 1 + fibres * np.where(klass == 1, 0.3, 0.1).astype(np.float32)
    eosin[holes] *= 0.08
    for cxy, r in lesion_disks:  # denser tumour stroma
        (c0, r0), (c1, r1) = (
            np.floor((cxy - r) * scale).astype(int),
            np.ceil((cxy + r) * scale).astype(int),
        )
        c0, r0 = max(c0, 0), max(r0, 0)
        yy, xx = np.mgrid[r0:r1, c0:c1] / scale
        box = eosin[r0:r1, c0:c1]
        box[np.hypot(xx - cxy[0], yy - cxy[1])[: box.shape[0], : box.shape[1]] <= r] = _HISTOLOGY[
            "lesion"
        ][3]

    # Nuclei: a Poisson process thinned to each class's density, drawn as Gaussian blobs.
    max_density = max(h[0] for h in _HISTOLOGY.values())
    n = rng.poisson(width * height / scale**2 * max_density)
    px, py = rng.uniform(0, width - 1, n), rng.uniform(0, height - 1, n)
    ix, iy = np.rint(px).astype(int), np.rint(py).astype(int)
    nuclear_class = np.array([f"domain_{k}" for k in range(3)], dtype=object)[klass[iy, ix]]
    for cxy, r in lesion_disks:
        nuclear_class[np.hypot(px / scale - cxy[0], py / scale - cxy[1]) <= r] = "lesion"
    keep = tissue[iy, ix] & ~holes[iy, ix]
    thin = rng.random(n)
    haematoxylin = np.zeros(shape, dtype=np.float32)
    for name, (density, radius, od, _) in _HISTOLOGY.items():
        chosen = keep & (nuclear_class == name) & (thin < density / max_density)
        peak = od * rng.uniform(0.7, 1.3, chosen.sum())
        sigma = max(radius * scale / 1.18, 0.6)  # FWHM of a blob = nucleus diameter
        haematoxylin += _stamp(shape, px[chosen], py[chosen], sigma, peak)

    od = np.minimum(haematoxylin, 2.5)[..., None] * _HAEMATOXYLIN.astype(np.float32)
    od += eosin[..., None] * _EOSIN.astype(np.float32)
    rgb = 255 * np.exp(-od) + 3 * rng.standard_normal((*shape, 3), dtype=np.float32)
    glass = ~tissue
    rgb[glass] = _GLASS + 2 * rng.standard_normal((int(glass.sum()), 3), dtype=np.float32)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def synthetic_visium(
    *,
    n_rows: int = 40,
    n_cols: int = 50,
    n_genes: int = 300,
    lesions: Sequence[str] = ("both", "expression", "image"),
    seed: int = 0,
    tissue_seed: int = 0,
    image_scale: float = 0.35,
    lesion_radius: float | None = None,
    library_id: str = "synthetic",
    spot_spacing: float = SPOT_SPACING_UM,
    spot_diameter: float = SPOT_DIAMETER_UM,
    library_size: float = 3000.0,
) -> AnnData:
    """A synthetic Visium section: expression, an H&E-like image and planted lesions.

    Spots sit on the Visium hex lattice (100 µm apart, 55 µm across; ``spot_spacing`` and
    ``spot_diameter`` change that, e.g. 8 µm bins for a Visium HD-sized section). Normal tissue has three
    smooth spatial domains, each with its own expression programme and histology (dense
    epithelium; fibrous stroma; loose tissue with fat holes). Counts are negative binomial with
    varying library sizes. Each entry of ``lesions`` plants one round lesion:

    - ``"both"``: expression shift (lesion programme up) and tumour-like histology (dense, dark,
      enlarged nuclei);
    - ``"expression"``: the expression shift only, normal histology;
    - ``"image"``: the histology change only, normal expression.

    The same ``seed`` gives the same section.

    Parameters
    ----------
    n_rows, n_cols
        Lattice size (``array_row`` rows of ``n_cols`` spots).
    n_genes
        Number of genes.
    lesions
        Lesion kinds, one lesion each; ``()`` gives a normal section.
    seed
        Random seed of the section (layout, lesions, counts, image).
    tissue_seed
        Seed of the tissue's gene programmes and baseline expression: sections with the same
        ``tissue_seed`` are sections of the same tissue (use one as a normal reference).
    image_scale
        Pixels per µm of the ``hires`` image (real Visium hires images are about 0.3); the
        default keeps the default section under 2000 px.
    lesion_radius
        Lesion radius in µm; default ``max(2, min(n_rows, n_cols) / 10) × spot_spacing``.
    library_id
        Key under ``uns["spatial"]``.
    spot_spacing, spot_diameter
        Centre-to-centre distance and diameter of the spots in µm. The image covers the
        section at ``image_scale`` px/µm, so at 100 µm spacing large sections need a smaller
        ``image_scale`` (500k spots at 0.35 px/µm would be a 25k × 21k px image); at 8 µm
        spacing 500k spots fit a 2,000 px image, like a Visium HD 8 µm section.
    library_size
        Median counts per spot.

    Returns
    -------
    AnnData in the Visium layout:

    - ``X``: raw counts (CSR float32, integer values); ``var["gene_ids"]``,
      ``var["programme"]`` (Categorical: ``"none"``, ``"domain_<k>"``, ``"lesion"``);
    - ``obs["in_tissue"]``, ``obs["array_row"]``, ``obs["array_col"]``, ``obs["domain"]``
      (Categorical), ``obs["lesion"]`` (Categorical: ``"none"``, ``"both"``, ``"expression"``,
      ``"image"``) and ``obs["is_anomaly"]`` (bool, any lesion);
    - ``obsm["spatial"]``: full-resolution pixels (3.6 px/µm), x = column, y = row;
    - ``uns["spatial"][library_id]``: ``"images"`` (``"hires"``, ``"lowres"``: uint8 H×W×3),
      ``"scalefactors"`` (``tissue_hires_scalef``, ``tissue_lowres_scalef``,
      ``spot_diameter_fullres``, ``fiducial_diameter_fullres``) and ``"metadata"``
      (``source``, ``seed``).
    """
    unknown = sorted(set(lesions) - set(LESION_KINDS[1:]))
    if unknown:
        raise OmibError(
            f"unknown lesion kind(s) {', '.join(unknown)}",
            "use 'both', 'expression' or 'image'",
        )
    if (
        n_rows < 2 or n_cols < 2 or n_genes < 10
        or min(image_scale, spot_spacing, spot_diameter, library_size) <= 0
    ):  # fmt: skip
        raise OmibError(
            f"n_rows={n_rows}, n_cols={n_cols}, n_genes={n_genes}, image_scale={image_scale}, "
            f"spot_spacing={spot_spacing}, spot_diameter={spot_diameter}, library_size={library_size}",
            "use at least 2 rows and columns, 10 genes and positive sizes and scales",
        )
    rng = np.random.default_rng(seed)
    rows, cols, xy = _lattice(n_rows, n_cols, spot_spacing)
    extent = xy.max(axis=0) + MARGIN_UM

    domain_fields = _smooth_fields(rng, 3, 6, (1500.0, 4000.0))
    domain = np.argmax(_eval_fields(domain_fields, xy[:, 0], xy[:, 1]), axis=1)

    radius = lesion_radius
    if radius is None:
        radius = max(2.0 * spot_spacing, min(n_rows, n_cols) * spot_spacing / 10.0)
    centres = (
        _place_lesions(rng, xy, lesions, radius, spot_spacing) if lesions else np.empty((0, 2))
    )
    lesion = np.full(len(xy), "none", dtype=object)
    for kind, centre in zip(lesions, centres):
        lesion[np.hypot(*(xy - centre).T) <= radius] = kind

    counts, programme = _counts(
        rng,
        domain,
        lesion,
        n_genes,
        3,
        xy,
        _smooth_fields(rng, 1, 3, (2000.0, 5000.0)),
        tissue_seed,
        library_size,
    )
    shape = (int(np.ceil(extent[1] * image_scale)), int(np.ceil(extent[0] * image_scale)))
    disks = [(c, radius) for kind, c in zip(lesions, centres) if kind in ("both", "image")]
    box = (xy.min(axis=0), xy.max(axis=0))
    hires = _render(rng, shape, image_scale, domain_fields, disks, box)
    hires_scalef = image_scale / FULLRES_PX_PER_UM
    lowres, factor = downscale(hires, 600)

    obs = pd.DataFrame(
        {
            "in_tissue": np.ones(len(xy), dtype=np.int64),
            "array_row": rows,
            "array_col": cols,
            "domain": pd.Categorical([f"domain_{k}" for k in domain]),
            "lesion": pd.Categorical(lesion, categories=LESION_KINDS),
            "is_anomaly": lesion != "none",
        },
        index=[f"r{r:03d}c{c:03d}" for r, c in zip(rows, cols)],
    )
    names = [f"Gene{i:04d}" for i in range(n_genes)]
    var = pd.DataFrame(
        {
            "gene_ids": [f"SYN{i:08d}" for i in range(n_genes)],
            "programme": pd.Categorical(
                programme, categories=["none", "domain_0", "domain_1", "domain_2", "lesion"]
            ),
        },
        index=names,
    )
    adata = AnnData(counts, obs=obs, var=var)
    adata.obsm["spatial"] = xy * FULLRES_PX_PER_UM
    spot = spot_diameter * FULLRES_PX_PER_UM
    adata.uns["spatial"] = {
        library_id: {
            "images": {"hires": hires, "lowres": lowres},
            "scalefactors": {
                "tissue_hires_scalef": hires_scalef,
                "tissue_lowres_scalef": hires_scalef * factor,
                "spot_diameter_fullres": spot,
                "fiducial_diameter_fullres": spot * FIDUCIAL_RATIO,
            },
            "metadata": {"source": "omib_st.datasets.synthetic_visium", "seed": str(seed)},
        }
    }
    return adata

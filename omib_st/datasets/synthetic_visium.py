"""A seeded synthetic Visium section with planted lesions, for tests, demos and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.datasets.fields import eval_fields, smooth_fields
from omib_st.datasets.lattice import MARGIN_UM, SPOT_SPACING_UM, lattice, place_lesions
from omib_st.datasets.synthetic_counts import synthetic_counts
from omib_st.datasets.synthetic_image import Disks, render
from omib_st.errors import OmibError
from omib_st.io.image import downscale

FULLRES_PX_PER_UM = 3.6
"""Full-resolution pixels per micrometre (a typical Visium microscope scan)."""
SPOT_DIAMETER_UM = 55.0
FIDUCIAL_RATIO = 1.6155  # fiducial / spot diameter in Space Ranger's scalefactors_json.json
LESION_KINDS = ("none", "both", "expression", "image")
N_DOMAINS = 3
"""Tissue domains: dense epithelium, fibrous stroma, loose tissue with fat holes."""


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

    ``n_rows`` rows of ``n_cols`` spots sit on the Visium hex lattice, ``spot_spacing`` µm apart
    and ``spot_diameter`` µm across (8 and 8 give a Visium HD-sized section). Normal tissue has
    three smooth domains, each with its own expression programme and histology (dense
    epithelium; fibrous stroma; loose tissue with fat holes). ``n_genes`` genes have negative
    binomial counts around ``library_size`` per spot. Each entry of ``lesions`` plants one round
    lesion of ``lesion_radius`` µm (default ``max(2, min(n_rows, n_cols) / 10)`` spacings):
    ``"both"`` shifts expression (lesion programme up) and histology (dense, dark, enlarged
    nuclei), ``"expression"`` or ``"image"`` only one of them; ``()`` gives a normal section.

    ``seed`` draws the section (layout, lesions, counts, image); ``tissue_seed`` draws the gene
    programmes and baseline expression, so sections sharing it are sections of one tissue (use
    one as a normal reference). The ``hires`` image covers the section at ``image_scale`` px/µm
    (real Visium hires images have about 0.3), so large sections need a smaller scale.

    Returns
    -------
    AnnData in the Visium layout: ``X`` raw counts (CSR float32, integer values);
    ``var["gene_ids"]``, ``var["programme"]`` (``"none"``, ``"domain_<k>"``, ``"lesion"``);
    ``obs["in_tissue"]``, ``obs["array_row"]``, ``obs["array_col"]``, ``obs["domain"]``,
    ``obs["lesion"]`` (``"none"`` or the kind), ``obs["is_anomaly"]`` (any lesion);
    ``obsm["spatial"]`` in full-resolution pixels (3.6 px/µm; x = column, y = row); and
    ``uns["spatial"][library_id]`` with the ``hires`` and ``lowres`` images, their scale
    factors, ``spot_diameter_fullres``, ``fiducial_diameter_fullres`` and ``metadata``.
    """
    _check_arguments(
        lesions, n_rows, n_cols, n_genes, image_scale, spot_spacing, spot_diameter, library_size
    )
    rng = np.random.default_rng(seed)
    rows, cols, xy = lattice(n_rows, n_cols, spot_spacing)
    domain_fields = smooth_fields(rng, N_DOMAINS, 6, (1500.0, 4000.0))
    domain = np.argmax(eval_fields(domain_fields, xy[:, 0], xy[:, 1]), axis=1)
    if lesion_radius is None:
        lesion_radius = max(2.0 * spot_spacing, min(n_rows, n_cols) * spot_spacing / 10.0)
    lesion, disks = _plant_lesions(rng, xy, lesions, lesion_radius, spot_spacing)
    library_fields = smooth_fields(rng, 1, 3, (2000.0, 5000.0))
    counts, programme = synthetic_counts(
        rng, domain, lesion, n_genes, N_DOMAINS, xy, library_fields, tissue_seed, library_size
    )
    hires = _hires(rng, xy, image_scale, domain_fields, disks)
    adata = AnnData(counts, obs=_obs(rows, cols, domain, lesion), var=_var(programme))
    adata.obsm["spatial"] = xy * FULLRES_PX_PER_UM
    adata.uns["spatial"] = {library_id: _library(hires, image_scale, spot_diameter, seed)}
    return adata


def _check_arguments(
    lesions, n_rows, n_cols, n_genes, image_scale, spot_spacing, spot_diameter, library_size
) -> None:
    unknown = sorted(set(lesions) - set(LESION_KINDS[1:]))
    if unknown:
        raise OmibError(
            f"unknown lesion kind(s) {', '.join(unknown)}",
            "use 'both', 'expression' or 'image'",
        )
    too_small = n_rows < 2 or n_cols < 2 or n_genes < 10
    if too_small or min(image_scale, spot_spacing, spot_diameter, library_size) <= 0:
        raise OmibError(
            f"n_rows={n_rows}, n_cols={n_cols}, n_genes={n_genes}, image_scale={image_scale}, "
            f"spot_spacing={spot_spacing}, spot_diameter={spot_diameter}, "
            f"library_size={library_size}",
            "use at least 2 rows and columns, 10 genes and positive sizes and scales",
        )


def _plant_lesions(rng, xy, lesions, radius, spacing) -> tuple[np.ndarray, Disks]:
    """Each spot's lesion kind (``"none"`` outside lesions) and the lesions the image shows."""
    centres = place_lesions(rng, xy, lesions, radius, spacing) if lesions else np.empty((0, 2))
    lesion = np.full(len(xy), "none", dtype=object)
    for kind, centre in zip(lesions, centres):
        lesion[np.hypot(*(xy - centre).T) <= radius] = kind
    disks = [(c, radius) for kind, c in zip(lesions, centres) if kind in ("both", "image")]
    return lesion, disks


def _hires(rng, xy: np.ndarray, image_scale: float, domain_fields, disks: Disks) -> np.ndarray:
    """The ``hires`` image: the spots and a margin around them at ``image_scale`` px/µm."""
    extent = xy.max(axis=0) + MARGIN_UM
    shape = int(np.ceil(extent[1] * image_scale)), int(np.ceil(extent[0] * image_scale))
    return render(rng, shape, image_scale, domain_fields, disks, (xy.min(axis=0), xy.max(axis=0)))


def _obs(rows, cols, domain, lesion) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "in_tissue": np.ones(len(rows), dtype=np.int64),
            "array_row": rows,
            "array_col": cols,
            "domain": pd.Categorical([f"domain_{k}" for k in domain]),
            "lesion": pd.Categorical(lesion, categories=LESION_KINDS),
            "is_anomaly": lesion != "none",
        },
        index=[f"r{r:03d}c{c:03d}" for r, c in zip(rows, cols)],
    )


def _var(programme: np.ndarray) -> pd.DataFrame:
    n_genes = len(programme)
    categories = ["none", *(f"domain_{k}" for k in range(N_DOMAINS)), "lesion"]
    return pd.DataFrame(
        {
            "gene_ids": [f"SYN{i:08d}" for i in range(n_genes)],
            "programme": pd.Categorical(programme, categories=categories),
        },
        index=[f"Gene{i:04d}" for i in range(n_genes)],
    )


def _library(hires: np.ndarray, image_scale: float, spot_diameter: float, seed: int) -> dict:
    """The ``uns["spatial"]`` entry: images, Space Ranger's scale factors and the metadata."""
    hires_scalef = image_scale / FULLRES_PX_PER_UM
    lowres, factor = downscale(hires, 600)
    spot = spot_diameter * FULLRES_PX_PER_UM
    return {
        "images": {"hires": hires, "lowres": lowres},
        "scalefactors": {
            "tissue_hires_scalef": hires_scalef,
            "tissue_lowres_scalef": hires_scalef * factor,
            "spot_diameter_fullres": spot,
            "fiducial_diameter_fullres": spot * FIDUCIAL_RATIO,
        },
        "metadata": {"source": "omib_st.datasets.synthetic_visium", "seed": str(seed)},
    }

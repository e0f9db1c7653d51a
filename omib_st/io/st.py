"""Reading legacy Spatial Transcriptomics sections (the her2st layout) into the Visium layout."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse
from scipy.spatial import cKDTree

from omib_st.errors import OmibError
from omib_st.io.image import downscale, read_image

HIRES_SIDE = 2000
"""Longest side of the ``hires`` image made from a full-resolution H&E."""
LOWRES_SIDE = 600
"""Longest side of the ``lowres`` image."""
PATHOLOGY_LABELS = (
    "invasive cancer",
    "cancer in situ",
    "immune infiltrate",
    "breast glands",
    "connective tissue",
    "adipose tissue",
    "undetermined",
)
"""Pathologist annotations of her2st, in a fixed category order."""


def _read_table(path: Path, what: str, **kwargs) -> pd.DataFrame:
    if not path.is_file():
        raise OmibError(f"{what} file {path} does not exist", "check the path")
    try:
        return pd.read_csv(path, sep="\t", **kwargs)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        first = (str(err).splitlines() or [""])[0]
        raise OmibError(
            f"could not read {what} file {path} ({first})", "check that it is tab-separated text"
        ) from None


def _require(table: pd.DataFrame, columns: list[str], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise OmibError(
            f"{what} file {path} lacks column(s) {', '.join(missing)}",
            f"give a table with columns {', '.join(columns)}",
        )


def spot_diameter_from_lattice(coords: np.ndarray) -> float:
    """Spot diameter of an ST array: half the median nearest-neighbour distance.

    Legacy ST spots are 100 µm across on a 200 µm grid, so this measures the pixel scale of each
    section instead of assuming it.
    """
    if len(coords) < 2:
        raise OmibError(
            f"{len(coords)} spot(s) under tissue; the spot size cannot be measured",
            "check the spot table (selected == 1 rows)",
        )
    distances, _ = cKDTree(coords).query(coords, k=2)
    return 0.5 * float(np.median(distances[:, 1]))


def _pathology(labels_path: Path, keys: pd.Index) -> pd.Categorical:
    labels = _read_table(labels_path, "labels")
    _require(labels, ["x", "y", "label"], labels_path, "labels")
    labels = labels.dropna(subset=["x", "y"])
    key = (
        labels["x"].round().astype(int).astype(str)
        + "x"
        + labels["y"].round().astype(int).astype(str)
    )
    if key.duplicated().any():
        raise OmibError(
            f"labels file {labels_path} has several rows for spot(s) "
            f"{', '.join(key[key.duplicated()].unique()[:3])}",
            "keep one label per spot",
        )
    mapping = pd.Series(labels["label"].astype(str).to_numpy(), index=key.to_numpy())
    found = sorted(set(mapping) - set(PATHOLOGY_LABELS))
    return pd.Categorical(mapping.reindex(keys).to_numpy(), categories=[*PATHOLOGY_LABELS, *found])


def _selected_spots(spots: Path) -> pd.DataFrame:
    """The spot table's rows under tissue (``selected == 1``), indexed by ``<x>x<y>``."""
    spot_table = _read_table(spots, "spot")
    _require(spot_table, ["x", "y", "pixel_x", "pixel_y", "selected"], spots, "spot")
    spot_table = spot_table[spot_table["selected"] == 1]
    keys = spot_table["x"].astype(int).astype(str) + "x" + spot_table["y"].astype(int).astype(str)
    spot_table = spot_table.set_index(keys.to_numpy())
    if spot_table.index.duplicated().any():
        raise OmibError(f"spot file {spots} lists a spot twice", "keep one row per spot")
    return spot_table


def _with_counts(
    spot_table: pd.DataFrame, table: pd.DataFrame, counts: Path, spots: Path, lib: str
) -> pd.DataFrame:
    """The selected spots that have a row in the counts table; the others dropped with a warning
    (attributed to the caller of :func:`read_st`)."""
    table.index = table.index.astype(str)
    without_counts = spot_table.index.difference(table.index)
    if len(without_counts):
        warnings.warn(
            f"{lib}: {len(without_counts)} selected spot(s) have no row in {counts.name} "
            f"and are dropped ({', '.join(without_counts[:5])})",
            UserWarning,
            stacklevel=3,
        )
    spot_table = spot_table[spot_table.index.isin(table.index)]
    if spot_table.empty:
        raise OmibError(
            f"no selected spot of {spots} has a row in {counts}",
            "check that both files belong to the same section",
        )
    return spot_table


def _section(table: pd.DataFrame, spot_table: pd.DataFrame, counts: Path, lib: str) -> AnnData:
    """Counts (CSR float32), array positions and full-resolution pixels of the kept spots."""
    values = table.loc[spot_table.index].to_numpy()
    if not np.issubdtype(values.dtype, np.number):
        raise OmibError(f"counts file {counts} has non-numeric values", "give raw integer counts")
    obs = pd.DataFrame(
        {
            "array_row": spot_table["y"].astype(np.int64).to_numpy(),
            "array_col": spot_table["x"].astype(np.int64).to_numpy(),
        },
        index=[f"{lib}_{key}" for key in spot_table.index],
    )
    adata = AnnData(
        sparse.csr_matrix(values, dtype=np.float32),
        obs=obs,
        var=pd.DataFrame(index=table.columns.astype(str)),
    )
    adata.var_names_make_unique()
    adata.obsm["spatial"] = spot_table[["pixel_x", "pixel_y"]].to_numpy(dtype=np.float64)
    return adata


def _library(coords: np.ndarray, image: Path | None) -> dict:
    """The ``uns["spatial"]`` entry: measured spot size, and the images made from ``image``."""
    scalefactors = {"spot_diameter_fullres": spot_diameter_from_lattice(coords)}
    images, metadata = {}, {"platform": "ST"}
    if image is not None:
        images["hires"], scalefactors["tissue_hires_scalef"] = read_image(
            image, max_side=HIRES_SIDE
        )
        images["lowres"], factor = downscale(images["hires"], LOWRES_SIDE)
        scalefactors["tissue_lowres_scalef"] = scalefactors["tissue_hires_scalef"] * factor
        metadata["source_image_path"] = str(image.resolve())
    return {"images": images, "scalefactors": scalefactors, "metadata": metadata}


def read_st(
    counts: str | os.PathLike,
    spots: str | os.PathLike,
    *,
    image: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    library_id: str | None = None,
) -> AnnData:
    """Read a legacy Spatial Transcriptomics section (her2st layout).

    Only spots under tissue (``selected == 1``) that have a row in the counts table are kept;
    selected spots without counts are dropped with a warning.

    Parameters
    ----------
    counts
        Spots × genes table of raw counts (``.tsv`` or ``.tsv.gz``); row names ``<x>x<y>``.
    spots
        Spot table with columns ``x``, ``y``, ``pixel_x``, ``pixel_y``, ``selected``; the pixel
        columns index the full-resolution H&E image.
    image
        Full-resolution H&E of the section.
    labels
        Pathologist annotation with columns ``x``, ``y`` (adjusted array coordinates, joined on
        ``f"{round(x)}x{round(y)}"``) and ``label``; rows with missing coordinates are ignored.
    library_id
        Key under ``uns["spatial"]`` and prefix of the spot names; defaults to the counts file
        name without extensions (``"B4"`` for ``B4.tsv.gz``).

    Returns
    -------
    AnnData with ``X`` (raw counts, CSR float32; gene symbols made unique), ``obs_names``
    ``f"{library_id}_{x}x{y}"``, ``obs["array_row"]`` (= ``y``), ``obs["array_col"]`` (= ``x``),
    ``obs["pathology"]`` (Categorical, NaN when unlabelled; with ``labels``),
    ``obsm["spatial"]`` (``pixel_x, pixel_y``) and ``uns["spatial"][library_id]``: ``"images"``
    (``hires`` ≤ 2000 px, ``lowres`` ≤ 600 px, with ``image``), ``"scalefactors"``
    (``spot_diameter_fullres`` = half the median nearest-neighbour distance; the image scale
    factors) and ``"metadata"`` (``platform``; ``source_image_path`` with ``image``).
    """
    counts, spots = Path(counts), Path(spots)
    if library_id is None:
        library_id = counts.name.split(".")[0]
    table = _read_table(counts, "counts", index_col=0)
    spot_table = _with_counts(_selected_spots(spots), table, counts, spots, library_id)
    adata = _section(table, spot_table, counts, library_id)
    if labels is not None:
        adata.obs["pathology"] = _pathology(Path(labels), spot_table.index)
    image = Path(image) if image is not None else None
    adata.uns["spatial"] = {library_id: _library(adata.obsm["spatial"], image)}
    return adata


def read_her2st(
    root: str | os.PathLike, section: str, *, image: bool = True, labels: bool = True
) -> AnnData:
    """Read one section of the her2st data set (Andersson et al. 2021) from its folder.

    Parameters
    ----------
    root
        Folder with ``counts/<S>.tsv.gz``, ``spots/<S>_selection.tsv`` and optionally
        ``images/<S>.jpg`` and ``labels/<S>_labeled_coordinates.tsv``.
    section
        Section name, e.g. ``"A1"`` or ``"B4"``.
    image
        Attach the H&E image when ``images/<S>.jpg`` exists.
    labels
        Attach the pathologist labels when ``labels/<S>_labeled_coordinates.tsv`` exists.

    Returns
    -------
    AnnData as written by :func:`read_st`, with ``library_id = section``.
    """
    root = Path(root)
    counts = root / "counts" / f"{section}.tsv.gz"
    if not counts.is_file():
        available = sorted(p.name.split(".")[0] for p in (root / "counts").glob("*.tsv.gz"))
        raise OmibError(
            f"her2st section {section!r} not found in {root} (no counts/{section}.tsv.gz)",
            f"choose one of {', '.join(available)}" if available else "check the her2st folder",
        )
    image_file = root / "images" / f"{section}.jpg"
    labels_file = root / "labels" / f"{section}_labeled_coordinates.tsv"
    return read_st(
        counts,
        root / "spots" / f"{section}_selection.tsv",
        image=image_file if image and image_file.is_file() else None,
        labels=labels_file if labels and labels_file.is_file() else None,
        library_id=section,
    )

"""Reading a 10x Visium Space Ranger output folder into the scanpy/squidpy layout."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from omib_st.errors import OmibError, short, short_name
from omib_st.io.image import read_image
from omib_st.io.safety.untrusted import load_json
from omib_st.io.validate.layout import is_number

_POSITION_COLUMNS = [
    "in_tissue",
    "array_row",
    "array_col",
    "pxl_row_in_fullres",
    "pxl_col_in_fullres",
]
_DEFAULT_COUNTS = "filtered_feature_bc_matrix.h5"


def _read_counts(path: Path) -> tuple[AnnData, dict]:
    """Counts from a 10x HDF5 file or matrix.mtx folder, with the HDF5 file's attributes."""
    import h5py
    import scanpy as sc

    try:
        with warnings.catch_warnings():  # gene symbols are made unique right after reading
            warnings.filterwarnings("ignore", "Variable names are not unique", UserWarning)
            if path.is_dir():
                return sc.read_10x_mtx(path, var_names="gene_symbols", make_unique=False), {}
            adata = sc.read_10x_h5(path)
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
    except Exception as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise OmibError(
            f"could not read the counts {path} ({type(err).__name__}: {first})",
            "give a 10x feature-barcode matrix (.h5 file or matrix.mtx folder)",
        ) from None
    return adata, attrs


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray | list | tuple):
        return _text(value[0]) if len(value) else ""
    return str(value)


def _read_positions(spatial: Path) -> pd.DataFrame:
    new, old = spatial / "tissue_positions.csv", spatial / "tissue_positions_list.csv"
    if not (new.is_file() or old.is_file()):
        raise OmibError(
            f"no tissue_positions.csv or tissue_positions_list.csv in {spatial}",
            "give the Space Ranger output folder (the one holding spatial/)",
        )
    file = new if new.is_file() else old
    try:
        positions = pd.read_csv(file, header=0 if file is new else None, index_col=0)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:  # EmptyDataError too
        raise OmibError(
            f"could not read {file} ({type(err).__name__}: {short_name(err)})",
            "give an unmodified Space Ranger tissue_positions file",
        ) from None
    if positions.shape[1] != len(_POSITION_COLUMNS):
        raise OmibError(
            f"{spatial} positions file has {positions.shape[1] + 1} columns; expected 6",
            "give an unmodified Space Ranger tissue_positions file",
        )
    positions.columns = _POSITION_COLUMNS
    positions.index = positions.index.astype(str)
    return positions


def _numeric_positions(positions: pd.DataFrame, spatial: Path) -> pd.DataFrame:
    """The position columns as numbers; one line naming the first that is not."""
    fix = "give an unmodified Space Ranger tissue_positions file"
    if positions.index.has_duplicates:
        duplicated = positions.index[positions.index.duplicated()][0]
        raise OmibError(
            f"the tissue positions in {spatial} list barcode {short(duplicated)} more than once",
            fix,
        )
    columns = {}
    for column in _POSITION_COLUMNS:
        values = pd.to_numeric(positions[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=np.float64))
        if bad.any():
            first = positions[column][bad].iloc[0]
            raise OmibError(
                f"the tissue positions in {spatial} have {int(bad.sum())} non-numeric value(s) in "
                f"{column} (e.g. {short(first)} for barcode {short(positions.index[bad][0])})",
                fix,
            )
        columns[column] = values
    return pd.DataFrame(columns, index=positions.index)


def _find_counts(folder: Path, counts_file: str) -> Path:
    """``folder / counts_file``; for the default HDF5 file, the matrix.mtx folder when it is absent."""
    counts_path = folder / counts_file
    if not counts_path.exists() and counts_file == _DEFAULT_COUNTS:
        counts_path = folder / "filtered_feature_bc_matrix"
    if not counts_path.exists():
        raise OmibError(
            f"counts {folder / counts_file} not found",
            "give counts_file (a 10x .h5 file or matrix.mtx folder inside the Space Ranger folder)",
        )
    return counts_path


def _read_scalefactors(spatial: Path) -> dict[str, float]:
    """The numeric entries of ``spatial/scalefactors_json.json``."""
    file = spatial / "scalefactors_json.json"
    if not file.is_file():
        raise OmibError(f"{file} not found", "give an unmodified Space Ranger folder")
    fix = "restore the scalefactors_json.json written by Space Ranger"
    raw = load_json(file, "scale factors", fix, max_bytes=1 << 20)
    if not isinstance(raw, dict):
        raise OmibError(f"{file} holds {short(raw)}, not a mapping of scale factors", fix)
    return {str(k): float(v) for k, v in raw.items() if is_number(v)}


def _read_images(spatial: Path) -> dict[str, np.ndarray]:
    """``spatial/tissue_{hires,lowres}_image.png`` as uint8 H×W×3 arrays; at least one must exist."""
    images = {}
    for res in ("hires", "lowres"):
        file = spatial / f"tissue_{res}_image.png"
        if file.is_file():
            images[res] = read_image(file)[0]
    if not images:
        raise OmibError(
            f"no tissue_hires_image.png or tissue_lowres_image.png in {spatial}",
            "pass load_images=False to read the sample without its image",
        )
    return images


def _assemble(
    adata: AnnData,
    attrs: dict,
    counts_name: str,
    positions: pd.DataFrame,
    spatial: Path,
    *,
    default_library: str,
    library_id: str | None,
    load_images: bool,
    source_image_path: str | os.PathLike | None,
) -> AnnData:
    """The Visium layout from counts read by :func:`_read_counts`, their positions table and the
    ``spatial/`` folder (scale factors, images).

    Writes ``X``, ``var_names`` (made unique), ``obs`` (spots under tissue only),
    ``obsm["spatial"]`` and ``uns["spatial"][library_id]``, as documented in :func:`read_visium`.
    """
    adata.var_names_make_unique()
    positions = _numeric_positions(positions, spatial)
    missing = adata.obs_names.difference(positions.index)
    if len(missing):
        raise OmibError(
            f"{len(missing)} barcode(s) of {counts_name} are not in the positions file "
            f"(e.g. {missing[0]!r})",
            "check that counts and spatial/ come from the same Space Ranger run",
        )
    positions = positions.loc[adata.obs_names]
    in_tissue = positions["in_tissue"].to_numpy() == 1
    if not in_tissue.all():  # a filtered matrix is under tissue already: no copy of X
        adata, positions = adata[in_tissue].copy(), positions[in_tissue]
    adata.obs = positions[["in_tissue", "array_row", "array_col"]].astype(np.int64)
    adata.obsm["spatial"] = positions[["pxl_col_in_fullres", "pxl_row_in_fullres"]].to_numpy(
        dtype=np.float64
    )
    adata.X = sparse.csr_matrix(adata.X, dtype=np.float32)

    scalefactors = _read_scalefactors(spatial)
    images = _read_images(spatial) if load_images else {}
    metadata = {
        key: _text(attrs[key])
        for key in ("chemistry_description", "software_version")
        if key in attrs
    }
    if source_image_path is not None:
        metadata["source_image_path"] = str(Path(source_image_path).resolve())
    if library_id is None:
        library_id = _text(attrs["library_ids"]) if "library_ids" in attrs else default_library
    adata.uns["spatial"] = {
        library_id: {"images": images, "scalefactors": scalefactors, "metadata": metadata}
    }
    return adata


def read_visium(
    path: str | os.PathLike,
    *,
    counts_file: str = _DEFAULT_COUNTS,
    library_id: str | None = None,
    load_images: bool = True,
    source_image_path: str | os.PathLike | None = None,
) -> AnnData:
    """Read a 10x Visium Space Ranger output folder.

    Both the old ``spatial/tissue_positions_list.csv`` (no header) and the newer
    ``spatial/tissue_positions.csv`` are read. Only spots under tissue are kept.

    Parameters
    ----------
    path
        The Space Ranger ``outs`` folder.
    counts_file
        10x HDF5 file or ``matrix.mtx`` folder inside ``path``. When the default HDF5 file is
        absent, the ``filtered_feature_bc_matrix/`` folder (the same matrix) is read instead.
    library_id
        Key under ``uns["spatial"]``; defaults to the HDF5 ``library_ids`` attribute, else the
        folder name.
    load_images
        Read ``spatial/tissue_hires_image.png`` and ``spatial/tissue_lowres_image.png``.
    source_image_path
        Full-resolution H&E given to Space Ranger; recorded so patches can be cut from it.

    Returns
    -------
    AnnData with

    - ``X``: raw counts (CSR float32); ``var_names`` gene symbols made unique,
      ``var["gene_ids"]``, ``var["feature_types"]``;
    - ``obs["in_tissue"]``, ``obs["array_row"]``, ``obs["array_col"]``;
    - ``obsm["spatial"]``: full-resolution pixel coordinates (x = ``pxl_col``, y = ``pxl_row``);
    - ``uns["spatial"][library_id]``: ``"images"`` (``"hires"``, ``"lowres"``: uint8 H×W×3),
      ``"scalefactors"`` (``tissue_hires_scalef``, ``tissue_lowres_scalef``,
      ``spot_diameter_fullres``, ``fiducial_diameter_fullres``) and ``"metadata"``
      (``chemistry_description``, ``software_version``, ``source_image_path`` when known).
    """
    path = Path(path)
    if not path.is_dir():
        raise OmibError(f"Space Ranger folder {path} does not exist", "give the 'outs' folder")
    counts_path = _find_counts(path, counts_file)
    adata, attrs = _read_counts(counts_path)
    return _assemble(
        adata,
        attrs,
        counts_path.name,
        _read_positions(path / "spatial"),
        path / "spatial",
        default_library=path.name,
        library_id=library_id,
        load_images=load_images,
        source_image_path=source_image_path,
    )

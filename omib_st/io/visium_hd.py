"""Reading one bin size of a 10x Visium HD Space Ranger (≥ 3.0) output into the Visium layout."""

from __future__ import annotations

import numbers
import os
import re
from pathlib import Path

import pandas as pd
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.io.visium import (
    _DEFAULT_COUNTS,
    _POSITION_COLUMNS,
    _assemble,
    _find_counts,
    _read_counts,
)

_BIN_FOLDER = re.compile(r"square_(\d+)um")
_DEFAULT_BIN_SIZE = 8


def is_visium_hd(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a Visium HD ``outs`` folder (with ``binned_outputs/``) or bin folder."""
    path = Path(path)
    return path.is_dir() and (
        (path / "binned_outputs").is_dir() or _BIN_FOLDER.fullmatch(path.name) is not None
    )


def _bin_folder(path: Path, bin_size: int | None) -> tuple[Path, int]:
    """The ``square_XXXum`` folder to read and its bin size in µm."""
    fix = "give the Visium HD 'outs' folder (holding binned_outputs/) or one square_XXXum folder"
    if not path.is_dir():
        raise OmibError(f"Visium HD folder {path} does not exist", fix)
    if bin_size is not None and not (isinstance(bin_size, numbers.Integral) and bin_size > 0):
        raise OmibError(f"bin_size={bin_size!r} is not a bin size in µm", "give e.g. 8 or 16")
    match = _BIN_FOLDER.fullmatch(path.name)
    if match:
        found = int(match[1])
        if bin_size is not None and bin_size != found:
            raise OmibError(
                f"bin_size={bin_size} was asked but {path} holds the {found} µm bins",
                f"leave bin_size out, or give the square_{bin_size:03d}um folder",
            )
        return path, found
    binned = path / "binned_outputs"
    if not binned.is_dir():
        raise OmibError(f"no binned_outputs/ folder in {path}", fix)
    bin_size = _DEFAULT_BIN_SIZE if bin_size is None else int(bin_size)
    folder = binned / f"square_{bin_size:03d}um"
    if not folder.is_dir():
        sizes = sorted(int(m[1]) for p in binned.iterdir() if (m := _BIN_FOLDER.fullmatch(p.name)))
        found = ", ".join(str(s) for s in sizes) or "none"
        raise OmibError(
            f"no {bin_size} µm bins ({folder.name}/) in {binned} (bin sizes found: {found})",
            "pass bin_size as one of those",
        )
    return folder, bin_size


def _read_parquet_positions(spatial: Path) -> pd.DataFrame:
    """``spatial/tissue_positions.parquet`` indexed by barcode, with the Visium position columns."""
    file = spatial / "tissue_positions.parquet"
    if not file.is_file():
        raise OmibError(f"{file} not found", "give an unmodified Space Ranger ≥ 3.0 bin folder")
    try:
        positions = pd.read_parquet(file)
    except ImportError as err:
        raise OmibError(f"reading {file} needs pyarrow ({err})", "pip install pyarrow") from None
    except Exception as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise OmibError(
            f"could not read {file} ({type(err).__name__}: {first})",
            "restore the tissue_positions.parquet written by Space Ranger",
        ) from None
    missing = [c for c in ["barcode", *_POSITION_COLUMNS] if c not in positions.columns]
    if missing:
        raise OmibError(
            f"{file} lacks the column(s) {', '.join(missing)}",
            "restore the tissue_positions.parquet written by Space Ranger",
        )
    positions = positions.set_index("barcode")[_POSITION_COLUMNS]
    positions.index = positions.index.astype(str)
    return positions


def read_visium_hd(
    path: str | os.PathLike,
    bin_size: int | None = None,
    *,
    counts_file: str = _DEFAULT_COUNTS,
    library_id: str | None = None,
    load_images: bool = True,
    source_image_path: str | os.PathLike | None = None,
) -> AnnData:
    """Read one bin size of a 10x Visium HD Space Ranger (≥ 3.0) output as a Visium section.

    Each square bin becomes a spot; only bins under tissue are kept. The counts, image and scale
    factor handling is that of :func:`~omib_st.io.read_visium`.

    Parameters
    ----------
    path
        The Space Ranger ``outs`` folder (holding ``binned_outputs/``) or one
        ``binned_outputs/square_XXXum`` folder.
    bin_size
        Bin side in µm (2, 8 or 16 as written by Space Ranger); default 8 for an ``outs``
        folder, the folder's own size for a ``square_XXXum`` folder.
    counts_file, library_id, load_images, source_image_path
        As in :func:`~omib_st.io.read_visium`, relative to the bin folder; ``library_id``
        defaults to the HDF5 ``library_ids`` attribute, else the ``outs`` folder name.

    Returns
    -------
    AnnData with the slots of :func:`~omib_st.io.read_visium`: ``X`` (raw counts, CSR float32),
    ``var``, ``obs["in_tissue"]``, ``obs["array_row"]``, ``obs["array_col"]`` (bin grid),
    ``obsm["spatial"]`` (full-resolution pixels, x = ``pxl_col``, y = ``pxl_row``) and
    ``uns["spatial"][library_id]`` with ``"images"``, ``"metadata"`` and ``"scalefactors"``,
    where ``spot_diameter_fullres`` is the bin side in full-resolution pixels and
    ``bin_size_um`` the bin side in µm.
    """
    folder, bin_size = _bin_folder(Path(path), bin_size)
    counts_path = _find_counts(folder, counts_file)
    adata, attrs = _read_counts(counts_path)
    spatial = folder / "spatial"
    adata = _assemble(
        adata,
        attrs,
        counts_path.name,
        _read_parquet_positions(spatial),
        spatial,
        default_library=folder.parent.parent.name or folder.name,
        library_id=library_id,
        load_images=load_images,
        source_image_path=source_image_path,
    )
    (entry,) = adata.uns["spatial"].values()
    entry["scalefactors"]["bin_size_um"] = float(bin_size)
    return adata

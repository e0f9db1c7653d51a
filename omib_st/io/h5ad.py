"""Reading and writing h5ad files with clear errors and without half-written outputs."""

from __future__ import annotations

import contextlib
import os
import warnings
import weakref
from pathlib import Path

import anndata
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.io.atomic import atomic_path

# id(adata) -> the file it was read from, so that write_h5ad never overwrites a sample's input.
_SOURCES: dict[int, Path] = {}


def _remember_source(adata: AnnData, path: Path) -> None:
    key = id(adata)
    _SOURCES[key] = path.resolve()
    weakref.finalize(adata, _SOURCES.pop, key, None)


def read_h5ad(path: str | os.PathLike) -> AnnData:
    """Read an h5ad file into memory.

    Parameters
    ----------
    path
        The ``.h5ad`` file.

    Returns
    -------
    The AnnData; :func:`write_h5ad` will refuse to write it back over ``path``.
    """
    import anndata
    import h5py

    path = Path(path)
    if path.is_dir():
        raise OmibError(
            f"{path} is a folder, not an h5ad file",
            "for a Space Ranger output folder use omib_st.io.read_visium",
        )
    if not path.exists():
        raise OmibError(f"h5ad file {path} does not exist", "check the path")
    if not h5py.is_hdf5(path):
        raise OmibError(f"{path} is not an h5ad (HDF5) file", "give a file written by AnnData")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            adata = anndata.read_h5ad(path)
        except Exception as err:  # truncated or foreign HDF5 files fail deep inside h5py/anndata
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"could not read {path} as h5ad ({type(err).__name__}: {first})",
                "the file may be truncated or not written by AnnData; write it again",
            ) from None
    # Warnings of a failed read are dropped (the error says it all); duplicated names are an
    # error of validate(), not a warning.
    for w in caught:
        if "names are not unique" not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _remember_source(adata, path)
    return adata


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def write_h5ad(adata: AnnData, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``adata`` to an h5ad file atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    adata
        The data to write.
    path
        Destination ``.h5ad`` file.
    force
        Replace an existing file. The file ``adata`` was read from is never replaced.

    Returns
    -------
    The path written.
    """
    path = Path(path)
    sources = [p for p in (_SOURCES.get(id(adata)), adata.filename) if p is not None]
    if any(_same_file(path, Path(source)) for source in sources):
        raise OmibError(
            f"refusing to overwrite {path}: the data was read from it",
            "write the results to a new file (-o OUT.h5ad)",
        )
    if path.is_dir():
        raise OmibError(f"{path} is a folder", "give a file name ending in .h5ad")
    if path.exists() and not force:
        raise OmibError(f"{path} already exists", "choose another path or pass --force")
    with atomic_path(path) as tmp, _nullable_strings():
        adata.write_h5ad(tmp)
    return path


def _nullable_strings():
    """Let anndata write pandas' string arrays (the default string dtype from pandas 3 on), which
    it refuses unless asked; the setting is restored on exit."""
    settings = anndata.settings
    if hasattr(settings, "allow_write_nullable_strings"):
        return settings.override(allow_write_nullable_strings=True)
    return contextlib.nullcontext()

"""Which library of ``uns["spatial"]`` a call refers to."""

from __future__ import annotations

from collections.abc import Mapping

from anndata import AnnData

from omib_st.errors import OmibError, short, short_name


def get_library_id(adata: AnnData, library_id: str | None = None) -> str:
    """Resolve the library id of ``uns["spatial"]``.

    Parameters
    ----------
    adata
        Annotated data in the scanpy/squidpy Visium layout.
    library_id
        The library to use; may be left out when ``uns["spatial"]`` holds exactly one.

    Returns
    -------
    The library id, a key of ``uns["spatial"]``.
    """
    spatial = adata.uns.get("spatial")
    if spatial is not None and not isinstance(spatial, Mapping):
        raise OmibError(
            f'uns["spatial"] is a {type(spatial).__name__}, not a mapping of libraries',
            "store it in the Visium layout, as squidpy.read.visium does",
        )
    if not spatial:
        raise OmibError(
            'uns["spatial"] is missing or empty, so there is no H&E image or scale factor',
            "read the sample with omib_st.io.read_visium / read_her2st or squidpy.read.visium",
        )
    libraries = list(spatial)
    found = short_name(", ".join(short_name(lib, 40) for lib in libraries[:10]))
    if library_id is not None:
        if library_id not in spatial:
            raise OmibError(
                f'library {short(library_id)} is not in uns["spatial"] (found {found})',
                "pass one of those as library_id (--library-id)",
            )
        return library_id
    if len(libraries) > 1:
        raise OmibError(
            f'uns["spatial"] holds several libraries ({found}) and none was named',
            "pass library_id (--library-id)",
        )
    return libraries[0]

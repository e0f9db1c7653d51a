"""Which library of ``uns["spatial"]`` a call refers to."""

from __future__ import annotations

from anndata import AnnData

from omib_st.errors import OmibError


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
    if not isinstance(spatial, dict) or not spatial:
        raise OmibError(
            'uns["spatial"] is missing or empty, so there is no H&E image or scale factor',
            "read the sample with omib_st.io.read_visium / read_her2st or squidpy.read.visium",
        )
    libraries = list(spatial)
    if library_id is not None:
        if library_id not in spatial:
            raise OmibError(
                f'library {library_id!r} is not in uns["spatial"] (found {", ".join(libraries)})',
                "pass one of those as library_id (--library-id)",
            )
        return library_id
    if len(libraries) > 1:
        raise OmibError(
            f'uns["spatial"] holds several libraries ({", ".join(libraries)}) and none was named',
            "pass library_id (--library-id)",
        )
    return libraries[0]

"""The omib-st AnnData contract: every problem of a sample listed up front, one line each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.io.validate.coordinates import coordinate_problems
from omib_st.io.validate.counts import expression_problems
from omib_st.io.validate.images import image_problems
from omib_st.io.validate.problem import examples, problem


def name_problems(adata: AnnData) -> Iterator[str]:
    """An empty AnnData, or spot or gene names that are not unique."""
    if adata.n_obs == 0 or adata.n_vars == 0:
        yield problem(
            f"the AnnData is empty ({adata.n_obs} spots × {adata.n_vars} genes)",
            "check the input file and any filtering applied before",
        )
    for axis, what, fix in (
        ("obs", "spot", "adata.obs_names_make_unique()"),
        ("var", "gene", "adata.var_names_make_unique()"),
    ):
        names = getattr(adata, f"{axis}_names")
        dup = names[names.duplicated()].unique()
        if len(dup):
            yield problem(
                f"{axis}_names has {len(dup)} duplicated {what} name(s) (e.g. {examples(dup)})",
                f"make them unique, e.g. with {fix}",
            )


def find_problems(
    adata: AnnData,
    *,
    layer: str | None = None,
    require_image: bool = False,
    library_id: str | None = None,
    expect_counts: bool = True,
    require_spatial: bool = True,
) -> list[str]:
    """List every problem of ``adata`` against the omib-st AnnData contract.

    Parameters
    ----------
    adata
        Annotated data in the scanpy/squidpy Visium layout.
    layer
        Layer holding the counts; ``None`` uses ``X``.
    require_image
        Also check ``uns["spatial"][library_id]``: images, scale factors, and that the spots fall
        on the images.
    library_id
        Library of ``uns["spatial"]``; may be left out when there is only one.
    expect_counts
        Refuse non-integer (normalised or log-transformed) expression values.
    require_spatial
        Check ``obsm["spatial"]``; ``False`` for expression-only uses such as gene selection.

    Returns
    -------
    One line per problem (what, where, how to fix it); empty when ``adata`` is fine.
    """
    problems = list(name_problems(adata))
    problems += expression_problems(adata, layer, expect_counts)
    coords = None
    if require_spatial or require_image:
        spatial = coordinate_problems(adata)
        problems += spatial
        if not spatial:
            coords = np.asarray(adata.obsm["spatial"], dtype=np.float64)
    if require_image:
        problems += image_problems(adata, library_id, coords)
    return problems


def validate(adata: AnnData, **options: Any) -> None:
    """Raise :class:`~omib_st.errors.OmibError` for the first problem :func:`find_problems` finds
    (same keyword ``options``)."""
    problems = find_problems(adata, **options)
    if problems:
        raise OmibError(problems[0])

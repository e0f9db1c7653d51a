"""Raw counts of a section, checked once: the one accessor every preprocessing step reads."""

from __future__ import annotations

from anndata import AnnData
from scipy import sparse

from omib_st.io.validate import validate


def counts_matrix(adata: AnnData, layer: str | None = None) -> sparse.csr_matrix:
    """Checked raw counts of ``adata`` (``X`` or ``layers[layer]``) as CSR, without copying CSR."""
    validate(adata, layer=layer, require_spatial=False)
    matrix = adata.X if layer is None else adata.layers[layer]
    return matrix if sparse.isspmatrix_csr(matrix) else sparse.csr_matrix(matrix)

"""The neighbour graph of a section's spots in its own expression space."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from scipy import sparse

from omib_st.pp.counts import counts_matrix


def expression_neighbors(
    adata: AnnData,
    n_neighbors: int,
    *,
    layer: str | None = None,
    n_top_genes: int = 2000,
    n_comps: int = 30,
) -> sparse.csr_matrix:
    """Each spot linked to its ``n_neighbors`` nearest spots (Euclidean) in the section's own
    principal components: scanpy's ``normalize_total`` (1e4), ``log1p``, ``n_top_genes``
    highly variable genes of the section, ``scale`` (clipped at 10) and ``n_comps``-component
    PCA. Binary ``spots × spots`` CSR, no self-loops, not symmetrised (row i: the neighbours of
    spot i). ``adata`` is not modified."""
    import scanpy as sc

    n = adata.n_obs
    k = min(n_neighbors, n - 1)
    if k < 1:
        return sparse.csr_matrix((n, n), dtype=np.float32)
    own = AnnData(counts_matrix(adata, layer).astype(np.float32))  # a copy: scanpy works in place
    sc.pp.normalize_total(own, target_sum=1e4)
    sc.pp.log1p(own)
    sc.pp.highly_variable_genes(own, n_top_genes=min(n_top_genes, own.n_vars))
    own = AnnData(own[:, own.var["highly_variable"].to_numpy()].X.toarray())
    sc.pp.scale(own, max_value=10)
    comps = min(n_comps, own.n_obs - 1, own.n_vars - 1)
    sc.pp.pca(own, n_comps=comps, random_state=0)
    return knn_graph(own.obsm["X_pca"], k)


def knn_graph(points: np.ndarray, k: int) -> sparse.csr_matrix:
    """Each row of ``points`` linked to its ``k`` nearest other rows (Euclidean, ``k`` < rows):
    binary CSR, no self-loops, not symmetrised."""
    from sklearn.neighbors import NearestNeighbors

    n = len(points)
    _, neighbours = NearestNeighbors(n_neighbors=k).fit(points).kneighbors()
    return sparse.csr_matrix(  # kneighbors() without points: each row's neighbours but itself
        (np.ones(n * k, dtype=np.float32), neighbours.ravel(), np.arange(0, n * k + 1, k)),
        shape=(n, n),
    )

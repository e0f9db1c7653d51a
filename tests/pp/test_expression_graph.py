import numpy as np
from scipy import sparse

from omib_st.datasets import synthetic_visium
from omib_st.pp import expression_neighbors


def test_neighbours_are_the_spots_of_the_same_expression_programme():
    """Each spot's expression neighbours share its planted programme (a lesion's spots find
    each other wherever they lie), k per spot, never itself; the AnnData is left as it was."""
    adata = synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=0, lesions=("expression",))
    before = adata.X.copy()
    graph = expression_neighbors(adata, 10)
    assert sparse.issparse(graph) and graph.shape == (adata.n_obs, adata.n_obs)
    np.testing.assert_array_equal(np.asarray(graph.sum(axis=1)).ravel(), 10)
    assert graph.diagonal().sum() == 0
    lesion = adata.obs["is_anomaly"].to_numpy()
    share = np.asarray(graph[lesion][:, lesion].sum(axis=1)).ravel() / 10
    assert share.mean() > 0.8  # lesion spots' neighbours are lesion spots
    after = sparse.csr_matrix(adata.X)
    assert (after != sparse.csr_matrix(before)).nnz == 0  # the input is untouched


def test_a_section_smaller_than_k_links_every_other_spot():
    adata = synthetic_visium(n_rows=3, n_cols=3, n_genes=40, seed=0, lesions=())
    graph = expression_neighbors(adata, 50)
    np.testing.assert_array_equal(graph.toarray(), 1 - np.eye(adata.n_obs))

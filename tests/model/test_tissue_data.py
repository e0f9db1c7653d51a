import numpy as np

from omib_st.config import load_config
from omib_st.datasets import synthetic_visium
from omib_st.model.tissue_data import TissueDataset, neighbourhood_sum, prepare_section
from omib_st.pp import Projection


def test_neighbourhood_sum_pools_counts_over_the_walk():
    rng = np.random.default_rng(0)
    adjacency = np.triu(rng.random((12, 12)) < 0.3, 1).astype(float)
    adjacency += adjacency.T
    counts = rng.poisson(3.0, size=(12, 5)).astype(np.float32)
    from scipy import sparse

    walk = adjacency + np.eye(12)
    for hops in (0, 1, 2):
        got = neighbourhood_sum(sparse.csr_matrix(counts), sparse.csr_matrix(adjacency), hops)
        np.testing.assert_allclose(got.toarray(), np.linalg.matrix_power(walk, hops) @ counts)


def test_batches_carry_projected_inputs_and_pooled_count_targets():
    """Each batch: the spots' projected features (the GNN reads them for the whole k-hop
    subgraph) and, as the target, their counts pooled over the ring neighbourhood."""
    adata = synthetic_visium(n_rows=10, n_cols=12, n_genes=40, seed=0, lesions=())
    config = load_config({"expression": {"target_hops": 1}})
    genes = list(adata.var_names[:30])
    section = prepare_section(adata, genes, config, use_image=False)
    section.features = Projection.fit(section.expression, 8)(section.expression)
    counts = adata[:, genes].X.toarray() if hasattr(adata.X, "toarray") else adata[:, genes].X
    walk = (section.graph.toarray() != 0) + np.eye(adata.n_obs)
    spots = np.array([0, 5, 37, 64, 119])
    dataset = TissueDataset([section], views=("expression", "spot"), n_hops=2)
    batch = dataset.collate(list(spots))
    np.testing.assert_allclose(batch["target"]["expression"].numpy(), (walk @ counts)[spots])
    np.testing.assert_array_equal(batch["inputs"]["spot"].numpy(), section.features[spots])
    graph = batch["inputs"]["expression"]
    np.testing.assert_array_equal(graph.x[graph.seed].numpy(), section.features[spots])

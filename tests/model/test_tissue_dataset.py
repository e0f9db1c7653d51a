import numpy as np

from omib_st.config import load_config
from omib_st.datasets import synthetic_visium
from omib_st.model.tissue_data import prepare_section
from omib_st.model.tissue_dataset import TissueDataset
from omib_st.pp import Projection


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


def test_spatial_order_is_a_permutation_that_keeps_sections_apart():
    adata = synthetic_visium(n_rows=10, n_cols=12, n_genes=40, seed=0, lesions=())
    config = load_config({})
    genes = list(adata.var_names[:30])
    sections = [prepare_section(adata, genes, config, use_image=False) for _ in range(2)]
    for section in sections:
        section.features = np.zeros((section.n_spots, 4), dtype=np.float32)
    dataset = TissueDataset(sections, views=("expression", "spot"))
    order = dataset.spatial_order()
    np.testing.assert_array_equal(np.sort(order), np.arange(2 * adata.n_obs))
    assert (np.diff(dataset.section_of[dataset.spots[order]]) >= 0).all()

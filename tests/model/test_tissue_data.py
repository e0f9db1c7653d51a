import numpy as np
import torch

from omib_st.config import load_config
from omib_st.datasets import synthetic_visium
from omib_st.model.tissue_data import TissueDataset, neighbourhood_mean, prepare_section


def _dense_mean(adjacency: np.ndarray, x: np.ndarray, hops: int) -> np.ndarray:
    walk = adjacency + np.eye(len(adjacency))
    walk /= walk.sum(axis=1, keepdims=True)
    for _ in range(hops):
        x = walk @ x
    return x


def test_neighbourhood_mean_is_the_normalised_walk():
    rng = np.random.default_rng(0)
    adjacency = np.triu(rng.random((12, 12)) < 0.3, 1).astype(float)
    adjacency += adjacency.T
    x = rng.normal(size=(12, 5))
    edge_index = torch.from_numpy(np.vstack(np.nonzero(adjacency)))
    for hops in (0, 1, 2):
        got = neighbourhood_mean(torch.from_numpy(x), edge_index, hops).numpy()
        np.testing.assert_allclose(got, _dense_mean(adjacency, x, hops), rtol=1e-10)


def test_batch_targets_equal_whole_section_targets():
    """The k-hop subgraph of a batch holds everything its spots' targets need."""
    adata = synthetic_visium(n_rows=10, n_cols=12, n_genes=40, seed=0, lesions=())
    config = load_config({"preprocess": {"n_top_genes": 30}})
    section = prepare_section(adata, list(adata.var_names[:30]), config, use_image=False)
    dense = section.expression.toarray().astype(np.float64)
    expected = _dense_mean(section.graph.toarray(), dense, 2)
    spots = np.array([0, 5, 37, 64, 119])
    dataset = TissueDataset([section], views=("expression", "spot"), n_hops=1, target_hops=2)
    batch = dataset.collate(list(spots))
    target = batch["reconstruction"]["expression"].numpy()
    np.testing.assert_allclose(target, expected[spots], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(batch["inputs"]["spot"].numpy(), dense[spots].astype(np.float32))

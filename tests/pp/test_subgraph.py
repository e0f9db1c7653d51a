import numpy as np
import pytest
import torch
from scipy import sparse
from torch_geometric.utils import k_hop_subgraph as pyg_k_hop_subgraph

from omib_st.pp import spatial_graph
from omib_st.pp.subgraph import k_hop_subgraph


def _pyg(graph, seeds, n_hops):
    coo = graph.tocoo()
    edge_index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    subset, edges, position, _ = pyg_k_hop_subgraph(
        torch.from_numpy(seeds), n_hops, edge_index, relabel_nodes=True, num_nodes=graph.shape[0]
    )
    return subset.numpy(), edges.numpy(), position.numpy()


@pytest.mark.parametrize("method", ["ring", "knn"])
@pytest.mark.parametrize("n_hops", [0, 1, 2, 3])
def test_same_subgraph_as_torch_geometric(method, n_hops):
    rng = np.random.default_rng(n_hops)
    coords = (
        rng.uniform(0, 40, (600, 2)) if method == "knn" else np.mgrid[:20, :30].reshape(2, -1).T
    )
    graph = spatial_graph(coords, method=method, n_neighbors=5)
    for seeds in (rng.integers(0, len(coords), 40), np.array([3, 3, 7]), np.arange(50, 90)):
        ours = k_hop_subgraph(graph, seeds, n_hops)
        theirs = _pyg(graph, seeds, n_hops)
        for a, b in zip(ours, theirs):  # same nodes, same edges in the same order, same seeds
            np.testing.assert_array_equal(a, b)


def test_several_sections_and_isolated_spots():
    a = spatial_graph(np.mgrid[:6, :6].reshape(2, -1).T)
    lonely = sparse.csr_matrix((3, 3), dtype=np.float32)  # spots without neighbours
    graph = sparse.block_diag([a, lonely, a], format="csr")
    seeds = np.array([0, 36, 37, 40, 70])
    for ours, theirs in zip(k_hop_subgraph(graph, seeds, 2), _pyg(graph, seeds, 2)):
        np.testing.assert_array_equal(ours, theirs)


def test_cost_does_not_grow_with_the_graph():
    # The same batch in a 10× larger lattice gives the same subgraph (nothing scans the graph).
    small = spatial_graph(np.mgrid[:40, :40].reshape(2, -1).T)
    large = spatial_graph(np.mgrid[:400, :40].reshape(2, -1).T)
    seeds = np.arange(400, 440)
    for a, b in zip(k_hop_subgraph(small, seeds, 2), k_hop_subgraph(large, seeds, 2)):
        np.testing.assert_array_equal(a, b)

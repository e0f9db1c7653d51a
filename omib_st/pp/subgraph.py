"""k-hop neighbourhoods of a batch of spots, gathered from a CSR adjacency.

The cost is proportional to the neighbourhood, not to the graph: torch-geometric's
``k_hop_subgraph`` masks every edge and node of the section for every batch, which makes scoring
a section of N spots cost O(N²) overall.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


def _row_entries(indptr: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``indices`` of the rows ``nodes`` (in order), and each row's length."""
    starts = indptr[nodes]
    lengths = indptr[nodes + 1] - starts
    total = int(lengths.sum())
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift, lengths


def k_hop_subgraph(
    graph: sparse.csr_matrix, seeds: np.ndarray, n_hops: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spots within ``n_hops`` of ``seeds`` and the edges among them, relabelled.

    Gives what ``torch_geometric.utils.k_hop_subgraph(seeds, n_hops, edge_index,
    relabel_nodes=True)`` gives for a symmetric ``graph`` whose ``edge_index`` lists the CSR
    entries in order (row = source, column = target): the same nodes, the same edges in the same
    order. Cost: O(subgraph edges × log), independent of the size of ``graph``.

    Parameters
    ----------
    graph
        Symmetric ``n × n`` adjacency, CSR with sorted indices.
    seeds
        Spot indices (duplicates allowed).
    n_hops
        Radius of the neighbourhood in edges.

    Returns
    -------
    ``subset`` (sorted spot indices, int64), ``edge_index`` (``2 × E`` int64 positions in
    ``subset``) and ``seed_position`` (position of each seed in ``subset``).
    """
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    indices = graph.indices
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    subset = np.unique(seeds)
    frontier = subset
    for _ in range(n_hops):
        if len(frontier) == 0:
            break
        entries, _ = _row_entries(indptr, frontier)
        reached = np.unique(indices[entries])
        frontier = reached[~_isin_sorted(reached, subset)]
        subset = np.union1d(subset, frontier)
    entries, lengths = _row_entries(indptr, subset)
    targets = indices[entries].astype(np.int64)
    position = np.searchsorted(subset, targets)
    inside = _isin_sorted(targets, subset, position)
    sources = np.repeat(np.arange(len(subset), dtype=np.int64), lengths)
    edge_index = np.stack([sources[inside], position[inside]])
    return subset, edge_index, np.searchsorted(subset, seeds)


def _isin_sorted(values: np.ndarray, sorted_set: np.ndarray, position=None) -> np.ndarray:
    """``np.isin`` for a sorted, unique ``sorted_set`` (by binary search)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    if position is None:
        position = np.searchsorted(sorted_set, values)
    return sorted_set[np.minimum(position, len(sorted_set) - 1)] == values

"""Spatial neighbour graph of spots: lattice rings or k nearest neighbours."""

from __future__ import annotations

from typing import Literal

import numpy as np
from anndata import AnnData
from scipy import sparse
from scipy.spatial import cKDTree

from omib_st.errors import OmibError
from omib_st.io.validate import get_coords

RING_TOLERANCE = 1.2
"""Ring radius in lattice spacings per ring: 1.2 includes a jittered first ring, not the second."""


def lattice_spacing(coords: np.ndarray) -> float:
    """Median nearest-neighbour distance: the centre-to-centre spacing of a spot lattice."""
    distances, _ = cKDTree(coords).query(coords, k=2)
    return float(np.median(distances[:, 1]))


def _check_coords(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise OmibError(f"coordinates have shape {coords.shape}", "give an n_spots × 2 array")
    if not np.isfinite(coords).all():
        raise OmibError("coordinates contain NaN or inf", "drop or fix those spots")
    return coords


def check_graph_size(n_spots: int, method: str = "ring", n_neighbors: int = 6) -> None:
    """Raise :class:`~omib_st.errors.OmibError` when ``n_spots`` are too few for the graph."""
    if method == "knn" and n_spots < n_neighbors + 1:
        raise OmibError(
            f"{n_spots} spot(s) are too few for a {n_neighbors}-nearest-neighbour graph",
            f"use at least {n_neighbors + 1} spots or a smaller graph.n_neighbors",
        )
    if method == "ring" and n_spots < 2:
        raise OmibError(f"{n_spots} spot(s) are too few for a ring graph", "use at least 2 spots")
    if method not in ("knn", "ring"):
        raise OmibError(f"unknown graph method {method!r}", "use 'ring' or 'knn'")


def _pairs(coords: np.ndarray, method: str, n_neighbors: int, n_rings: int):
    """Directed neighbour pairs (i, j), i != j, for the chosen method."""
    n = len(coords)
    check_graph_size(n, method, n_neighbors)
    tree = cKDTree(coords)
    if method == "knn":
        _, index = tree.query(coords, k=n_neighbors + 1)
        rows = np.repeat(np.arange(n), n_neighbors + 1)
        cols = index.reshape(-1)
        keep = rows != cols
        rows, cols = rows[keep], cols[keep]
        # Duplicated coordinates can push a spot's own index out of the k + 1 results.
        per_row = np.bincount(rows, minlength=n)
        surplus = np.flatnonzero(per_row > n_neighbors)
        if len(surplus):
            last = np.cumsum(per_row) - 1
            drop = np.zeros(len(rows), dtype=bool)
            drop[last[surplus]] = True
            rows, cols = rows[~drop], cols[~drop]
        return rows, cols
    if method == "ring":
        radius = n_rings * lattice_spacing(coords) * RING_TOLERANCE
        pairs = tree.query_pairs(radius, output_type="ndarray")
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        return rows, cols


def spatial_graph(
    coords: np.ndarray,
    *,
    method: Literal["ring", "knn"] = "ring",
    n_neighbors: int = 6,
    n_rings: int = 1,
    return_distances: bool = False,
) -> sparse.csr_matrix | tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Symmetric binary spot adjacency, without self loops.

    Parameters
    ----------
    coords
        ``n_spots × 2`` spot centres.
    method
        ``"ring"``: spots within ``n_rings × spacing × 1.2`` of each other, where the spacing is
        the median nearest-neighbour distance (6 neighbours on a Visium hex lattice, 4 on the
        legacy ST square grid); ``"knn"``: the ``n_neighbors`` nearest spots, symmetrised.
    n_neighbors
        Neighbours per spot for ``"knn"``.
    n_rings
        Lattice rings for ``"ring"``.
    return_distances
        Also return the Euclidean distances on the same edges.

    Returns
    -------
    Connectivities (CSR float32, ones), and with ``return_distances`` the distances (CSR float64).
    """
    coords = _check_coords(coords)
    rows, cols = _pairs(coords, method, n_neighbors, n_rings)
    n = len(coords)
    adjacency = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n)
    )
    adjacency = (adjacency + adjacency.T).tocsr()  # symmetrise (knn is not symmetric)
    adjacency.sort_indices()
    adjacency.data[:] = 1.0
    starts = np.repeat(np.arange(n), np.diff(adjacency.indptr))
    dist = np.linalg.norm(coords[starts] - coords[adjacency.indices], axis=1)
    distances = sparse.csr_matrix((dist, adjacency.indices.copy(), adjacency.indptr.copy()), (n, n))
    connectivities = adjacency
    if return_distances:
        return connectivities, distances
    return connectivities


def spatial_neighbors(
    adata: AnnData,
    *,
    method: Literal["ring", "knn"] = "ring",
    n_neighbors: int = 6,
    n_rings: int = 1,
    key_added: str = "spatial",
    copy: bool = False,
) -> AnnData | None:
    """Spatial neighbour graph of ``adata``'s spots, stored where squidpy stores it.

    Parameters
    ----------
    adata
        Annotated data with ``obsm["spatial"]``.
    method, n_neighbors, n_rings
        See :func:`spatial_graph`.
    key_added
        Prefix of the keys written.
    copy
        Return a modified copy instead of writing in place.

    Returns
    -------
    ``None``, or the modified copy when ``copy=True``. Writes

    - ``obsp[f"{key_added}_connectivities"]``: binary symmetric adjacency (CSR);
    - ``obsp[f"{key_added}_distances"]``: distances on the same edges (CSR);
    - ``uns[f"{key_added}_neighbors"]``: ``connectivities_key``, ``distances_key`` and
      ``params`` (``method``, ``n_neighbors``, ``n_rings``).
    """
    adata = adata.copy() if copy else adata
    connectivities, distances = spatial_graph(
        get_coords(adata),
        method=method,
        n_neighbors=n_neighbors,
        n_rings=n_rings,
        return_distances=True,
    )
    conn_key, dist_key = f"{key_added}_connectivities", f"{key_added}_distances"
    adata.obsp[conn_key] = connectivities
    adata.obsp[dist_key] = distances
    adata.uns[f"{key_added}_neighbors"] = {
        "connectivities_key": conn_key,
        "distances_key": dist_key,
        "params": {"method": method, "n_neighbors": n_neighbors, "n_rings": n_rings},
    }
    return adata if copy else None

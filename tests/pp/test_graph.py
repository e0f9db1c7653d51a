import numpy as np
import pytest
from scipy import sparse

from omib_st.datasets.lattice import lattice
from omib_st.errors import OmibError
from omib_st.pp import spatial_graph, spatial_neighbors


def _hex(n_rows=12, n_cols=14):
    rows, cols, xy = lattice(n_rows, n_cols)
    rng = np.random.default_rng(0)
    return rows, cols, xy * 3.6 + rng.normal(0, 2, xy.shape)  # full-res px with jitter


def _interior(rows, cols, n_rows, n_cols, rim=1):
    return (rows >= rim) & (rows < n_rows - rim) & (cols >= 2 * rim) & (cols < 2 * n_cols - 2 * rim)


def _check_graph(graph, n):
    assert sparse.isspmatrix_csr(graph) and graph.shape == (n, n)
    assert (graph != graph.T).nnz == 0
    assert graph.diagonal().sum() == 0
    assert set(np.unique(graph.data)) == {1.0}


def test_ring_hex_lattice():
    rows, cols, xy = _hex()
    graph = spatial_graph(xy)
    _check_graph(graph, len(xy))
    degree = np.diff(graph.indptr)
    assert (degree[_interior(rows, cols, 12, 14)] == 6).all()
    assert degree.max() == 6 and degree.min() >= 2
    two = np.diff(spatial_graph(xy, n_rings=2).indptr)
    assert (two[_interior(rows, cols, 12, 14, rim=2)] == 18).all()


def test_ring_st_square_grid():
    x, y = np.meshgrid(np.arange(10), np.arange(8))
    xy = np.column_stack([x.ravel(), y.ravel()]) * 272.0
    graph = spatial_graph(xy)
    _check_graph(graph, len(xy))
    degree = np.diff(graph.indptr).reshape(8, 10)
    assert (degree[1:-1, 1:-1] == 4).all()
    assert degree[0, 0] == 2 and degree[0, 5] == 3


def test_knn():
    rows, cols, xy = _hex()
    graph, distances = spatial_graph(xy, method="knn", n_neighbors=4, return_distances=True)
    _check_graph(graph, len(xy))
    assert (np.diff(graph.indptr) >= 4).all()
    assert (distances.indices == graph.indices).all()
    assert (distances != distances.T).nnz == 0
    i, j = graph.nonzero()
    np.testing.assert_allclose(distances[i, j].A1, np.linalg.norm(xy[i] - xy[j], axis=1))
    with pytest.raises(
        OmibError, match="3 spot\\(s\\) are too few for a 6-nearest-neighbour graph"
    ):
        spatial_graph(xy[:3], method="knn")


def test_knn_duplicated_coordinates():
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    graph = spatial_graph(xy, method="knn", n_neighbors=2)
    _check_graph(graph, 5)
    assert graph[0, 1] == 1


def test_bad_input():
    with pytest.raises(OmibError, match="NaN or inf"):
        spatial_graph(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(OmibError, match="unknown graph method 'delaunay'"):
        spatial_graph(np.zeros((4, 2)) + np.arange(4)[:, None], method="delaunay")


def test_spatial_neighbors_squidpy_layout(synthetic_adata):
    assert spatial_neighbors(synthetic_adata) is None
    conn = synthetic_adata.obsp["spatial_connectivities"]
    dist = synthetic_adata.obsp["spatial_distances"]
    _check_graph(conn, synthetic_adata.n_obs)
    np.testing.assert_allclose(np.unique(np.round(dist.data)), [360.0])  # 100 µm × 3.6 px/µm
    assert synthetic_adata.uns["spatial_neighbors"] == {
        "connectivities_key": "spatial_connectivities",
        "distances_key": "spatial_distances",
        "params": {"method": "ring", "n_neighbors": 6, "n_rings": 1},
    }
    copy = spatial_neighbors(synthetic_adata, method="knn", key_added="knn", copy=True)
    assert "knn_connectivities" in copy.obsp and "knn_connectivities" not in synthetic_adata.obsp
    assert copy.uns["knn_neighbors"]["distances_key"] == "knn_distances"


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # from docrep, imported by squidpy
def test_same_graph_as_squidpy(synthetic_adata):
    import squidpy

    ours = spatial_graph(synthetic_adata.obsm["spatial"])
    squidpy.gr.spatial_neighbors_grid(synthetic_adata, n_neighs=6, n_rings=1)
    theirs = synthetic_adata.obsp["spatial_connectivities"]
    assert (ours != theirs).nnz == 0

import numpy as np
import pytest
from scipy import sparse

from omib_st.config import DetectorConfig
from omib_st.datasets import synthetic_visium
from omib_st.errors import OmibError
from omib_st.model.tissue_data import (
    has_image,
    neighbourhood_sum,
    prepare_section,
    require_image,
)
from omib_st.pp import Projection


def test_neighbourhood_sum_pools_counts_over_the_walk():
    rng = np.random.default_rng(0)
    adjacency = np.triu(rng.random((12, 12)) < 0.3, 1).astype(float)
    adjacency += adjacency.T
    counts = rng.poisson(3.0, size=(12, 5)).astype(np.float32)
    walk = adjacency + np.eye(12)
    for hops in (0, 1, 2):
        got = neighbourhood_sum(sparse.csr_matrix(counts), sparse.csr_matrix(adjacency), hops)
        np.testing.assert_allclose(got.toarray(), np.linalg.matrix_power(walk, hops) @ counts)


def test_has_image_finds_loaded_images_or_the_source_image_path():
    adata = synthetic_visium(n_rows=4, n_cols=5, n_genes=20, seed=0, lesions=())
    assert has_image(adata)
    (entry,) = adata.uns["spatial"].values()
    entry.pop("images")
    assert not has_image(adata)  # scale factors alone are no image
    entry["metadata"] = None
    assert not has_image(adata)
    entry["metadata"] = {"source_image_path": "/data/slide.tif"}
    assert has_image(adata)  # read on demand from the full-resolution file
    del adata.uns["spatial"]
    assert not has_image(adata)
    with pytest.raises(OmibError, match="the model uses the H&E image"):
        require_image(adata)


def test_a_scored_section_keeps_the_projection_not_the_expression():
    adata = synthetic_visium(n_rows=6, n_cols=7, n_genes=30, seed=0, lesions=())
    genes, config = list(adata.var_names), DetectorConfig()
    kept = prepare_section(adata, genes, config, use_image=False)
    projection = Projection.fit(kept.expression, 5)
    scored = prepare_section(adata, genes, config, use_image=False, projection=projection)
    assert scored.expression is None and scored.n_spots == adata.n_obs
    np.testing.assert_array_equal(scored.features, projection(kept.expression))
    np.testing.assert_array_equal(scored.target.toarray(), kept.target.toarray())

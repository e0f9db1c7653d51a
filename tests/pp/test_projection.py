import numpy as np
from scipy import sparse

from omib_st.pp import Projection


def test_projection_is_pca_of_reference_scaled_genes():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x = rng.gamma(1.0, size=(200, 30)) * rng.random(30)
    projection = Projection.fit(sparse.csr_matrix(x), 5)
    z = (x - x.mean(0)) / (x.std(0) + 1e-6)
    expected = PCA(5, random_state=0).fit(z).transform(z)
    got = projection(sparse.csr_matrix(x))
    assert got.shape == (200, 5) and got.dtype == np.float32
    np.testing.assert_allclose(np.abs(got), np.abs(expected), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(projection(x[:7]), got[:7], rtol=1e-5, atol=1e-5)  # dense too

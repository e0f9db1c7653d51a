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


def test_fit_on_sections_and_spots_matches_fit_on_their_rows():
    rng = np.random.default_rng(1)
    a, b = rng.gamma(1.0, size=(60, 12)), rng.gamma(1.0, size=(40, 12))
    spots = np.array([0, 3, 10, 59, 60, 61, 99])
    whole = Projection.fit(np.vstack([a, b])[spots], 3)
    parts = Projection.fit([sparse.csr_matrix(a), sparse.csr_matrix(b)], 3, spots=spots)
    np.testing.assert_allclose(parts.components, whole.components, atol=1e-6)
    np.testing.assert_allclose(parts.mean, whole.mean, atol=1e-6)


def test_per_section_scaling_removes_a_section_wide_shift():
    """A second section whose genes are shifted and scaled as a whole (a batch effect) lands on
    the same coordinates as the first; reference scaling keeps the shift."""
    rng = np.random.default_rng(2)
    a = rng.gamma(2.0, size=(80, 20))
    b = 3.0 + 2.0 * a  # the same spots, another batch
    for per_section, same in ((True, True), (False, False)):
        projection = Projection.fit([a, b], 4, spots=np.arange(160), per_section=per_section)
        assert projection.per_section is per_section
        close = np.allclose(projection(sparse.csr_matrix(a)), projection(b), atol=1e-4)
        assert close is same

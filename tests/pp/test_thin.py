import numpy as np
import pytest
from scipy import sparse

from omib_st.pp import thin_counts


@pytest.fixture
def counts():
    rng = np.random.default_rng(0)
    profile = rng.gamma(0.5, 2.0, size=200)  # mean 1 per gene, uneven across genes
    deep = rng.poisson(20.0 * profile, size=(50, 200))  # about 4,000 UMIs per spot
    shallow = rng.poisson(2.0 * profile, size=(50, 200))  # about 400
    return sparse.csr_matrix(np.vstack([deep, shallow]).astype(np.float32))


def test_deep_spots_are_thinned_to_the_depth_and_shallow_ones_kept(counts):
    out = thin_counts(counts, 1000, seed=0)
    library = np.asarray(out.sum(axis=1)).ravel()
    assert abs(library[:50].mean() - 1000) < 20 and library[:50].std() < 60  # binomial noise
    np.testing.assert_array_equal(out[50:].toarray(), counts[50:].toarray())
    dense, before = out.toarray(), counts.toarray()
    assert (dense <= before).all() and (dense == np.rint(dense)).all() and (dense >= 0).all()
    # thinning keeps the profile: gene frequencies of the deep spots change by noise only
    assert np.corrcoef(dense[:50].sum(0), before[:50].sum(0))[0, 1] > 0.9


def test_thinning_is_seeded_and_leaves_the_input_alone(counts):
    original = counts.copy()
    a, b = thin_counts(counts, 500, seed=3), thin_counts(counts, 500, seed=3)
    np.testing.assert_array_equal(a.toarray(), b.toarray())
    assert (thin_counts(counts, 500, seed=4) != a).nnz > 0
    assert (counts != original).nnz == 0


def test_empty_spot_and_a_depth_above_every_spot_change_nothing():
    counts = sparse.csr_matrix(np.array([[0, 0, 0], [1, 2, 3]], dtype=np.float32))
    np.testing.assert_array_equal(thin_counts(counts, 1e6).toarray(), counts.toarray())


def test_a_spot_is_thinned_the_same_whatever_the_order_or_the_other_spots(counts):
    spots = [f"spot{i}" for i in range(counts.shape[0])]
    genes = [f"gene{j}" for j in range(counts.shape[1])]
    whole = thin_counts(counts, 1000, seed=1, spots=spots, genes=genes).toarray()
    order = np.random.default_rng(0).permutation(counts.shape[0])[:30]  # a shuffled subset
    gene_order = np.random.default_rng(1).permutation(counts.shape[1])
    part = thin_counts(
        counts[order][:, gene_order],
        1000,
        seed=1,
        spots=[spots[i] for i in order],
        genes=[genes[j] for j in gene_order],
    )
    np.testing.assert_array_equal(part.toarray(), whole[order][:, gene_order])

"""omib_st.datasets.synthetic_counts: negative binomial counts with domain and lesion programmes."""

import numpy as np

from omib_st.datasets import synthetic_counts as counts_module
from omib_st.datasets import synthetic_visium
from omib_st.datasets.fields import smooth_fields
from omib_st.datasets.synthetic_counts import gene_programmes, synthetic_counts


def _draw(seed=0, tissue_seed=0, lesion=None, n=200, n_genes=60):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3000, (n, 2))
    domain = np.arange(n) % 3
    lesion = np.full(n, "none", dtype=object) if lesion is None else lesion
    fields = smooth_fields(rng, 1, 3, (2000.0, 5000.0))
    return synthetic_counts(rng, domain, lesion, n_genes, 3, xy, fields, tissue_seed, 3000.0)


def test_programmes_are_shared_by_a_tissue():
    programme = gene_programmes(np.random.default_rng(0), 60, 3)
    assert [(programme == p).sum() for p in ("domain_0", "domain_1", "domain_2", "lesion")] == [
        12
    ] * 4
    assert (programme == "none").sum() == 12
    (_, a), (_, b), (_, c) = _draw(seed=0), _draw(seed=1), _draw(tissue_seed=1)
    assert (a == b).all() and not (a == c).all()


def test_counts_are_integers_around_the_library_size():
    x, _ = _draw()
    assert x.format == "csr" and x.dtype == np.float32 and x.shape == (200, 60)
    assert np.all(x.data == np.round(x.data))
    assert 1500 < np.median(np.asarray(x.sum(axis=1))) < 6000


def test_domains_and_lesions_raise_their_programmes():
    lesion = np.where(np.arange(200) < 100, "expression", "none").astype(object)
    x, programme = _draw(lesion=lesion)
    share = x.toarray() / np.asarray(x.sum(axis=1))
    genes = programme == "lesion"
    assert share[:100][:, genes].sum(axis=1).mean() > 3 * share[100:][:, genes].sum(axis=1).mean()
    domain = np.arange(200) % 3
    own = share[:, programme == "domain_1"].sum(axis=1)
    assert own[(domain == 1) & (lesion == "none")].mean() > 2 * own[domain == 2].mean()


def test_large_sections_are_drawn_in_chunks(monkeypatch):
    whole = synthetic_visium(n_rows=10, n_cols=12, seed=4, library_size=500, lesions=())
    monkeypatch.setattr(counts_module, "_COUNT_CHUNK", 50)  # 120 spots in three chunks
    chunked, again = (
        synthetic_visium(n_rows=10, n_cols=12, seed=4, library_size=500, lesions=()) for _ in "ab"
    )
    assert (chunked.X != again.X).nnz == 0 and chunked.X.format == "csr"
    assert chunked.X.shape == whole.X.shape and chunked.X.dtype == np.float32
    # same distribution: library sizes around the requested median
    for adata in (whole, chunked):
        assert 300 < np.median(np.asarray(adata.X.sum(axis=1))) < 800

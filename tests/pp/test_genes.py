import numpy as np
import pytest
from scipy import sparse

from omib_st.datasets import synthetic_visium
from omib_st.errors import OmibError
from omib_st.pp import select_genes, thin_counts


@pytest.fixture(scope="module")
def references():
    return [synthetic_visium(n_rows=10, n_cols=12, n_genes=200, seed=s, lesions=()) for s in (1, 2)]


def test_highly_variable_genes_of_references(references):
    genes = select_genes(references, n_top_genes=40)
    assert len(genes) == 40 and len(set(genes)) == 40
    assert genes == [g for g in references[0].var_names if g in set(genes)]  # var order kept
    # domain programmes drive the variation of normal tissue
    programme = references[0].var.loc[genes, "programme"]
    assert (programme.str.startswith("domain")).mean() > 0.5
    single = select_genes(references[:1], n_top_genes=40)
    assert len(single) == 40


def test_intersection_and_min_spots(references):
    first, second = references[0].copy(), references[1][:, 10:].copy()
    counts = first.X.tolil()
    counts[:, 20] = 0
    counts[:2, 20] = 1  # detected in 2 spots of the references only
    first.X = counts.tocsr()
    counts = second.X.tolil()
    counts[:, 10] = 0
    second.X = counts.tocsr()
    genes = select_genes([first, second], n_top_genes=5000, min_spots=3)
    assert "Gene0005" not in genes  # absent from the second reference
    assert "Gene0020" not in genes  # seen in too few spots
    assert len(genes) == 200 - 10 - 1
    assert first.X[:2, 20].sum() == 2  # inputs untouched


def test_errors(references, synthetic_adata):
    with pytest.raises(OmibError, match="no reference sections given"):
        select_genes([])
    other = references[0].copy()
    other.var_names = [f"ENSG{i:011d}" for i in range(other.n_vars)]
    with pytest.raises(OmibError, match="share no gene"):
        select_genes([references[0], other])
    logged = synthetic_adata.copy()
    logged.X.data = np.log1p(logged.X.data)
    with pytest.raises(OmibError, match="looks log-normalised"):
        select_genes([logged])


def test_genes_are_chosen_on_the_thinned_counts(references):
    """With ``thin_to``, the genes are those of the references thinned as the model reads them
    (same draws), not those of the counts before thinning."""
    deep = [r.copy() for r in references]
    for r in deep:  # half the spots ten times deeper: depth changes which genes look variable
        r.X = sparse.diags(np.where(np.arange(r.n_obs) % 2, 1.0, 10.0)) @ r.X
    depth = float(np.median([r.X.sum(axis=1).A1.min() for r in deep]))
    thinned = [r.copy() for r in deep]
    for r in thinned:
        r.X = thin_counts(r.X, depth, seed=3, spots=r.obs_names, genes=r.var_names)
    chosen = select_genes(deep, n_top_genes=40, thin_to=depth, seed=3)
    assert chosen == select_genes(thinned, n_top_genes=40)
    assert chosen != select_genes(deep, n_top_genes=40)
    assert deep[0].X[0].sum() == references[0].X[0].sum() * 10  # inputs untouched

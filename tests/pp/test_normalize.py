import numpy as np
import pytest
from scipy import sparse

from omib_st.errors import OmibError
from omib_st.pp import GeneAlignment, expression_and_counts, normalize_expression


def _expected(adata, genes, target_sum=1e4):
    dense = adata.X.toarray().astype(np.float64)
    library = dense.sum(axis=1, keepdims=True)
    logged = np.log1p(dense / np.where(library > 0, library, 1) * target_sum)
    index = {g: i for i, g in enumerate(adata.var_names)}
    return np.column_stack(
        [logged[:, index[g]] if g in index else np.zeros(adata.n_obs) for g in genes]
    )


def test_values_and_alignment(synthetic_adata):
    before = synthetic_adata.X.copy()
    genes = ["Gene0005", "NOT_A_GENE", "Gene0000", "Gene0119", "ALSO_MISSING"]
    matrix, alignment = normalize_expression(synthetic_adata, genes)
    assert sparse.isspmatrix_csr(matrix) and matrix.dtype == np.float32
    assert matrix.shape == (synthetic_adata.n_obs, len(genes))
    np.testing.assert_allclose(matrix.toarray(), _expected(synthetic_adata, genes), rtol=1e-5)
    assert alignment == GeneAlignment(
        n_genes=5, n_missing=2, missing=["NOT_A_GENE", "ALSO_MISSING"]
    )
    assert alignment.summary() == (
        "3 of 5 genes found in the sample; 2 missing, set to 0 (NOT_A_GENE, ALSO_MISSING)"
    )
    assert (synthetic_adata.X != before).nnz == 0  # input untouched


def test_layer_and_zero_library(synthetic_adata):
    synthetic_adata.layers["counts"] = synthetic_adata.X.copy()
    counts = synthetic_adata.X.tolil()
    counts[0, :] = 0
    synthetic_adata.X = counts.tocsr()
    genes = list(synthetic_adata.var_names[::-1])
    matrix, alignment = normalize_expression(synthetic_adata, genes, target_sum=100)
    assert (
        alignment.n_missing == 0 and alignment.summary() == "120 of 120 genes found in the sample"
    )
    assert np.isfinite(matrix.data).all() and matrix[0].nnz == 0
    np.testing.assert_allclose(matrix.toarray(), _expected(synthetic_adata, genes, 100), rtol=1e-5)
    dense = synthetic_adata.copy()
    dense.X = dense.layers["counts"].toarray()
    from_layer, _ = normalize_expression(synthetic_adata, genes, layer="counts")
    from_dense, _ = normalize_expression(dense, genes)
    np.testing.assert_allclose(from_layer.toarray(), from_dense.toarray())


def test_no_shared_genes(synthetic_adata):
    with pytest.raises(
        OmibError, match="no genes shared between the sample .* and the reference/model"
    ) as err:
        normalize_expression(synthetic_adata, ["ENSG00000141510", "ENSG00000146648"])
    assert "check that both use gene symbols (var_names)" in str(err.value)


def test_log_data_refused(synthetic_adata):
    synthetic_adata.X.data = np.log1p(synthetic_adata.X.data)
    with pytest.raises(OmibError, match="X looks log-normalised"):
        normalize_expression(synthetic_adata, list(synthetic_adata.var_names))


def test_duplicated_reference_genes(synthetic_adata):
    with pytest.raises(OmibError, match="duplicates"):
        normalize_expression(synthetic_adata, ["Gene0001", "Gene0001"])


def test_all_genes_in_order_without_a_copy_of_the_input(synthetic_adata):
    genes = list(synthetic_adata.var_names)
    counts = synthetic_adata.X.copy()
    counts.indices, counts.data = counts.indices.copy(), counts.data.copy()
    # unsorted column indices in the input: they must be sorted in the output, not in the input
    first = slice(counts.indptr[0], counts.indptr[1])
    counts.indices[first], counts.data[first] = (
        counts.indices[first][::-1],
        counts.data[first][::-1],
    )
    counts.has_sorted_indices = False
    synthetic_adata.X = counts
    before = counts.indices.copy()
    matrix, alignment = normalize_expression(synthetic_adata, genes)
    np.testing.assert_allclose(matrix.toarray(), _expected(synthetic_adata, genes), rtol=1e-5)
    assert matrix.has_sorted_indices and alignment.n_missing == 0
    np.testing.assert_array_equal(synthetic_adata.X.indices, before)  # input untouched
    assert not np.shares_memory(matrix.indices, synthetic_adata.X.indices)


def test_counts_come_with_the_expression_without_copying_the_input(synthetic_adata):
    synthetic_adata.X = synthetic_adata.X.astype(np.float32)
    genes = list(synthetic_adata.var_names)
    expression, counts, alignment = expression_and_counts(synthetic_adata, genes)
    np.testing.assert_array_equal(counts.toarray(), synthetic_adata.X.toarray())
    assert np.shares_memory(counts.data, synthetic_adata.X.data)  # held once, read-only
    assert not np.shares_memory(expression.data, synthetic_adata.X.data)
    np.testing.assert_array_equal(
        expression.toarray(), normalize_expression(synthetic_adata, genes)[0].toarray()
    )
    subset = ["Gene0003", "MISSING", "Gene0001"]
    _, counts, alignment = expression_and_counts(synthetic_adata, subset, thin_to=50, seed=0)
    assert counts.shape == (synthetic_adata.n_obs, 3) and alignment.missing == ["MISSING"]
    assert counts[:, 1].nnz == 0 and counts.sum(axis=1).max() <= 50

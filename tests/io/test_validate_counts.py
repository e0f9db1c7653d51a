"""omib_st.io.validate.counts: raw, finite, non-negative counts of a plausible depth."""

import numpy as np
import pytest
from scipy import sparse

from omib_st.io.validate import counts as counts_checks
from omib_st.io.validate.counts import MAX_SPOT_COUNTS, expression_problems


def _problems(adata, layer=None, expect_counts=True):
    return list(expression_problems(adata, layer, expect_counts))


def test_raw_counts_pass(synthetic_adata):
    assert _problems(synthetic_adata) == []
    synthetic_adata.X = synthetic_adata.X.toarray()  # dense counts too
    assert _problems(synthetic_adata) == []


def test_counts_problems(synthetic_adata):
    counts = synthetic_adata.X.copy()
    synthetic_adata.X.data[0] = -1
    (message,) = _problems(synthetic_adata)
    assert message.startswith("X has negative values (min -1); pass raw counts")
    synthetic_adata.X = counts.copy()
    synthetic_adata.X.data[0] = np.inf
    assert _problems(synthetic_adata)[0].startswith("X has 1 non-finite value")
    synthetic_adata.X = sparse.csr_matrix(synthetic_adata.shape, dtype=np.float32)
    assert _problems(synthetic_adata)[0].startswith("X is all zero")


def test_normalised_counts_are_refused_unless_allowed(synthetic_adata):
    counts = synthetic_adata.X.copy()
    synthetic_adata.layers["counts"] = counts.copy()
    synthetic_adata.X.data = np.log1p(synthetic_adata.X.data)
    (message,) = _problems(synthetic_adata)
    assert message.startswith("X looks log-normalised (non-integer values, max ")
    assert message.endswith("; pass raw counts in X or name a layer with --layer.")
    assert _problems(synthetic_adata, layer="counts") == []
    assert _problems(synthetic_adata, expect_counts=False) == []
    synthetic_adata.X = counts * 33.3  # non-integer, but far above log scale
    assert _problems(synthetic_adata)[0].startswith("X looks normalised (non-integer values")


def test_missing_layer_and_non_numeric_values(synthetic_adata):
    (message,) = _problems(synthetic_adata, layer="raw")
    assert message.startswith('layers["raw"] not found (layers: none)')
    synthetic_adata.X = np.full(synthetic_adata.shape, "a", dtype=object)
    (message,) = _problems(synthetic_adata)
    assert message.startswith("X has non-numeric dtype object")


def test_absurd_depth_names_the_deepest_spot(synthetic_adata):
    counts = synthetic_adata.X.tolil()
    counts[5, 0] = 1e9
    counts[7, :] = 0
    counts[7, 0] = MAX_SPOT_COUNTS  # exactly at the limit: plausible
    synthetic_adata.X = counts.tocsr()
    (message,) = _problems(synthetic_adata)
    name = synthetic_adata.obs_names[5]
    assert message.startswith(f"X has 1 spot(s) with absurd counts (e.g. '{name}': 1e+09 UMIs")
    assert _problems(synthetic_adata, expect_counts=False) == []


def test_scanning_in_chunks_finds_the_same_problems(synthetic_adata, monkeypatch):
    synthetic_adata.X.data[[6, 13]] = [np.nan, -3]
    whole = _problems(synthetic_adata)
    monkeypatch.setattr(counts_checks, "_CHUNK", 7)  # many chunks, problems at their ends
    assert _problems(synthetic_adata) == whole
    assert "1 non-finite" in whole[0] and "min -3" in whole[1]


@pytest.mark.parametrize("dtype", [np.int32, np.uint16, np.float64])
def test_integer_and_float_dtypes(synthetic_adata, dtype):
    synthetic_adata.X = synthetic_adata.X.astype(dtype)
    assert _problems(synthetic_adata) == []

"""omib_st.io.library: which library of uns["spatial"] a call means."""

import numpy as np
import pytest

from omib_st.errors import OmibError
from omib_st.io import get_library_id


def test_library_id(synthetic_adata):
    assert get_library_id(synthetic_adata) == "synthetic"
    with pytest.raises(
        OmibError, match=r"library 'x' is not in uns\[\"spatial\"\] \(found synthetic\)"
    ):
        get_library_id(synthetic_adata, "x")
    synthetic_adata.uns["spatial"]["other"] = synthetic_adata.uns["spatial"]["synthetic"]
    with pytest.raises(
        OmibError, match=r"several libraries \(synthetic, other\) and none was named"
    ):
        get_library_id(synthetic_adata)
    assert get_library_id(synthetic_adata, "other") == "other"


def test_missing_or_malformed_spatial(synthetic_adata):
    synthetic_adata.uns["spatial"] = np.zeros(2)
    with pytest.raises(OmibError, match=r'uns\["spatial"\] is a ndarray, not a mapping'):
        get_library_id(synthetic_adata)
    synthetic_adata.uns["spatial"] = {}
    with pytest.raises(OmibError, match=r'uns\["spatial"\] is missing or empty'):
        get_library_id(synthetic_adata)

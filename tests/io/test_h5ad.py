import numpy as np
import pytest

from omib_st.errors import OmibError
from omib_st.io import read_h5ad, write_h5ad


def test_round_trip(synthetic_adata, tmp_path):
    path = tmp_path / "sample.h5ad"
    assert write_h5ad(synthetic_adata, path) == path
    back = read_h5ad(path)
    assert back.shape == synthetic_adata.shape
    np.testing.assert_array_equal(back.X.toarray(), synthetic_adata.X.toarray())
    lib = next(iter(back.uns["spatial"]))
    np.testing.assert_array_equal(
        back.uns["spatial"][lib]["images"]["hires"],
        synthetic_adata.uns["spatial"][lib]["images"]["hires"],
    )
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_refuses_existing_and_source(synthetic_adata, tmp_path):
    path = tmp_path / "sample.h5ad"
    write_h5ad(synthetic_adata, path)
    with pytest.raises(OmibError, match="already exists; choose another path or pass --force"):
        write_h5ad(synthetic_adata, path)
    write_h5ad(synthetic_adata, path, force=True)
    back = read_h5ad(path)
    with pytest.raises(OmibError, match="refusing to overwrite .* the data was read from it"):
        write_h5ad(back, path, force=True)
    write_h5ad(back, tmp_path / "out.h5ad")


def test_read_errors(synthetic_adata, tmp_path):
    with pytest.raises(OmibError, match="does not exist"):
        read_h5ad(tmp_path / "missing.h5ad")
    with pytest.raises(OmibError, match="is a folder"):
        read_h5ad(tmp_path)
    text = tmp_path / "counts.h5ad"
    text.write_text("barcode,gene\n")
    with pytest.raises(OmibError, match=r"is not an h5ad \(HDF5\) file"):
        read_h5ad(text)
    good = tmp_path / "good.h5ad"
    write_h5ad(synthetic_adata, good)
    truncated = tmp_path / "truncated.h5ad"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(OmibError, match="could not read .* as h5ad") as err:
        read_h5ad(truncated)
    assert "\n" not in str(err.value)


def test_writes_pandas_string_arrays(synthetic_adata, tmp_path):
    """pandas 3 makes string arrays the default dtype, which anndata refuses to write unless
    asked; the setting is restored afterwards."""
    import anndata
    import pandas as pd

    adata = synthetic_adata.copy()
    adata.obs_names = pd.Index(adata.obs_names, dtype="string")
    adata.obs["region"] = pd.array(["a"] * adata.n_obs, dtype="string")
    write_h5ad(adata, tmp_path / "s.h5ad")
    back = read_h5ad(tmp_path / "s.h5ad")
    assert list(back.obs_names) == list(adata.obs_names) and set(back.obs["region"]) == {"a"}
    assert anndata.settings.allow_write_nullable_strings is False

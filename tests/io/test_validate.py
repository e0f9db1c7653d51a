import numpy as np
import pytest
from scipy import sparse

from omib_st.errors import OmibError
from omib_st.io import find_problems, get_coords, get_library_id, validate


def _raises(adata, match, **kwargs):
    with pytest.raises(OmibError, match=match) as err:
        validate(adata, **kwargs)
    message = str(err.value)
    assert "\n" not in message and message.endswith(".")
    return message


def test_valid_sample_passes(synthetic_adata):
    validate(synthetic_adata, require_image=True)
    assert find_problems(synthetic_adata, require_image=True) == []


def test_missing_spatial(synthetic_adata):
    del synthetic_adata.obsm["spatial"]
    _raises(synthetic_adata, r'obsm\["spatial"\] is missing; store full-resolution pixel')
    validate(synthetic_adata, require_spatial=False)


def test_bad_coordinates(synthetic_adata):
    coords = synthetic_adata.obsm["spatial"].copy()
    coords[3, 1] = np.nan
    synthetic_adata.obsm["spatial"] = coords
    message = _raises(synthetic_adata, r"NaN or infinite coordinates for 1 spot")
    assert synthetic_adata.obs_names[3] in message
    synthetic_adata.obsm["spatial"] = np.zeros((synthetic_adata.n_obs, 3))
    _raises(synthetic_adata, r"has shape \(320, 3\); expected \(320, 2\)")


def test_counts_problems(synthetic_adata):
    counts = synthetic_adata.X.copy()
    synthetic_adata.X.data[0] = -1
    _raises(synthetic_adata, r"X has negative values \(min -1\); pass raw counts")
    synthetic_adata.X = counts.copy()
    synthetic_adata.X.data[0] = np.inf
    _raises(synthetic_adata, r"X has 1 non-finite value")
    synthetic_adata.X = sparse.csr_matrix(synthetic_adata.shape, dtype=np.float32)
    _raises(synthetic_adata, "X is all zero")
    synthetic_adata.X = counts.copy()
    synthetic_adata.layers["counts"] = counts.copy()
    synthetic_adata.X.data = np.log1p(synthetic_adata.X.data)
    message = _raises(synthetic_adata, r"X looks log-normalised \(non-integer values, max ")
    assert message.endswith("; pass raw counts in X or name a layer with --layer.")
    validate(synthetic_adata, layer="counts")
    validate(synthetic_adata, expect_counts=False)
    _raises(synthetic_adata, r'layers\["raw"\] not found \(layers: counts\)', layer="raw")


def test_duplicated_names(synthetic_adata):
    names = synthetic_adata.obs_names.tolist()
    names[1] = names[0]
    synthetic_adata.obs_names = names
    _raises(synthetic_adata, r"obs_names has 1 duplicated spot name\(s\) \(e.g. 'r000c000'\)")


def test_empty(synthetic_adata):
    _raises(synthetic_adata[:0].copy(), r"the AnnData is empty \(0 spots × 120 genes\)")


def test_image_problems(synthetic_adata):
    lib = get_library_id(synthetic_adata)
    entry = synthetic_adata.uns["spatial"][lib]
    validate(synthetic_adata)  # no image needed unless asked

    del entry["scalefactors"]["tissue_hires_scalef"]
    _raises(synthetic_adata, r'\["tissue_hires_scalef"\] is missing', require_image=True)
    entry["scalefactors"]["tissue_hires_scalef"] = 3.0
    _raises(synthetic_adata, r"= 3 is absurd \(must be in \(0, 1\]\)", require_image=True)
    entry["scalefactors"]["tissue_hires_scalef"] = 0.5
    message = _raises(synthetic_adata, r"spots fall outside", require_image=True)
    assert "tissue_hires_scalef" in message
    synthetic_adata.uns["spatial"] = {
        lib: {k: v for k, v in entry.items() if k != "images"} | {"images": {}}
    }
    _raises(synthetic_adata, r'\["images"\] is missing or empty', require_image=True)
    del synthetic_adata.uns["spatial"]
    _raises(synthetic_adata, r'uns\["spatial"\] is missing or empty', require_image=True)


def test_spot_diameter_required(synthetic_adata):
    lib = get_library_id(synthetic_adata)
    del synthetic_adata.uns["spatial"][lib]["scalefactors"]["spot_diameter_fullres"]
    _raises(synthetic_adata, r'\["spot_diameter_fullres"\] is missing', require_image=True)


def test_swapped_coordinates_hint(synthetic_adata):
    synthetic_adata.obsm["spatial"] = synthetic_adata.obsm["spatial"][:, ::-1].copy()
    _raises(synthetic_adata, r"spots fall outside .*x and y look swapped", require_image=True)


def test_find_problems_lists_all(synthetic_adata):
    synthetic_adata.X.data[0] = -5
    del synthetic_adata.obsm["spatial"]
    problems = find_problems(synthetic_adata, require_image=True)
    assert len(problems) == 2
    assert "negative" in problems[0] and 'obsm["spatial"]' in problems[1]


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
    _raises(synthetic_adata, "several libraries", require_image=True)
    validate(synthetic_adata, require_image=True, library_id="other")


def test_get_coords(synthetic_adata):
    coords = get_coords(synthetic_adata)
    assert coords.dtype == np.float64 and coords.shape == (synthetic_adata.n_obs, 2)
    del synthetic_adata.obsm["spatial"]
    with pytest.raises(OmibError, match=r'obsm\["spatial"\] is missing'):
        get_coords(synthetic_adata)

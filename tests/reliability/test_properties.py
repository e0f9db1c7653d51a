"""Property-based tests: readers, the validator and the patch cropper on random inputs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse

from omib_st.errors import OmibError
from omib_st.io import find_problems, read_h5ad, validate, write_h5ad
from omib_st.pp import PatchExtractor, crop_resize

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.: ",
               min_size=1, max_size=8)  # fmt: skip
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=32)


# ---------------------------------------------------------------------------------- h5ad round trip


@st.composite
def small_anndata(draw) -> AnnData:
    n_obs, n_vars = draw(st.integers(0, 6)), draw(st.integers(0, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
    x = draw(hnp.arrays(dtype, (n_obs, n_vars), elements=st.integers(0, 1000)))
    if draw(st.booleans()):
        x = sparse.csr_matrix(x)
    obs_names = draw(st.lists(NAME, min_size=n_obs, max_size=n_obs, unique=True))
    var_names = draw(st.lists(NAME, min_size=n_vars, max_size=n_vars, unique=True))
    adata = AnnData(x, obs=pd.DataFrame(index=obs_names), var=pd.DataFrame(index=var_names))
    adata.obs["score"] = draw(hnp.arrays(np.float32, n_obs, elements=ANY_FLOAT))
    adata.obs["label"] = pd.Categorical(
        draw(st.lists(st.sampled_from(["normal", "tumour"]), min_size=n_obs, max_size=n_obs))
    )
    adata.obs["flag"] = draw(hnp.arrays(np.bool_, n_obs))
    adata.obsm["spatial"] = draw(hnp.arrays(np.float64, (n_obs, 2), elements=ANY_FLOAT))
    adata.uns["params"] = draw(
        st.dictionaries(NAME, st.one_of(st.integers(-5, 5), st.floats(width=32), NAME), max_size=3)
    )
    return adata


@SETTINGS
@given(adata=small_anndata())
def test_h5ad_round_trip(adata):
    """write_h5ad then read_h5ad gives the same data; or it raises OmibError/ValueError and
    leaves no file at all."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.h5ad"
        try:
            write_h5ad(adata, path)
        except (OmibError, ValueError, TypeError):  # e.g. keys HDF5 cannot store: nothing written
            assert os.listdir(folder) == []
            return
        assert os.listdir(folder) == ["x.h5ad"]
        back = read_h5ad(path)
    assert back.shape == adata.shape
    assert list(back.obs_names) == list(adata.obs_names)
    assert list(back.var_names) == list(adata.var_names)
    x = adata.X.toarray() if sparse.issparse(adata.X) else adata.X
    y = back.X.toarray() if sparse.issparse(back.X) else back.X
    np.testing.assert_array_equal(y, x)
    pd.testing.assert_frame_equal(back.obs, adata.obs)
    np.testing.assert_array_equal(back.obsm["spatial"], adata.obsm["spatial"])
    assert back.uns["params"].keys() == adata.uns["params"].keys()


# ---------------------------------------------------------------------------------- validator

SCALE_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.none(), NAME
)


@st.composite
def messy_anndata(draw) -> AnnData:
    """AnnData with anything in the slots omib-st reads: shapes, dtypes, values and structure."""
    n_obs, n_vars = draw(st.integers(0, 5)), draw(st.integers(0, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]))
    elements = None if dtype is np.bool_ else (
        ANY_FLOAT if np.issubdtype(dtype, np.floating) else st.integers(0, 200)
    )  # fmt: skip
    x = draw(hnp.arrays(dtype, (n_obs, n_vars), elements=elements))
    if draw(st.booleans()):
        x = sparse.csr_matrix(x)
    names = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), unique=draw(st.booleans()))
    obs = draw(names.filter(lambda v: len(v) >= n_obs))[:n_obs] if n_obs else []
    var = draw(names.filter(lambda v: len(v) >= n_vars))[:n_vars] if n_vars else []
    adata = AnnData(x)
    adata.obs_names, adata.var_names = obs or adata.obs_names, var or adata.var_names
    if draw(st.booleans()):
        adata.layers["counts"] = x
    spatial = draw(st.one_of(
        st.none(),
        hnp.arrays(st.sampled_from([np.float64, np.int64, np.float32]),
                   st.tuples(st.just(n_obs), st.integers(0, 3)), elements=st.integers(-5, 500)),
        hnp.arrays(np.float64, (n_obs, 2), elements=ANY_FLOAT),
        hnp.arrays(np.float64, (n_obs, 2), elements=st.floats(-50, 500)),
    ))  # fmt: skip
    if spatial is not None:
        adata.obsm["spatial"] = spatial
    if draw(st.booleans()):
        images = draw(st.dictionaries(
            st.sampled_from(["hires", "lowres", "other"]),
            hnp.arrays(st.sampled_from([np.uint8, np.float32]),
                       hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6)),
            max_size=2,
        ))  # fmt: skip
        scalefactors = draw(st.dictionaries(
            st.sampled_from(["tissue_hires_scalef", "tissue_lowres_scalef", "spot_diameter_fullres"]),
            SCALE_VALUE, max_size=3,
        ))  # fmt: skip
        entry = {"images": images, "scalefactors": scalefactors}
        entry = draw(st.sampled_from([entry, {}, {"images": None, "scalefactors": None}]))
        adata.uns["spatial"] = {draw(st.sampled_from(["lib", "lib2"])): entry}
    return adata


@SETTINGS
@given(
    adata=messy_anndata(),
    layer=st.sampled_from([None, "counts", "missing"]),
    require_image=st.booleans(),
    library_id=st.sampled_from([None, "lib", "nope"]),
    expect_counts=st.booleans(),
)
def test_validator_reports_never_crashes(adata, layer, require_image, library_id, expect_counts):
    """find_problems returns one-line messages and never raises; validate raises OmibError (with
    the first message) exactly when there is a problem, and nothing else."""
    kwargs = dict(layer=layer, require_image=require_image, library_id=library_id,
                  expect_counts=expect_counts)  # fmt: skip
    problems = find_problems(adata, **kwargs)
    assert isinstance(problems, list)
    assert all(isinstance(p, str) and "\n" not in p and p.endswith(".") for p in problems)
    if problems:
        with pytest.raises(OmibError) as err:
            validate(adata, **kwargs)
        assert str(err.value) == problems[0]
    else:
        validate(adata, **kwargs)


# ---------------------------------------------------------------------------------- patch cropper


@st.composite
def image_and_centres(draw):
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    image = draw(hnp.arrays(np.uint8, (height, width, 3)))
    border = st.sampled_from([0.0, -0.5, width - 1.0, width - 0.5, float(width), -1e-9])
    x = st.one_of(border, st.floats(-3.0 * width, 4.0 * width))
    y = st.one_of(
        st.sampled_from([0.0, -0.5, height - 1.0, height - 0.5, float(height)]),
        st.floats(-3.0 * height, 4.0 * height),
    )
    centres = draw(st.lists(st.tuples(x, y), min_size=0, max_size=6))
    return image, np.array(centres, dtype=np.float64).reshape(-1, 2)


SIDE = st.one_of(st.floats(1e-3, 1.0), st.floats(1.0, 200.0), st.sampled_from([1e6, 1e12]))


@SETTINGS
@given(data=image_and_centres(), side=SIDE, size=st.integers(1, 12))
def test_crop_resize_shapes_and_range(data, side, size):
    """Any crop, inside, across or outside the border, tiny or huge: B×3×size×size uint8; a crop
    too large to cut is a documented OmibError, never a crash or a memory blow-up."""
    image, centres = data
    try:
        patches = crop_resize(image, centres, side, size)
    except OmibError as err:
        assert side > 1000 and "too large" in str(err)
        return
    assert patches.shape == (len(centres), 3, size, size) and patches.dtype == np.uint8
    far = (np.abs(centres - [image.shape[1] / 2, image.shape[0] / 2]) > side / 2 + 2 * max(image.shape) + 2).any(axis=1)  # fmt: skip
    assert (patches[far] == 255).all()  # entirely outside: white glass


@SETTINGS
@given(
    data=image_and_centres(),
    spot_px=st.one_of(st.floats(1e-3, 2.0), st.floats(2.0, 100.0), st.sampled_from([1e5, 1e9])),
    scale=st.floats(0.1, 4.0),
    size=st.integers(1, 12),
)
def test_patch_extractor_shapes_or_documented_error(data, spot_px, scale, size):
    image, centres = data
    assume(len(centres))
    try:
        extractor = PatchExtractor(image, centres, spot_px=spot_px, size=size, scale=scale)
    except OmibError as err:
        assert "fall outside" in str(err) or "are larger than the image" in str(err)
        return
    patches = extractor[np.arange(len(centres))]
    assert patches.shape == (len(centres), 3, size, size) and patches.dtype == np.uint8
    assert extractor[0].shape == (3, size, size)


def test_crop_resize_refuses_non_finite_input():
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    with pytest.raises(OmibError, match="NaN or infinite"):
        crop_resize(image, np.array([[np.nan, 1.0]]), 4.0, 4)
    with pytest.raises(OmibError, match="must be a positive"):
        crop_resize(image, np.array([[1.0, 1.0]]), float("nan"), 4)

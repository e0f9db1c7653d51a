import time

import numpy as np
import pandas as pd
import pytest

from omib_st.datasets import synthetic_visium
from omib_st.errors import OmibError
from omib_st.io import validate
from omib_st.pp import PatchExtractor, normalize_expression, spatial_graph


@pytest.fixture(scope="module")
def section():
    return synthetic_visium(n_rows=24, n_cols=30, seed=3)


def test_layout_is_valid(section):
    validate(section, require_image=True)
    entry = section.uns["spatial"]["synthetic"]
    hires, lowres = entry["images"]["hires"], entry["images"]["lowres"]
    assert hires.dtype == np.uint8 and hires.ndim == 3 and max(hires.shape) <= 2000
    assert max(lowres.shape) == 600
    sf = entry["scalefactors"]
    assert sf["spot_diameter_fullres"] == pytest.approx(55 * 3.6)
    assert sf["tissue_hires_scalef"] == pytest.approx(0.35 / 3.6)
    assert sf["tissue_lowres_scalef"] == pytest.approx(
        sf["tissue_hires_scalef"] * 600 / max(hires.shape)
    )
    assert np.all(section.X.data == np.round(section.X.data)) and section.X.format == "csr"
    columns = {"in_tissue", "array_row", "array_col", "domain", "lesion", "is_anomaly"}
    assert set(section.obs.columns) == columns
    assert section.obs["domain"].nunique() >= 2


def test_visium_hex_lattice(section):
    rows, cols = section.obs["array_row"].to_numpy(), section.obs["array_col"].to_numpy()
    assert (cols % 2 == rows % 2).all()  # odd rows are offset, columns step by 2
    xy = section.obsm["spatial"]
    same_row = rows[1:] == rows[:-1]
    np.testing.assert_allclose(np.diff(xy[:, 0])[same_row], 360.0)  # 100 µm at 3.6 px/µm
    degree = np.diff(spatial_graph(xy).indptr)
    assert np.bincount(degree).argmax() == 6


def test_deterministic():
    a, b = (
        synthetic_visium(n_rows=8, n_cols=10, seed=5),
        synthetic_visium(n_rows=8, n_cols=10, seed=5),
    )
    c = synthetic_visium(n_rows=8, n_cols=10, seed=6)
    assert (a.X != b.X).nnz == 0 and (a.X != c.X).nnz > 0
    image = a.uns["spatial"]["synthetic"]["images"]["hires"]
    np.testing.assert_array_equal(image, b.uns["spatial"]["synthetic"]["images"]["hires"])
    pd.testing.assert_frame_equal(a.obs, b.obs)


def test_lesion_kinds(section):
    lesion = section.obs["lesion"]
    assert list(lesion.cat.categories) == ["none", "both", "expression", "image"]
    counts = lesion.value_counts()
    assert (counts[["both", "expression", "image"]] >= 10).all()
    np.testing.assert_array_equal(section.obs["is_anomaly"], lesion != "none")
    normal = synthetic_visium(n_rows=8, n_cols=10, lesions=())
    assert not normal.obs["is_anomaly"].any()


def test_each_lesion_changes_its_modality(section):
    lesion = section.obs["lesion"].to_numpy()
    genes = section.var_names[section.var["programme"] == "lesion"]
    expression, _ = normalize_expression(section, genes)
    score = np.asarray(expression.mean(axis=1)).ravel()
    mean = {kind: score[lesion == kind].mean() for kind in ("none", "both", "expression", "image")}
    assert min(mean["both"], mean["expression"]) > max(mean["none"], mean["image"]) + 1.0

    patches = PatchExtractor.from_adata(section, size=16)
    brightness = patches[np.arange(section.n_obs)].mean(axis=(1, 2, 3))
    mean = {k: brightness[lesion == k].mean() for k in ("none", "both", "expression", "image")}
    assert max(mean["both"], mean["image"]) < min(mean["none"], mean["expression"]) - 30


def test_fast():
    start = time.process_time()  # CPU time: not inflated by other processes on the machine
    synthetic_visium()
    assert time.process_time() - start < 2.0


def test_bad_arguments():
    with pytest.raises(OmibError, match="unknown lesion kind\\(s\\) tumour"):
        synthetic_visium(lesions=("tumour",))
    with pytest.raises(OmibError, match="too small for its lesions"):
        synthetic_visium(n_rows=3, n_cols=3)
    with pytest.raises(
        OmibError, match=r"n_rows=1, n_cols=50, .*library_size=3000.0; use at least"
    ):
        synthetic_visium(n_rows=1)
    with pytest.raises(OmibError, match=r"image_scale=0, "):
        synthetic_visium(image_scale=0)


def test_spot_spacing_and_diameter_make_hd_sized_sections():
    section = synthetic_visium(n_rows=30, n_cols=40, spot_spacing=8.0, spot_diameter=8.0)
    xy = section.obsm["spatial"]
    rows = section.obs["array_row"].to_numpy()
    same_row = rows[1:] == rows[:-1]
    np.testing.assert_allclose(np.diff(xy[:, 0])[same_row], 8 * 3.6)
    entry = section.uns["spatial"]["synthetic"]
    assert entry["scalefactors"]["spot_diameter_fullres"] == pytest.approx(8 * 3.6)
    assert max(entry["images"]["hires"].shape) < 400  # 0.3 mm of bins + margins at 0.35 px/µm
    assert section.obs["lesion"].value_counts()[["both", "expression", "image"]].min() >= 10
    validate(section, require_image=True)

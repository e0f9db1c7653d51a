import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import sparse

from omib_st.errors import OmibError
from omib_st.io import read_her2st, read_st, validate
from omib_st.pp import PatchExtractor


def _write_section(root, name="S1"):
    """A tiny legacy-ST section in the her2st layout; returns the spot table written."""
    rng = np.random.default_rng(0)
    for folder in ("counts", "spots", "images", "labels"):
        (root / folder).mkdir(exist_ok=True)
    x, y = np.meshgrid(np.arange(2, 8), np.arange(3, 8))
    x, y = x.ravel(), y.ravel()
    spots = pd.DataFrame(
        {
            "x": x,
            "y": y,
            "new_x": x + rng.normal(0, 0.02, x.size),
            "new_y": y + rng.normal(0, 0.02, x.size),
            "pixel_x": 100 + 272.0 * x + rng.normal(0, 3, x.size),
            "pixel_y": 60 + 272.0 * y + rng.normal(0, 3, x.size),
            "selected": 1,
        }
    )
    spots.loc[[0, 1], "selected"] = 0
    spots.to_csv(root / "spots" / f"{name}_selection.tsv", sep="\t", index=False)
    keys = [f"{a}x{b}" for a, b in zip(x, y)]
    genes = ["GAPDH", "ERBB2", "KRT19", "ACTB"]
    counts = pd.DataFrame(rng.poisson(3, (x.size, 4)), index=keys, columns=genes)
    counts.drop(index=keys[5]).to_csv(root / "counts" / f"{name}.tsv.gz", sep="\t")
    labels = pd.DataFrame(
        {
            "x": spots["new_x"].to_numpy(),
            "y": spots["new_y"].to_numpy(),
            "pixel_x": spots["pixel_x"].to_numpy() / 3,  # another image frame, as in her2st
            "pixel_y": spots["pixel_y"].to_numpy() / 3,
            "label": ["invasive cancer", "adipose tissue", "connective tissue"] * 10,
        },
        index=[
            f"{round(a)}x{round(b)}" for a, b in zip(spots["pixel_x"] / 3, spots["pixel_y"] / 3)
        ],
    )
    labels = labels.drop(index=labels.index[7])  # one spot stays unlabelled
    labels.loc["NAxNA"] = [np.nan, np.nan, np.nan, np.nan, "immune infiltrate"]
    labels.to_csv(root / "labels" / f"{name}_labeled_coordinates.tsv", sep="\t")
    image = np.full((2100, 2400, 3), 240, dtype=np.uint8)
    Image.fromarray(image).save(root / "images" / f"{name}.jpg", quality=90)
    return spots, counts, labels


def test_read_her2st_layout(tmp_path):
    spots, counts, _ = _write_section(tmp_path)
    with pytest.warns(UserWarning, match="1 selected spot.* have no row in S1.tsv.gz"):
        adata = read_her2st(tmp_path, "S1")

    kept = spots[(spots["selected"] == 1)].drop(index=5)
    assert adata.n_obs == len(kept) == 27
    assert list(adata.obs_names[:2]) == ["S1_4x3", "S1_5x3"]
    np.testing.assert_array_equal(adata.obs["array_col"], kept["x"])
    np.testing.assert_array_equal(adata.obs["array_row"], kept["y"])
    np.testing.assert_allclose(adata.obsm["spatial"], kept[["pixel_x", "pixel_y"]].to_numpy())
    assert sparse.isspmatrix_csr(adata.X)
    keys = [f"{a}x{b}" for a, b in zip(kept["x"], kept["y"])]
    np.testing.assert_array_equal(adata.X.toarray(), counts.loc[keys].to_numpy())
    assert list(adata.var_names) == ["GAPDH", "ERBB2", "KRT19", "ACTB"]

    entry = adata.uns["spatial"]["S1"]
    sf = entry["scalefactors"]
    assert sf["spot_diameter_fullres"] == pytest.approx(136, rel=0.03)
    assert sf["tissue_hires_scalef"] == pytest.approx(2000 / 2400)
    assert entry["images"]["hires"].shape == (1750, 2000, 3)
    assert entry["images"]["hires"].dtype == np.uint8
    assert max(entry["images"]["lowres"].shape[:2]) == 600
    assert sf["tissue_lowres_scalef"] == pytest.approx(600 / 2400)
    assert entry["metadata"]["source_image_path"] == str((tmp_path / "images" / "S1.jpg").resolve())
    validate(adata, require_image=True)

    pathology = adata.obs["pathology"]
    assert isinstance(pathology.dtype, pd.CategoricalDtype)
    assert pathology["S1_4x3"] == "connective tissue"  # row 2 of the spot table
    assert pathology["S1_5x3"] == "invasive cancer"  # row 3
    assert pd.isna(pathology["S1_3x4"])  # row 7: its label row was removed
    assert "immune infiltrate" not in set(pathology.dropna())  # the NA-coordinate row


def test_read_her2st_without_image_and_labels(tmp_path):
    _write_section(tmp_path)
    (tmp_path / "images" / "S1.jpg").unlink()
    with pytest.warns(UserWarning):
        adata = read_her2st(tmp_path, "S1", labels=False)
    assert "pathology" not in adata.obs
    assert adata.uns["spatial"]["S1"]["images"] == {}
    with pytest.raises(OmibError, match=r'\["images"\] is missing or empty'):
        validate(adata, require_image=True)


def test_dropped_spots_are_reported_at_the_caller(tmp_path):
    _write_section(tmp_path)
    with pytest.warns(UserWarning, match=r"S1: 1 selected spot\(s\) .* dropped \(7x3\)") as caught:
        read_st(tmp_path / "counts" / "S1.tsv.gz", tmp_path / "spots" / "S1_selection.tsv")
    assert caught[0].filename == __file__


def test_read_st_errors(tmp_path):
    _write_section(tmp_path)
    with pytest.raises(OmibError, match="her2st section 'Z9' not found .*choose one of S1"):
        read_her2st(tmp_path, "Z9")
    bad = tmp_path / "bad.tsv"
    pd.DataFrame({"x": [1], "y": [1]}).to_csv(bad, sep="\t", index=False)
    with pytest.raises(OmibError, match="lacks column\\(s\\) pixel_x, pixel_y, selected"):
        read_st(tmp_path / "counts" / "S1.tsv.gz", bad)


@pytest.fixture(scope="module")
def b4(her2st_root):
    with pytest.warns(UserWarning, match="B4: 1 selected spot"):
        return read_her2st(her2st_root, "B4")


@pytest.mark.shared_data
def test_her2st_b4(b4, her2st_root):
    spots = pd.read_csv(her2st_root / "spots" / "B4_selection.tsv", sep="\t")
    assert (spots["selected"] == 1).sum() == 284
    # 284 spots are under tissue; spot 18x20 has no counts row in counts/B4.tsv.gz.
    assert b4.n_obs == 283 and "B4_18x20" not in b4.obs_names
    assert b4.var_names.is_unique and b4.n_vars > 15000
    assert np.all(b4.X.data == np.round(b4.X.data))
    entry = b4.uns["spatial"]["B4"]
    assert max(entry["images"]["hires"].shape[:2]) == 2000
    assert entry["scalefactors"]["spot_diameter_fullres"] == pytest.approx(136, rel=0.05)
    validate(b4, require_image=True)


@pytest.mark.shared_data
def test_her2st_b4_patches_on_tissue(b4):
    extractor = PatchExtractor.from_adata(b4, size=32)
    assert extractor.resolution == "fullres"  # hires spots are ~27 px, fullres ~136 px
    idx = np.arange(0, b4.n_obs, 10)
    on_tissue = extractor[idx].mean(axis=(1, 2, 3))
    far = PatchExtractor(
        extractor.image, np.array([[150.0, 150.0], [9000.0, 300.0]]), spot_px=extractor.spot_px
    )
    background = far[np.arange(2)].mean(axis=(1, 2, 3))
    assert background.min() > 200  # glass is nearly white
    assert np.median(on_tissue) < background.min() - 30
    # the hires crops agree with the full-resolution ones
    hires = PatchExtractor.from_adata(b4, size=32, resolution="hires")[idx].mean(axis=(1, 2, 3))
    assert np.corrcoef(hires, on_tissue)[0, 1] > 0.9


@pytest.mark.shared_data
def test_her2st_a1_labels(her2st_root):
    with pytest.warns(UserWarning, match="A1: 2 selected spot"):
        adata = read_her2st(her2st_root, "A1")
    assert "images" in adata.uns["spatial"]["A1"] and not adata.uns["spatial"]["A1"]["images"]
    labels = pd.read_csv(her2st_root / "labels" / "A1_labeled_coordinates.tsv", sep="\t")
    labels = labels.dropna(subset=["x", "y"])
    checked = 0
    for row in labels.sample(25, random_state=0).itertuples():
        name = f"A1_{round(row.x)}x{round(row.y)}"
        if name in adata.obs_names:
            assert adata.obs.loc[name, "pathology"] == row.label
            checked += 1
    assert checked >= 20
    assert adata.obs["pathology"].notna().sum() == adata.n_obs
    assert set(adata.obs["pathology"].cat.categories) >= {"invasive cancer", "adipose tissue"}

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import omib_st as om
from omib_st.cli import main
from omib_st.errors import OmibError
from omib_st.io import read_sample, read_visium_hd, validate, write_h5ad
from omib_st.pp import spatial_graph


def _tests_conftest():
    """tests/conftest.py by path: a plain ``import conftest`` finds tests/reliability/conftest.py
    when that folder is collected first (``pytest tests/reliability tests/io``)."""
    spec = importlib.util.spec_from_file_location(
        "_tests_conftest", Path(__file__).parents[1] / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


write_10x_h5 = _tests_conftest().write_10x_h5

N_SIDE, N_GENES, UM_PER_PX, ORIGIN = 16, 120, 0.5, 20.0  # 16 × 16 bins of 8 µm, 16 px wide


def _write_bins(binned: Path, bin_um: int, counts: np.ndarray, in_tissue: np.ndarray) -> dict:
    """One ``square_XXXum`` folder of a square ``counts`` grid (rows × cols × genes)."""
    folder = binned / f"square_{bin_um:03d}um"
    spatial = folder / "spatial"
    spatial.mkdir(parents=True)
    n_rows, n_cols, n_genes = counts.shape
    rows, cols = np.divmod(np.arange(n_rows * n_cols), n_cols)
    barcodes = [f"s_{bin_um:03d}um_{r:05d}_{c:05d}-1" for r, c in zip(rows, cols)]
    side = bin_um / UM_PER_PX
    positions = pd.DataFrame(
        {
            "barcode": barcodes,
            "in_tissue": in_tissue.ravel().astype(np.int32),
            "array_row": rows,
            "array_col": cols,
            "pxl_row_in_fullres": ORIGIN + side * (rows + 0.5),
            "pxl_col_in_fullres": ORIGIN + side * (cols + 0.5),
        }
    )
    positions.to_parquet(spatial / "tissue_positions.parquet", index=False)
    # Like Space Ranger, the filtered matrix holds the bins under tissue only.
    keep = positions["in_tissue"].to_numpy() == 1
    matrix = sparse.csr_matrix(counts.reshape(n_rows * n_cols, n_genes)[keep])
    names = [f"GENE{i}" for i in range(n_genes)]
    ids = [f"ENSG{i:011d}" for i in range(n_genes)]
    write_10x_h5(
        folder / "filtered_feature_bc_matrix.h5",
        matrix,
        np.array(barcodes)[keep],
        ids,
        names,
        library_id="hd_lib",
        chemistry="Visium HD v1",
        software="spaceranger-3.1.1",
    )
    hires = _write_spatial(spatial, bin_um, side)
    return {
        "folder": folder,
        "barcodes": np.array(barcodes)[keep],
        "counts": matrix,
        "spatial": positions[["pxl_col_in_fullres", "pxl_row_in_fullres"]].to_numpy()[keep],
        "array": positions[["array_row", "array_col"]].to_numpy()[keep],
        "hires_shape": hires.shape,
        "spot_diameter_fullres": side,
    }


def _write_spatial(spatial: Path, bin_um: int, side: float) -> np.ndarray:
    """Scale factors and hires / lowres images of a bin folder; returns the hires image."""
    from PIL import Image

    scalefactors = {
        "spot_diameter_fullres": side,
        "bin_size_um": float(bin_um),
        "microns_per_pixel": UM_PER_PX,
        "regist_target_img_scalef": 0.5,
        "tissue_lowres_scalef": 0.125,
        "fiducial_diameter_fullres": 4 * side,
        "tissue_hires_scalef": 0.5,
    }
    (spatial / "scalefactors_json.json").write_text(json.dumps(scalefactors))
    full = int(2 * ORIGIN + N_SIDE * 16)  # full-resolution image side in px
    rng = np.random.default_rng(bin_um)
    hires = rng.integers(0, 255, (full // 2, full // 2, 3), dtype=np.uint8)
    Image.fromarray(hires).save(spatial / "tissue_hires_image.png")
    Image.fromarray(hires[::4, ::4]).save(spatial / "tissue_lowres_image.png")
    return hires


@pytest.fixture(scope="module")
def hd_outs(tmp_path_factory) -> tuple[Path, dict]:
    """A Visium HD ``outs`` folder with 8 and 16 µm bins (16 µm bins sum 2 × 2 8 µm bins)."""
    outs = tmp_path_factory.mktemp("hd") / "outs"
    rng = np.random.default_rng(0)
    counts8 = rng.poisson(rng.gamma(2.0, 0.5, N_GENES), (N_SIDE, N_SIDE, N_GENES))
    counts16 = counts8.reshape(N_SIDE // 2, 2, N_SIDE // 2, 2, N_GENES).sum(axis=(1, 3))
    in8 = np.ones((N_SIDE, N_SIDE), dtype=bool)
    in8[:2] = False  # the top two bin rows lie off the tissue
    truth = {
        8: _write_bins(outs / "binned_outputs", 8, counts8, in8),
        16: _write_bins(outs / "binned_outputs", 16, counts16, in8[::2, ::2]),
    }
    return outs, truth


@pytest.mark.parametrize(("bin_um", "form"), [(8, "outs"), (16, "outs"), (8, "bins"), (16, "bins")])
def test_read_visium_hd_layout(hd_outs, bin_um, form):
    outs, truth = hd_outs
    truth = truth[bin_um]
    adata = read_visium_hd(outs, bin_um) if form == "outs" else read_visium_hd(truth["folder"])

    n_side = N_SIDE * 8 // bin_um
    assert adata.shape == (n_side * (n_side - 2 * 8 // bin_um), N_GENES)  # bins under tissue only
    assert list(adata.obs_names) == list(truth["barcodes"])
    assert list(adata.obs.columns) == ["in_tissue", "array_row", "array_col"]
    assert (adata.obs["in_tissue"] == 1).all()
    np.testing.assert_array_equal(adata.obs[["array_row", "array_col"]], truth["array"])
    assert adata.obsm["spatial"].dtype == np.float64  # x = pxl_col, y = pxl_row
    np.testing.assert_allclose(adata.obsm["spatial"], truth["spatial"])
    assert sparse.isspmatrix_csr(adata.X) and adata.X.dtype == np.float32
    assert (adata.X != truth["counts"]).nnz == 0

    entry = adata.uns["spatial"]["hd_lib"]
    assert entry["images"]["hires"].shape == truth["hires_shape"]
    scalefactors = entry["scalefactors"]
    assert scalefactors["bin_size_um"] == bin_um
    assert scalefactors["spot_diameter_fullres"] == bin_um / UM_PER_PX  # the bin side in pixels
    assert entry["metadata"]["chemistry_description"] == "Visium HD v1"
    validate(adata, require_image=True)
    # Bins are a square lattice: 4 neighbours each inside, fewer on the border.
    degree = np.diff(spatial_graph(adata.obsm["spatial"]).indptr)
    assert degree.max() == 4 and np.median(degree) == 4


def test_16um_bins_sum_8um_bins(hd_outs):
    outs, _ = hd_outs
    small, large = read_visium_hd(outs), read_visium_hd(outs, bin_size=16)
    assert small.uns["spatial"]["hd_lib"]["scalefactors"]["bin_size_um"] == 8  # the default
    assert small.X.sum() == large.X.sum()


def test_read_visium_hd_options(hd_outs, tmp_path):
    outs, _ = hd_outs
    source = tmp_path / "slide.btf"
    adata = read_visium_hd(outs, library_id="S1", load_images=False, source_image_path=source)
    assert adata.uns["spatial"]["S1"]["images"] == {}
    assert adata.uns["spatial"]["S1"]["metadata"]["source_image_path"] == str(source.resolve())


def test_read_sample_dispatches(hd_outs, make_spaceranger, synthetic_adata, tmp_path, capsys):
    outs, truth = hd_outs
    assert read_sample(outs).n_obs == len(truth[8]["barcodes"])
    assert read_sample(outs, bin_size=16).n_obs == len(truth[16]["barcodes"])
    assert read_sample(truth[16]["folder"]).n_obs == len(truth[16]["barcodes"])
    visium, _ = make_spaceranger()
    assert read_sample(visium).n_obs == 25
    write_h5ad(synthetic_adata, tmp_path / "s.h5ad")
    assert read_sample(tmp_path / "s.h5ad").n_obs == synthetic_adata.n_obs

    assert main(["info", str(outs)]) == 0
    out = capsys.readouterr().out
    assert f"spots: {len(truth[8]['barcodes'])}, genes: {N_GENES}" in out
    assert "no problems found" in out


def test_detect_scores_hd_bins(hd_outs, tiny_config):
    outs, _ = hd_outs
    adata = read_visium_hd(outs, 16)
    om.tl.detect(adata, reference=read_visium_hd(outs, 16), config=tiny_config)
    assert np.isfinite(adata.obs["omib_score"]).all() and adata.uns["omib"]["image_used"]


def _copy_outs(outs: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(outs, tmp_path / "outs"))


def test_read_visium_hd_errors(hd_outs, tmp_path):
    outs, _ = hd_outs
    with pytest.raises(OmibError, match="Visium HD folder .*nope does not exist"):
        read_visium_hd(tmp_path / "nope")
    with pytest.raises(OmibError, match="no binned_outputs/ folder in"):
        read_visium_hd(tmp_path)
    with pytest.raises(OmibError, match=r"no 2 µm bins .*\(bin sizes found: 8, 16\)"):
        read_visium_hd(outs, bin_size=2)
    with pytest.raises(OmibError, match="bin_size=16 was asked but .*square_008um holds the 8 µm"):
        read_visium_hd(outs / "binned_outputs" / "square_008um", bin_size=16)
    with pytest.raises(OmibError, match="bin_size=8.0 is not a bin size"):
        read_visium_hd(outs, bin_size=8.0)

    copy = _copy_outs(outs, tmp_path)
    spatial = copy / "binned_outputs" / "square_008um" / "spatial"
    parquet = spatial / "tissue_positions.parquet"
    pd.read_parquet(parquet).drop(columns="array_col").to_parquet(parquet)
    with pytest.raises(OmibError, match="tissue_positions.parquet lacks the column.s. array_col"):
        read_visium_hd(copy)
    parquet.write_text("not parquet")
    with pytest.raises(OmibError, match="could not read .*tissue_positions.parquet") as err:
        read_visium_hd(copy)
    assert "\n" not in str(err.value)
    parquet.unlink()
    with pytest.raises(OmibError, match="tissue_positions.parquet not found"):
        read_visium_hd(copy)
    (copy / "binned_outputs" / "square_016um" / "filtered_feature_bc_matrix.h5").unlink()
    with pytest.raises(OmibError, match="counts .*square_016um.filtered_feature_bc_matrix.h5 not"):
        read_visium_hd(copy, 16)

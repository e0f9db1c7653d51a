import numpy as np
import pytest
from scipy import sparse

from omib_st.errors import OmibError
from omib_st.io import read_visium, validate


@pytest.mark.parametrize(
    ("positions", "counts"), [("new", "h5"), ("old", "h5"), ("new", "mtx"), ("old", "mtx")]
)
def test_read_visium_layout(make_spaceranger, positions, counts):
    outs, truth = make_spaceranger(positions=positions, counts=counts)
    adata = read_visium(outs)

    keep = truth["in_tissue"]
    assert list(adata.obs_names) == [b for b, k in zip(truth["barcodes"], keep) if k]
    assert list(adata.obs.columns) == ["in_tissue", "array_row", "array_col"]
    assert (adata.obs["in_tissue"] == 1).all()
    np.testing.assert_array_equal(adata.obs["array_row"], truth["array_row"][keep])
    np.testing.assert_array_equal(adata.obs["array_col"], truth["array_col"][keep])
    # x = pxl_col, y = pxl_row, float full-resolution pixels
    assert adata.obsm["spatial"].dtype == np.float64
    np.testing.assert_allclose(adata.obsm["spatial"], truth["spatial"][keep])

    assert sparse.isspmatrix_csr(adata.X)
    np.testing.assert_array_equal(adata.X.toarray(), truth["counts"][keep].toarray())
    assert adata.var_names.is_unique
    assert list(adata.var_names[:2]) == ["GENE0", "GENE1"]
    assert adata.var_names[-1] != "GENE0"  # the duplicated symbol was made unique
    assert list(adata.var["gene_ids"]) == truth["ids"]

    library = "lib_h5" if counts == "h5" else "outs"
    entry = adata.uns["spatial"][library]
    hires = entry["images"]["hires"]
    assert hires.dtype == np.uint8 and hires.shape == (500, 450, 3)
    np.testing.assert_array_equal(hires, truth["hires"])
    assert entry["images"]["lowres"].shape == (167, 150, 3)
    assert entry["scalefactors"] == truth["scalefactors"]
    if counts == "h5":
        assert entry["metadata"]["software_version"] == "spaceranger-2.0.0"
    validate(adata, require_image=True)


def test_read_visium_options(make_spaceranger, tmp_path):
    outs, _ = make_spaceranger()
    source = tmp_path / "slide.tif"
    adata = read_visium(outs, library_id="S1", load_images=False, source_image_path=source)
    assert adata.uns["spatial"]["S1"]["images"] == {}
    assert adata.uns["spatial"]["S1"]["metadata"]["source_image_path"] == str(source.resolve())


def test_read_visium_errors(make_spaceranger, tmp_path):
    with pytest.raises(OmibError, match="does not exist"):
        read_visium(tmp_path / "nope")
    outs, _ = make_spaceranger()
    with pytest.raises(OmibError, match="counts .*raw.h5 not found"):
        read_visium(outs, counts_file="raw.h5")
    (outs / "spatial" / "tissue_positions.csv").unlink()
    with pytest.raises(OmibError, match="no tissue_positions.csv or tissue_positions_list.csv"):
        read_visium(outs)


def test_read_visium_not_an_h5(make_spaceranger):
    outs, _ = make_spaceranger()
    (outs / "filtered_feature_bc_matrix.h5").write_text("not hdf5")
    with pytest.raises(OmibError, match="could not read the counts") as err:
        read_visium(outs)
    assert "\n" not in str(err.value)

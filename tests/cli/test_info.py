import numpy as np

from omib_st.cli import main
from omib_st.io import write_h5ad


def test_info_h5ad(synthetic_adata, tmp_path, capsys):
    path = tmp_path / "sample.h5ad"
    write_h5ad(synthetic_adata, path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "spots: 320, genes: 120" in out
    assert "expression (X): raw counts (integers" in out
    assert "library synthetic: spot diameter 198.0 px at full resolution" in out
    assert "hires: " in out and "tissue_hires_scalef 0.09722" in out and "spot 19.2 px" in out
    assert "spatial graph (ring): mean degree" in out
    assert "no problems found" in out


def test_info_reports_problems_but_exits_0(synthetic_adata, tmp_path, capsys):
    synthetic_adata.X.data = np.log1p(synthetic_adata.X.data)
    del synthetic_adata.uns["spatial"]["synthetic"]["scalefactors"]["spot_diameter_fullres"]
    path = tmp_path / "logged.h5ad"
    write_h5ad(synthetic_adata, path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "expression (X): log-normalised" in out
    assert "2 problem(s):" in out
    assert "X looks log-normalised (non-integer values, max" in out
    assert 'spot_diameter_fullres"] is missing' in out


def test_info_space_ranger_folder(make_spaceranger, capsys):
    outs, _ = make_spaceranger(positions="old")
    assert main(["info", str(outs)]) == 0
    out = capsys.readouterr().out
    assert "spots: 25, genes: 12" in out and "lowres: 150×167 px" in out


def test_info_unreadable(tmp_path, capsys):
    bad = tmp_path / "broken.h5ad"
    bad.write_text("not an h5ad")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omib-st info: error: ") and "is not an h5ad (HDF5) file" in err
    assert main(["info", str(tmp_path / "missing.h5ad")]) == 2

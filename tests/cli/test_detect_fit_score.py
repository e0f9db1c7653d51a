import hashlib

import pytest
import scanpy as sc
import yaml

import omib_st as om
from omib_st.cli import main
from omib_st.config import to_dict


@pytest.fixture
def files(tmp_path, synthetic_adata, tiny_config):
    sample, reference, config = (
        tmp_path / "sample.h5ad",
        tmp_path / "ref.h5ad",
        tmp_path / "tiny.yaml",
    )
    om.io.write_h5ad(synthetic_adata, sample)
    ref = om.datasets.synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=())
    om.io.write_h5ad(ref, reference)
    config.write_text(yaml.safe_dump(to_dict(tiny_config)))
    return sample, reference, config


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_detect_with_reference_writes_scores_and_plot(files, tmp_path, capsys):
    sample, reference, config = files
    before = digest(sample)
    out, png = tmp_path / "out.h5ad", tmp_path / "out.png"
    code = main(
        [
            "detect",
            str(sample),
            "--reference",
            str(reference),
            "--config",
            str(config),
            "-o",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0 and digest(sample) == before
    scored = sc.read_h5ad(out)
    assert {"omib_score", "omib_anomaly"} <= set(scored.obs) and "X_omib" in scored.obsm
    assert png.stat().st_size > 10_000
    assert "spots scored" in capsys.readouterr().out
    # an existing output is refused without --force, and nothing is touched
    assert main(["detect", str(sample), "--reference", str(reference), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_fit_then_score_equals_detect_with_model(files, tmp_path):
    sample, reference, config = files
    model = tmp_path / "model"
    assert main(["fit", str(reference), "--out", str(model), "--config", str(config)]) == 0
    assert (model / "weights.pt").is_file() and (model / "config.yaml").is_file()
    assert main(["score", "--model", str(model), str(sample), "-o", str(tmp_path / "a.h5ad")]) == 0
    assert main(["detect", str(sample), "--model", str(model), "-o", str(tmp_path / "b.h5ad")]) == 0
    a, b = sc.read_h5ad(tmp_path / "a.h5ad"), sc.read_h5ad(tmp_path / "b.h5ad")
    assert (a.obs["omib_score"] == b.obs["omib_score"]).all()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["detect", "missing.h5ad"], "does not exist"),
        (["score", "--model", "nowhere", "x.h5ad"], "not an omib-st model folder"),
        (["detect", "SAMPLE", "--config", "CONFIG_BAD"], "unknown config key"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(files, tmp_path, capsys, argv, message):
    sample, _, _ = files
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochz: 3\n")
    argv = [str(sample) if a == "SAMPLE" else str(bad) if a == "CONFIG_BAD" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_output_may_not_be_the_input(files, capsys):
    sample, reference, _ = files
    assert (
        main(["detect", str(sample), "--reference", str(reference), "-o", str(sample), "--force"])
        == 2
    )
    assert "input" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--size", "20", "24"]) == 0
    out = capsys.readouterr().out
    assert "AUC against the planted lesions" in out
    assert (tmp_path / "demo.h5ad").is_file() and (tmp_path / "demo.png").is_file()

"""The supervised mode on the command line: fit --label-key / --positive, score, one-line errors."""

import pytest
import scanpy as sc
import yaml

import omib_st as om
from omib_st.cli import main
from omib_st.config import replace, to_dict


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, tiny_config):
    folder = tmp_path_factory.mktemp("supervised")
    reference = om.datasets.synthetic_visium(
        n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=("both", "expression")
    )
    reference.obs["pathology"] = reference.obs["lesion"].astype(str)
    reference.obs.loc[reference.obs_names[:5], "pathology"] = "undetermined"
    sample = om.datasets.synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=0)
    paths = {
        "ref": folder / "ref.h5ad",
        "sample": folder / "sample.h5ad",
        "config": folder / "c.yaml",
    }
    om.io.write_h5ad(reference, paths["ref"])
    om.io.write_h5ad(sample, paths["sample"])
    changes = {
        "train.max_epochs": 3,
        "train.lr": 2e-2,
        "train.batch_size": 64,
        "supervised.members": 2,
    }
    config = replace(tiny_config, **changes)
    paths["config"].write_text(yaml.safe_dump(to_dict(config)))
    return paths


def test_fit_with_labels_then_score(annotated, tmp_path, capsys):
    model, out = tmp_path / "model", tmp_path / "scored.h5ad"
    assert (
        main(
            [
                "fit",
                str(annotated["ref"]),
                "--out",
                str(model),
                "--config",
                str(annotated["config"]),
                "--no-image",
                "--label-key",
                "pathology",
                "--positive",
                "both",
                "expression",
                "--ignore",
                "undetermined",
            ]
        )
        == 0
    )
    assert "supervised, 2 module(s)" in capsys.readouterr().out
    assert main(["score", "--model", str(model), str(annotated["sample"]), "-o", str(out)]) == 0
    scored = sc.read_h5ad(out)
    assert scored.uns["omib"]["mode"] == "supervised"
    assert scored.obs["omib_score"].between(0, 1).all()
    threshold = scored.uns["omib"]["threshold"]
    assert (scored.obs["omib_anomaly"] == (scored.obs["omib_score"] > threshold)).all()


BOTH_KEYS = [
    "--label-key",
    "pathology",
    "--positive",
    "both",
    "--normal-key",
    "pathology",
    "--normal-values",
    "none",
]
ONE_CLASS_LEFT = [
    "--label-key",
    "pathology",
    "--positive",
    "both",
    "expression",
    "--ignore",
    "none",
    "undetermined",
]


@pytest.mark.parametrize(
    "command, labels, message",
    [
        ("fit", ["--label-key", "nope", "--positive", "both"], 'obs["nope"] not found'),
        ("fit", ["--label-key", "pathology", "--positive", "cancer"], "match no spot"),
        ("fit", ONE_CLASS_LEFT, "only one class"),
        ("fit", BOTH_KEYS, "--label-key and --normal-key"),
        ("fit", ["--label-key", "pathology"], "needs --positive"),
        ("detect", ["--label-key", "nope", "--positive", "both"], 'obs["nope"] not found'),
        ("detect", BOTH_KEYS, "--label-key and --normal-key"),
    ],
)
def test_bad_label_arguments_exit_2_in_one_line_and_write_nothing(
    annotated, tmp_path, capsys, command, labels, message
):
    out = tmp_path / ("model" if command == "fit" else "out.h5ad")
    if command == "fit":
        argv = ["fit", str(annotated["ref"]), "--out", str(out)]
    else:
        argv = [
            "detect",
            str(annotated["sample"]),
            "--reference",
            str(annotated["ref"]),
            "-o",
            str(out),
        ]
    code = main([*argv, "--config", str(annotated["config"]), "--no-image", *labels])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not out.exists() and list(tmp_path.iterdir()) == []

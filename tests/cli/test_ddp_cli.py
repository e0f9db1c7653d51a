"""``omib-st fit --devices 2 --strategy ddp`` on CPU: two processes train, process 0 writes the
model, and its scores on a planted-lesion section agree with the single-process model."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

import omib_st
from omib_st.config import replace, to_dict
from omib_st.datasets import synthetic_visium
from omib_st.io import write_h5ad
from omib_st.model import OmibDetector

PACKAGE_ROOT = str(Path(omib_st.__file__).resolve().parents[1])


@pytest.mark.slow
def test_ddp_fit_from_the_command_line_agrees_with_single_process(tmp_path, tiny_config):
    reference = synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=())
    target = synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=0)
    write_h5ad(reference, tmp_path / "ref.h5ad")
    settings = to_dict(replace(tiny_config, **{"train.batch_size": 64}))
    (tmp_path / "ddp.yaml").write_text(yaml.safe_dump(settings))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable,
        "-m",
        "omib_st",
        "fit",
        str(tmp_path / "ref.h5ad"),
        "--out",
        str(tmp_path / "model"),
        "--config",
        str(tmp_path / "ddp.yaml"),
        "--device",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--no-image",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote") == 1  # process 0 only

    ddp = OmibDetector.load(tmp_path / "model")
    single_config = replace(tiny_config, **{"train.batch_size": 128})
    single = OmibDetector(single_config).fit(reference, use_image=False)
    truth = target.obs["is_anomaly"].to_numpy()
    scores = {name: d.score(target).scores for name, d in (("ddp", ddp), ("single", single))}
    # Same global batch (2 × 64 vs 128), same data order; only the per-process noise draws
    # differ, so the scores agree up to that noise.
    assert spearmanr(scores["ddp"], scores["single"])[0] >= 0.95
    aucs = {name: roc_auc_score(truth, s) for name, s in scores.items()}
    assert abs(aucs["ddp"] - aucs["single"]) <= 0.02, aucs
    assert ddp.training["bound"]["beta"] > 0 and np.isfinite(scores["ddp"]).all()

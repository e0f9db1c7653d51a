import numpy as np
import pytest

from omib_st.benchmarks.lesions import lesion_aucs, run_models, summary_markdown
from omib_st.cli import main


def test_lesion_aucs_per_kind(synthetic_adata):
    truth = synthetic_adata.obs["is_anomaly"].to_numpy()
    only_expression = (synthetic_adata.obs["lesion"] == "expression").to_numpy().astype(float)
    aucs = lesion_aucs(synthetic_adata, only_expression)
    assert aucs["auc_expression"] == 1.0 and aucs["auc_image"] == 0.5
    assert 0.5 < aucs["auc"] < 1.0
    assert lesion_aucs(synthetic_adata, truth.astype(float))["auc"] == 1.0


@pytest.mark.benchmark
def test_models_compared_end_to_end(tiny_config, tmp_path):
    table = run_models(["fused", "image_only"], [0], n_rows=16, n_cols=30, config=tiny_config)
    assert list(table["model"]) == ["fused", "image_only"]
    assert list(table["modalities"]) == ["expression+image", "image+thumbnail"]
    assert np.isfinite(table[["auc", "fit_s", "score_s"]].to_numpy()).all()
    assert "| fused |" in summary_markdown(table)


def test_cli_writes_tables(tmp_path, monkeypatch):
    import omib_st.benchmarks.lesions as lesions

    fake = lesions.pd.DataFrame(
        [{"model": "fused", "modalities": "expression+image", "seed": 0, "auc": 0.9,
          "fit_s": 1.0, "score_s": 0.1}]
    )  # fmt: skip
    monkeypatch.setattr(lesions, "run_models", lambda *a, **k: fake)
    assert main(["benchmark", "lesions", "--seeds", "0", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "table.csv").is_file() and "0.900" in (tmp_path / "table.md").read_text()

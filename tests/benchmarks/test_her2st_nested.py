import numpy as np
import pandas as pd
import pytest

from omib_st.benchmarks.her2st.nested import reference_sets, select


def test_reference_sets_fit_each_patient_pair_once():
    runs = reference_sets(["A1", "B1", "C1", "C2"])
    assert (("B1", "C1", "C2"), ("A1",)) in runs  # outer fold of A1
    assert (("C1", "C2"), ("A1", "B1")) in runs  # inner folds A1 | B1 and B1 | A1
    assert len(runs) == 3 + 3  # one per patient, one per pair of patients
    assert all(not set(refs) & set(targets) for refs, targets in runs)


def _row(refs, target, smoothing, rule, auc, f1):
    return {"seed": 0, "references": refs, "target": target, "smoothing": smoothing,
            "threshold_rule": rule, "auc": auc, "f1_own": f1}  # fmt: skip


def test_selection_uses_the_inner_folds_only():
    """Outer A1: the choice is made on B1 and C1 scored by models trained without A1's patient
    (and without the inner target's); A1's own numbers never enter it."""
    rows = []
    for smoothing, inner_auc, outer_auc in ((0.0, 0.9, 0.5), (0.5, 0.6, 0.99)):
        for rule, f1 in (("q0.95", 0.4), ("mixture", 0.7)):
            rows += [_row("C1", "B1", smoothing, rule, inner_auc, f1),
                     _row("B1", "C1", smoothing, rule, inner_auc, f1),
                     _row("B1+C1", "A1", smoothing, rule, outer_auc, f1),
                     # a model that saw A1 scoring B1 must not count for outer A1
                     _row("A1+C1", "B1", smoothing, rule, 1 - inner_auc, f1)]  # fmt: skip
    chosen = select(pd.DataFrame(rows), ["A1", "B1", "C1"]).set_index("target")
    assert chosen.loc["A1", "smoothing"] == 0.0 and chosen.loc["A1", "auc"] == 0.5
    assert chosen.loc["A1", "threshold_rule"] == "mixture"
    assert chosen.loc["A1", "inner_auc"] == 0.9


def _labelled_section(seed: int):
    from omib_st.benchmarks.her2st.data import GROUP_KEY, label_groups
    from omib_st.datasets import synthetic_visium

    adata = synthetic_visium(n_rows=16, n_cols=20, n_genes=80, seed=seed)
    adata.obs["pathology"] = np.where(adata.obs["is_anomaly"], "invasive cancer", "breast glands")
    adata.obs[GROUP_KEY] = label_groups(adata.obs["pathology"])
    return adata


def test_fitted_models_are_kept_and_reused_by_a_rerun(tiny_config, tmp_path, monkeypatch):
    from omib_st.benchmarks.her2st.nested import run_models
    from omib_st.config import replace
    from omib_st.errors import OmibError
    from omib_st.model import OmibDetector

    sections = {name: _labelled_section(i) for i, name in enumerate(["A1", "B1"])}
    config = replace(tiny_config, **{"train.max_epochs": 1, "train.warmup_epochs": 1})
    grid, spots = run_models(sections, [0], config, log=None, models=tmp_path)
    assert len(list((tmp_path / "seed0").iterdir())) == 2  # one model per outer fold
    assert grid.fit_s.notna().all()

    def no_fit(*args, **kwargs):
        raise AssertionError("a kept model was fitted again")

    monkeypatch.setattr(OmibDetector, "fit", no_fit)
    again, spots_again = run_models(sections, [0], config, log=None, models=tmp_path)
    assert again.fit_s.isna().all()
    columns = ["references", "target", "smoothing", "threshold_rule", "auc", "f1_own"]
    pd.testing.assert_frame_equal(again[columns], grid[columns])
    assert np.allclose(spots_again.score, spots.score, atol=1e-5)
    with pytest.raises(OmibError, match="trained with other settings"):
        run_models(sections, [0], replace(config, **{"train.lr": 0.5}), log=None, models=tmp_path)


def test_every_section_of_a_held_out_patient_gets_spot_scores(tiny_config):
    """An outer fold holds every section of one patient: each gets the spot scores the maps
    need, from the outer model only (one row per spot and scoring choice)."""
    from omib_st.benchmarks.her2st.nested import SMOOTHING_GRID, THRESHOLD_GRID, run_models
    from omib_st.config import replace

    names = ["A1", "A2", "B1", "C1"]
    sections = {name: _labelled_section(i) for i, name in enumerate(names)}
    config = replace(tiny_config, **{"train.max_epochs": 1, "train.warmup_epochs": 1})
    _, spots = run_models(sections, [0], config, log=None)
    choices = len(SMOOTHING_GRID) * len(THRESHOLD_GRID)
    assert spots.groupby("target").size().to_dict() == {
        name: sections[name].n_obs * choices for name in names
    }

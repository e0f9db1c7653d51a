"""her2st leave-one-patient-out benchmark: discovery, label join, splits, metrics, runner, CLI,
workflow; a fake her2st folder in the documented formats, and one smoke run on the real data."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from omib_st.benchmarks.her2st import baselines as bl
from omib_st.benchmarks.her2st.data import (
    GROUP_KEY,
    discover_sections,
    evaluated,
    is_anomalous,
    load_section,
    load_sections,
    patient,
)
from omib_st.benchmarks.her2st.metrics import (
    InvertedScoreWarning,
    check_direction,
    evaluate,
    f1_at_true_fraction,
)
from omib_st.benchmarks.her2st.run import (
    COLUMNS,
    METHODS,
    make_config,
    protocol_methods,
    read_runs,
    run_benchmark,
    run_fold,
    summary_markdown,
    units,
    write_run,
)
from omib_st.benchmarks.her2st.splits import lopo_folds
from omib_st.cli import main
from omib_st.errors import OmibError

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflows" / "her2st" / "Snakefile"
N_GENES = 60
TUMOUR_GENES = slice(0, 8)


def _flat(mapping: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _write_section(root: Path, name: str, seed: int, *, labels: bool = True) -> pd.DataFrame:
    """A 10 × 10 legacy-ST section in the her2st layout, tumour in one corner; returns the truth.

    counts/<S>.tsv.gz (spots × genes, rows ``<x>x<y>``), spots/<S>_selection.tsv (x, y, new_x,
    new_y, pixel_x, pixel_y, selected) and labels/<S>_labeled_coordinates.tsv (Row.names index,
    jittered adjusted x, y, pixel_x, pixel_y in another frame, label; an NA row; one spot
    unlabelled).
    """
    rng = np.random.default_rng(seed)
    for folder in ("counts", "spots", "labels"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    x, y = np.meshgrid(np.arange(3, 13), np.arange(2, 12))
    x, y = x.ravel(), y.ravel()
    new_x, new_y = x + rng.normal(0, 0.05, x.size), y + rng.normal(0, 0.05, x.size)
    spots = pd.DataFrame({
        "x": x, "y": y, "new_x": new_x.round(3), "new_y": new_y.round(3),
        "pixel_x": 200.0 * new_x + 50, "pixel_y": 200.0 * new_y + 80, "selected": 1,
    })  # fmt: skip
    spots.loc[0, "selected"] = 0  # one spot outside the tissue
    spots.to_csv(root / "spots" / f"{name}_selection.tsv", sep="\t", index=False)
    label = np.where(x + y < 11, "invasive cancer",
                     np.where(x % 2 == 0, "connective tissue", "adipose tissue")).astype(object)  # fmt: skip
    label[(x == 12) & (y < 5)] = "cancer in situ"
    label[(x == 3) & (y > 8)] = "undetermined"
    label[(x == 8) & (y == 8)] = "breast glands"
    label[(x == 9) & (y == 9)] = "immune infiltrate"
    rates = np.random.default_rng(123).gamma(2.0, 2.0, N_GENES)  # one tissue, every section
    lam = np.tile(rates, (x.size, 1))
    tumour = np.isin(label, ["invasive cancer", "cancer in situ"])
    lam[np.ix_(tumour, np.arange(N_GENES)[TUMOUR_GENES])] *= 8
    lam[(label == "adipose tissue")[:, None] & (np.arange(N_GENES) >= 50)] *= 3
    keys = [f"{a}x{b}" for a, b in zip(x, y)]
    genes = [f"G{i}" for i in range(N_GENES)]
    pd.DataFrame(rng.poisson(lam), index=keys, columns=genes).to_csv(
        root / "counts" / f"{name}.tsv.gz", sep="\t"
    )
    if labels:
        table = pd.DataFrame(
            {"x": new_x, "y": new_y, "pixel_x": 0.3 * spots.pixel_x, "pixel_y": 0.3 * spots.pixel_y,
             "label": label},
            index=[f"{round(a)}x{round(b)}" for a, b in zip(0.3 * spots.pixel_x, 0.3 * spots.pixel_y)],
        )  # fmt: skip
        table = table.drop(index=table.index[5])  # one spot under tissue stays unlabelled
        table.loc["NAxNA"] = [np.nan, np.nan, np.nan, np.nan, "connective tissue"]
        table.index.name = "Row.names"
        table.to_csv(root / "labels" / f"{name}_labeled_coordinates.tsv", sep="\t")
    return pd.DataFrame({"key": keys, "label": label, "selected": spots.selected == 1})


@pytest.fixture(scope="module")
def fake_her2st(tmp_path_factory) -> Path:
    """Labelled A1, A3 (same patient), B1, G7 (a name never seen); unlabelled A2; a labels
    file without counts (Z1)."""
    root = tmp_path_factory.mktemp("her2st")
    for i, name in enumerate(("A1", "A3", "B1", "G7")):
        _write_section(root, name, seed=i)
    _write_section(root, "A2", seed=9, labels=False)
    (root / "labels" / "Z1_labeled_coordinates.tsv").write_text(
        "x\ty\tlabel\n1\t1\tadipose tissue\n"
    )
    return root


@pytest.fixture(scope="module")
def sections(fake_her2st):
    return load_sections(fake_her2st)


# ---------------------------------------------------------------------- data
def test_discovery_finds_labelled_sections_with_counts_and_spots(fake_her2st):
    assert discover_sections(fake_her2st) == ["A1", "A3", "B1", "G7"]
    assert [patient(s) for s in ("A1", "G7", "B12")] == ["A", "G", "B"]


def test_discovery_of_a_folder_without_labelled_sections_is_one_clear_error(tmp_path):
    _write_section(tmp_path, "A1", seed=0, labels=False)
    with pytest.raises(OmibError, match="no labelled section in") as err:
        discover_sections(tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(OmibError, match="does not exist"):
        discover_sections(tmp_path / "missing")


def test_labels_join_on_rounded_coordinates_and_group(fake_her2st, sections):
    truth = _write_section(fake_her2st / "_again", "A1", seed=0).set_index("key")
    adata = sections["A1"]
    keys = adata.obs_names.str.removeprefix("A1_")
    assert adata.n_obs == int(truth.selected.sum())  # the whole section, excluded spots too
    expected = truth.loc[keys, "label"].to_numpy().astype(object)
    expected[list(keys).index(truth.index[5])] = np.nan  # the unlabelled spot
    got = adata.obs["pathology"].astype(object).to_numpy()
    labelled = pd.notna(expected)
    assert (got[labelled] == expected[labelled]).all() and pd.isna(got[~labelled]).all()
    group = adata.obs[GROUP_KEY].astype(str).to_numpy()
    assert set(group[expected == "undetermined"]) == {"excluded"}
    assert group[~labelled].tolist() == ["excluded"]
    assert set(group[np.isin(expected, ["invasive cancer", "cancer in situ"])]) == {"anomalous"}
    assert set(group[np.isin(expected, ["connective tissue", "adipose tissue", "breast glands",
                                        "immune infiltrate"])]) == {"normal"}  # fmt: skip
    assert (evaluated(adata) == (group != "excluded")).all()
    assert (is_anomalous(adata) == (group == "anomalous")).all()


def test_unlabelled_section_is_refused(fake_her2st):
    with pytest.raises(OmibError, match="no labels file"):
        load_section(fake_her2st, "A2")


# ---------------------------------------------------------------------- splits
def test_lopo_holds_out_the_patient_not_only_the_section(sections):
    folds = {f.target: f for f in lopo_folds(list(sections))}
    assert folds["A1"].references == ("B1", "G7")  # A3 is the same patient
    assert folds["B1"].references == ("A1", "A3", "G7")
    for fold in folds.values():
        target = set(sections[fold.target].obs_names)
        assert all(target.isdisjoint(sections[r].obs_names) for r in fold.references)
        assert all(patient(r) != patient(fold.target) for r in fold.references)
    assert [f.target for f in lopo_folds(list(sections), ["G7"])] == ["G7"]
    with pytest.raises(OmibError, match="not labelled sections"):
        lopo_folds(list(sections), ["C1"])
    with pytest.raises(OmibError, match="another patient"):
        lopo_folds(["A1", "A3"])


def test_baselines_train_on_normal_reference_spots_only(sections):
    fold = lopo_folds(list(sections), ["A1"])[0]
    refs = [sections[r] for r in fold.references]
    config = make_config("knn", seed=0)
    prepared = bl.prepare(refs, sections["A1"], normal_key="pathology",
                          normal_values=bl_normal(), config=config, seed=0)  # fmt: skip
    n_normal = sum(int((r.obs[GROUP_KEY] == "normal").sum()) for r in refs)
    assert len(prepared.x_fit) + len(prepared.x_held_out) == n_normal
    assert len(prepared.x_held_out) == round(0.1 * n_normal)
    assert prepared.x_target.shape[0] == sections["A1"].n_obs
    fit, held = bl.split_reference(n_normal, 0, 0.1)
    assert set(fit).isdisjoint(held) and len(fit) + len(held) == n_normal


def bl_normal():
    from omib_st.benchmarks.her2st.data import NORMAL

    return NORMAL


# ---------------------------------------------------------------------- metrics
def test_f1_at_true_fraction_on_a_known_example():
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.2, 0.8, 0.7, 0.1, 0.3, 0.0, 0.05])
    # k = 3: the top 3 are 0.9 (T), 0.8 (T), 0.7 (F) → precision = recall = F1 = 2/3.
    assert f1_at_true_fraction(scores, truth) == pytest.approx(2 / 3)
    metrics = evaluate(scores, truth, labels=scores > 0.5)
    assert metrics["f1_true_fraction"] == pytest.approx(2 / 3)
    assert metrics["f1_own"] == pytest.approx(2 * 2 / (3 + 3))  # flagged 3, 2 right
    assert metrics["auc"] == pytest.approx(13 / 15)
    assert 0 < metrics["ap"] <= 1
    assert np.isnan(evaluate(scores, np.zeros(8, bool))["auc"])


def test_direction_is_checked_and_never_flipped():
    truth = np.array([1, 1, 0, 0, 0], dtype=bool)
    scores = np.array([0.1, 0.2, 0.5, 0.6, 0.7])  # anomalies scored lowest
    metrics = evaluate(scores, truth)
    assert metrics["auc"] == 0.0  # recorded as measured
    with pytest.warns(InvertedScoreWarning, match="knn on X1: AUC 0.000 < 0.5"):
        assert check_direction(metrics["auc"], "knn", "X1") is True
    assert check_direction(0.7, "knn", "X1") is False
    assert check_direction(float("nan"), "knn", "X1") is False


# ---------------------------------------------------------------------- runner
def test_baseline_fold_excludes_undetermined_and_records_everything(sections):
    fold = lopo_folds(list(sections), ["A1"])[0]
    methods = [m for m in protocol_methods("one_class") if not m.startswith("omib")]
    records, scores = run_fold(sections, fold, methods, seed=0, log=None)
    table = pd.DataFrame(records)
    assert list(table.method) == methods
    target = sections["A1"]
    keep, truth = evaluated(target), is_anomalous(target)
    assert (table.n_evaluated == keep.sum()).all() and (table.n_spots == target.n_obs).all()
    assert (table.n_anomalous == truth.sum()).all()
    assert len(scores) == len(methods) * target.n_obs
    for method, rows in scores.groupby("method", sort=False):
        rows = rows.set_index("spot").loc[target.obs_names]
        again = evaluate(rows.score.to_numpy()[keep], truth[keep], rows.anomaly.to_numpy()[keep])
        record = table[table.method == method].iloc[0]
        assert record.auc == pytest.approx(again["auc"])
        assert record.f1_own == pytest.approx(again["f1_own"])
    # the planted tumour (8 genes × 8) is found by every baseline
    assert (table.auc > 0.75).all(), table[["method", "auc"]]
    smooth = table.set_index("method")
    assert smooth.loc["knn_smooth", "threshold"] == smooth.loc["knn", "threshold"]
    assert smooth.loc["knn_smooth", "runtime_s"] >= smooth.loc["knn", "runtime_s"]
    assert units(["knn_smooth", "knn", "omib", "lof_smooth"]) == ["knn", "omib", "lof"]
    with pytest.raises(OmibError, match="unknown method"):
        units(["svm"])


def test_omib_runs_through_the_public_api_on_whole_sections(sections, monkeypatch, tiny_config):
    import omib_st as om
    from omib_st.config import to_dict

    calls = []
    original = om.model.OmibDetector.fit

    def spy(self, references, **kwargs):
        calls.append(([r.n_obs for r in references], kwargs, self.config))
        return original(self, references, **kwargs)

    monkeypatch.setattr(om.model.OmibDetector, "fit", spy)
    fold = lopo_folds(list(sections), ["B1"])[0]
    records, scores = run_fold(sections, fold, ["omib", "omib_concat"], seed=1, overrides=_flat(to_dict(tiny_config)),
                               log=None)  # fmt: skip
    (sizes, kwargs, config), (_, _, concat) = calls
    assert sizes == [sections[r].n_obs for r in fold.references]  # whole sections
    assert kwargs["normal_key"] == "pathology"
    assert set(kwargs["normal_values"]) == {"adipose tissue", "breast glands",
                                            "connective tissue", "immune infiltrate"}  # fmt: skip
    assert config.train.seed == 1 and config.omib.fusion == "cross_attention"
    assert concat.omib.fusion == "concat"
    assert [r["image_used"] for r in records] == [False, False]  # imageless → expression-only
    assert np.isfinite([r["auc"] for r in records]).all()
    assert len(scores) == 2 * sections["B1"].n_obs


def test_default_config_is_the_detect_default():
    from omib_st.config import DetectorConfig, replace

    assert make_config("omib", seed=0) == replace(DetectorConfig(), **{"train.progress_bar": False})
    assert make_config("omib_beta10", seed=2).omib.beta_scale == 10.0
    assert make_config("omib_fixed_r").omib.dynamic_r is False
    assert make_config("omib_no_warmup").train.warmup_epochs == 0
    assert make_config("omib", quick=True).train.max_epochs < DetectorConfig().train.max_epochs


def test_outputs_table_summary_maps_and_records(fake_her2st, tmp_path):
    table, scores = run_benchmark(
        fake_her2st, methods=["knn", "knn_smooth", "pca_error"], seeds=[0, 1],
        targets=["A1", "G7"], out=tmp_path, log=None,
    )  # fmt: skip
    written = pd.read_csv(tmp_path / "table.csv")
    assert list(written.columns[: len(COLUMNS)]) == COLUMNS
    assert len(written) == 3 * 2 * 2
    markdown = (tmp_path / "table.md").read_text()
    assert "### ROC AUC" in markdown and "| kNN distance + smooth |" in markdown
    assert re.search(r"\| PCA reconstruction error \| [0-9.]+ ± [0-9.]+ \|", markdown)
    best = written.groupby("method").auc.mean().idxmax()
    assert sorted(p.name for p in (tmp_path / "maps").glob("*.png")) == [
        f"A1_{best}.png", f"G7_{best}.png"]  # fmt: skip
    records = table.to_dict("records")
    write_run(tmp_path / "run.json", records, scores)
    back, back_scores = read_runs([tmp_path / "run.json"])
    assert len(back) == len(table) and len(back_scores) == len(scores)
    assert summary_markdown(back) == summary_markdown(table)


# ---------------------------------------------------------------------- CLI
def test_cli_runs_and_reports_a_bad_folder_in_one_line(fake_her2st, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["benchmark", "her2st", "--data", str(fake_her2st), "--out", str(out), "--methods",
            "lof", "lof_smooth", "--seeds", "0", "--targets", "B1"]  # fmt: skip
    assert main(args) == 0
    assert {"table.csv", "table.md", "scores.csv.gz", "maps"} <= {p.name for p in out.iterdir()}
    assert "LOF + smooth" in capsys.readouterr().out
    assert main(["benchmark", "her2st", "--data", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no labelled section" in err and len(err.splitlines()) == 1
    bad = ["benchmark", "her2st", "--data", str(fake_her2st), "--set", "preprocess.nope=1",
           "--methods", "knn", "--seeds", "0"]  # fmt: skip
    assert main(bad) == 2
    assert "unknown config key" in capsys.readouterr().err


def test_cli_method_list_matches_the_runner():
    from omib_st.cli import benchmark_her2st

    assert benchmark_her2st._METHODS == METHODS


# ---------------------------------------------------------------------- workflow
def _snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))
    return subprocess.run([exe, "-s", str(SNAKEFILE), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=1800)  # fmt: skip


def test_workflow_dry_run_discovers_sections(fake_her2st, tmp_path):
    result = _snakemake("-n", "--cores", "1", "--config", f"data={fake_her2st}", "seeds=2",
                        cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    text = result.stdout + result.stderr
    # 4 labelled sections × 2 seeds × 6 units (omib, the scanpy-recipe kNN and 4 baselines, each
    # baseline with its _smooth variant).
    assert re.search(r"^run\s+48$", text, re.MULTILINE), text[-2000:]
    assert re.search(r"^section\s+4$", text, re.MULTILINE)
    assert re.search(r"^aggregate\s+1$", text, re.MULTILINE)


@pytest.mark.benchmark
@pytest.mark.shared_data
def test_quick_benchmark_on_the_real_data(her2st_root, tmp_path):
    assert main(["benchmark", "her2st", "--data", str(her2st_root), "--out", str(tmp_path),
                 "--quick", "--seeds", "0", "--methods", "omib", "knn", "knn_smooth"]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "table.csv")
    assert sorted(table.target.unique()) == ["A1", "B1", "C1", "D1", "E1", "F1"]
    assert len(table) == 6 * 3 and table.auc.between(0, 1).all()
    assert not table.image_used.any()
    assert len(list((tmp_path / "maps").glob("*_omib.png"))) == 6


def test_a_failed_fit_is_recorded_not_fatal(sections, monkeypatch, tmp_path):
    import omib_st as om

    def fail(self, references, **kwargs):
        raise OmibError("the β bound is undefined", "set omib.beta to a number")

    monkeypatch.setattr(om.model.OmibDetector, "fit", fail)
    fold = lopo_folds(list(sections), ["A1"])[0]
    records, scores = run_fold(sections, fold, ["omib", "knn"], seed=0, log=None)
    omib, knn = records
    assert np.isnan(omib["auc"]) and "β bound is undefined" in omib["error"]
    assert np.isfinite(knn["auc"]) and knn["error"] == ""
    assert set(scores.method) == {"knn"}
    table = pd.DataFrame(records)
    markdown = summary_markdown(table)
    assert "| omib-st (defaults) | failed |" in markdown
    assert re.search(r"\| omib-st \(defaults\) \|.*\| 1 \|$", markdown, re.MULTILINE)


def test_a_failed_run_neither_raises_nor_lowers_the_mean_over_sections():
    from omib_st.benchmarks.her2st.run import overall

    table = pd.DataFrame({"method": "omib", "target": ["A1", "A1", "C1", "C1"],
                          "seed": [0, 1, 0, 1], "auc": [0.8, 0.6, 0.2, np.nan]})  # fmt: skip
    stats = overall(table, "auc").loc["omib"]
    # seed 0: (0.8 + 0.2) / 2; seed 1: (0.6 + 0.2, C1's mean over its other seeds) / 2
    assert stats["mean"] == pytest.approx((0.5 + 0.4) / 2)
    assert stats["std"] == pytest.approx(0.05)


# ---------------------------------------------------------------------- supervised (issue 15)
def test_supervised_protocol_trains_on_labelled_spots(sections, monkeypatch, tiny_config):
    import omib_st as om
    from omib_st.config import to_dict

    calls = []
    original = om.model.OmibDetector.fit

    def spy(self, references, **kwargs):
        calls.append(kwargs)
        return original(self, references, **kwargs)

    monkeypatch.setattr(om.model.OmibDetector, "fit", spy)
    fold = lopo_folds(list(sections), ["B1"])[0]
    methods = ["omib", "logistic", "logistic_raw", "logistic_thin", "logistic_xs"]
    records, scores = run_fold(sections, fold, methods, seed=0,
                               overrides=_flat(to_dict(tiny_config)), log=None,
                               protocol="supervised")  # fmt: skip
    (kwargs,) = calls
    assert kwargs["label_key"] == GROUP_KEY and kwargs["positive"] == ["anomalous"]
    assert kwargs["ignore"] == ["excluded"] and "normal_key" not in kwargs
    assert [r["method"] for r in records] == methods
    assert all(r["protocol"] == "supervised" for r in records)
    labelled = sum(int(evaluated(sections[s]).sum()) for s in fold.references)
    assert records[0]["n_reference_spots"] == labelled
    assert np.isfinite([r["auc"] for r in records]).all()
    logistic = scores[scores.method == "logistic"]
    assert logistic.score.between(0, 1).all()
    # the fake tumour is obvious: the supervised baseline finds it
    assert all(r["auc"] > 0.9 for r in records[1:])
    with pytest.raises(OmibError, match="supervised protocol"):
        units(["knn"], "supervised")
    with pytest.raises(OmibError, match="one_class protocol"):
        units(["logistic"])
    assert units(["logistic_raw", "logistic_thin", "omib"], "supervised") == ["logistic", "omib"]


def test_logistic_xs_is_the_recipe_smoothed_over_expression_neighbours(sections):
    """``logistic_xs``: the issue's recipe (``logistic``) blended in log-odds over the target's
    expression neighbours with the given scoring settings."""
    from omib_st.benchmarks.her2st.logistic import logistic
    from omib_st.config import ScoringConfig
    from omib_st.pp import expression_neighbors
    from omib_st.scoring import smooth_probability

    refs, target = [sections["A1"], sections["A3"]], sections["B1"]
    scoring = ScoringConfig(expression_smoothing=0.5, expression_neighbors=5)
    out = logistic(refs, target, [evaluated(r) for r in refs], [is_anomalous(r) for r in refs],
                   scoring=scoring)  # fmt: skip
    graph = expression_neighbors(target, 5)
    expected = smooth_probability(out["logistic"]["scores"], graph, 0.5)
    np.testing.assert_allclose(out["logistic_xs"]["scores"], expected)
    assert not np.allclose(out["logistic_xs"]["scores"], out["logistic"]["scores"])


def test_cli_supervised_protocol_quick_smoke(fake_her2st, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["benchmark", "her2st", "--protocol", "supervised", "--quick", "--data",
                 str(fake_her2st), "--out", str(out), "--seeds", "0", "--targets", "B1"]) == 0  # fmt: skip
    table = pd.read_csv(out / "table.csv")
    assert sorted(table.method) == [
        "logistic", "logistic_raw", "logistic_thin", "logistic_xs", "omib"
    ]  # fmt: skip
    assert (table.protocol == "supervised").all() and table.auc.notna().all()
    text = capsys.readouterr().out
    assert "Supervised protocol" in text and "logistic regression (PCA) + radius smooth" in text
    bad = ["benchmark", "her2st", "--protocol", "supervised", "--data", str(fake_her2st),
           "--out", str(out), "--methods", "knn", "--seeds", "0"]  # fmt: skip
    assert main(bad) == 2
    assert "supervised protocol" in capsys.readouterr().err


def test_workflow_dry_run_supervised_protocol(fake_her2st, tmp_path):
    result = _snakemake("-n", "--cores", "1", "--config", f"data={fake_her2st}", "seeds=2",
                        "protocol=supervised", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    text = result.stdout + result.stderr
    # 4 labelled sections × 2 seeds × 2 units (omib; logistic with logistic_raw)
    assert re.search(r"^run\s+16$", text, re.MULTILINE), text[-2000:]
    assert "her2st_supervised" in text

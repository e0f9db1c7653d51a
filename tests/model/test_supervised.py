"""Supervised mode (issue 15): annotated spots train OMIB's classification task."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

import omib_st as om
from omib_st.config import replace
from omib_st.errors import OmibError
from omib_st.model import OmibDetector, fitting
from omib_st.model.score import prepare_target
from omib_st.model.supervised import IGNORED, NEGATIVE, POSITIVE, class_weights, spot_classes
from omib_st.pp import expression_neighbors
from omib_st.scoring import multiotsu_threshold, otsu_threshold, smooth_probability
from omib_st.train import BestState

LESION = ("both", "expression")
FIT = {"label_key": "lesion", "positive": list(LESION), "use_image": False}


@pytest.fixture(scope="module")
def supervised_config(tiny_config):
    """The tiny configuration with a few more, faster main-stage steps (a classifier needs them),
    and an ensemble of two modules."""
    changes = {
        "train.max_epochs": 3,
        "train.lr": 2e-2,
        "train.batch_size": 64,
        "supervised.members": 2,
    }
    return replace(tiny_config, **changes)


@pytest.fixture(scope="module")
def annotated():
    """An annotated section (its lesions labelled in obs["lesion"]) and another one to score."""
    reference = om.datasets.synthetic_visium(
        n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=LESION
    )
    target = om.datasets.synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=0, lesions=LESION)
    return reference, target


@pytest.fixture(scope="module")
def supervised(supervised_config, annotated):
    return OmibDetector(supervised_config).fit(annotated[0], **FIT)


def test_learns_a_planted_lesion_from_its_labels(supervised, annotated):
    _, target = annotated
    result = supervised.score(target)
    truth = target.obs["is_anomaly"].to_numpy()
    assert supervised.mode == "supervised" and supervised.module.task.kind == "classification"
    assert roc_auc_score(truth, result.scores) >= 0.95
    assert ((result.scores >= 0) & (result.scores <= 1)).all()  # a probability
    assert set(result.parts) == {"probability"}
    graph = prepare_target(supervised, target, layer=None, library_id=None)[0].graph
    scoring = supervised.config.scoring  # smoothed in log-odds, over space, then expression
    spatial = smooth_probability(result.parts["probability"], graph, scoring.smoothing)
    neighbours = expression_neighbors(target, scoring.expression_neighbors)
    expected = smooth_probability(spatial, neighbours, scoring.expression_smoothing)
    assert scoring.expression_smoothing > 0
    np.testing.assert_allclose(result.scores, expected, rtol=1e-5)
    t = supervised.training
    assert t["n_train_positive"] + t["n_train_negative"] == t["n_train_spots"]
    assert t["class_weights"][1] > t["class_weights"][0]  # the rare class weighs more


def test_expression_smoothing_follows_the_sections_expression_graph(supervised, annotated):
    """``scoring.expression_smoothing``: after the spatial smoothing, each spot's log-odds are
    blended with those of its nearest spots in the section's own expression space."""
    _, target = annotated
    settings = supervised.config
    try:
        supervised.config = replace(settings, **{"scoring.expression_smoothing": 0.0})
        plain = supervised.score(target)
        supervised.config = replace(
            settings, **{"scoring.expression_smoothing": 0.5, "scoring.expression_neighbors": 10}
        )
        smoothed = supervised.score(target)
    finally:
        supervised.config = settings
    expected = smooth_probability(plain.scores, expression_neighbors(target, 10), 0.5)
    np.testing.assert_allclose(smoothed.scores, expected, rtol=1e-5)
    assert not np.allclose(smoothed.scores, plain.scores)
    np.testing.assert_array_equal(smoothed.parts["probability"], plain.parts["probability"])


@pytest.mark.parametrize("rule", ["multiotsu", "otsu", "decision"])
def test_labels_follow_the_supervised_threshold_rule(supervised, annotated, rule):
    """The default ``multiotsu`` and ``otsu`` cut the scored section's own smoothed log-odds;
    ``decision`` is p > 0.5. The rule changes the labels, never the scores."""
    _, target = annotated
    settings = supervised.config
    assert settings.scoring.supervised_threshold == "multiotsu"
    try:
        supervised.config = replace(settings, **{"scoring.supervised_threshold": rule})
        result = supervised.score(target)
    finally:
        supervised.config = settings
    log_odds = np.log(result.scores.astype(np.float64) / (1 - result.scores))
    cuts = {"multiotsu": multiotsu_threshold, "otsu": otsu_threshold, "decision": lambda _: 0.0}
    np.testing.assert_allclose(result.threshold, 1 / (1 + np.exp(-cuts[rule](log_odds))), 1e-5)
    np.testing.assert_array_equal(result.labels, result.scores > result.threshold)
    np.testing.assert_allclose(result.scores, supervised.score(target).scores)


def test_the_score_is_the_ensembles_mean_log_odds(supervised, annotated, monkeypatch):
    _, target = annotated
    first, second = supervised.members
    assert supervised.training["members"] == 2
    assert not torch.equal(first.fused_head.net[0].weight, second.fused_head.net[0].weight)
    each = []
    for module in (first, second):
        monkeypatch.setattr(supervised, "members", [module])
        each.append(supervised.score(target).parts["probability"])
    monkeypatch.undo()
    log_odds = np.mean([np.log(p / (1 - p)) for p in each], axis=0)
    expected = 1 / (1 + np.exp(-log_odds))
    np.testing.assert_allclose(supervised.score(target).parts["probability"], expected, rtol=1e-6)
    assert not np.allclose(each[0], each[1])  # two different models


def test_auto_settings_take_the_fits_mode(supervised, supervised_config, annotated, tmp_path):
    """``auto`` settings resolve at fit to the supervised values, are saved so, and a refit of
    the same detector as one-class resolves them again from the settings as given."""
    assert supervised_config.expression.n_layers == "auto"
    assert supervised.config.expression.n_layers == 1
    assert supervised.module.encoders["expression"].n_layers == 1
    assert OmibDetector.load(supervised.save(tmp_path / "model")).config.expression.n_layers == 1
    detector = OmibDetector(supervised_config).fit(annotated[0], **FIT)
    detector.fit(annotated[0], use_image=False)
    assert detector.mode == "one_class" and detector.config.expression.n_layers == 2
    assert detector.module.encoders["expression"].n_layers == 2


def test_save_load_round_trip_and_tl_detect(supervised, annotated, tmp_path):
    _, target = annotated
    path = supervised.save(tmp_path / "model")
    assert json.loads((path / "model.json").read_text())["mode"] == "supervised"
    loaded = OmibDetector.load(path)
    assert loaded.mode == "supervised" and loaded.genes == supervised.genes
    assert len(loaded.members) == 2
    np.testing.assert_array_equal(loaded.score(target).scores, supervised.score(target).scores)
    scored = om.tl.detect(target, model=path, copy=True)
    assert scored.uns["omib"]["mode"] == "supervised" and scored.uns["omib"]["source"] == "model"
    threshold = scored.uns["omib"]["threshold"]
    assert threshold == supervised.score(target).threshold and scored.uns["omib"]["members"] == 2
    np.testing.assert_array_equal(scored.obs["omib_anomaly"], scored.obs["omib_score"] > threshold)


def test_a_model_saved_before_the_ensemble_loads_as_one_module(
    supervised, annotated, tmp_path, monkeypatch, rewrite_model
):
    path = supervised.save(tmp_path / "model")
    rewrite_model(
        path,
        config=lambda config: config.pop("supervised"),
        weights=lambda weights: weights.pop("members"),
    )
    loaded = OmibDetector.load(path)
    assert loaded.config.supervised.members == 1 and len(loaded.members) == 1
    assert not loaded.config.supervised.keep_best  # older models kept their last weights
    monkeypatch.setattr(supervised, "members", supervised.members[:1])
    target = annotated[1]
    np.testing.assert_array_equal(loaded.score(target).scores, supervised.score(target).scores)


@pytest.mark.parametrize(
    ("key", "before"), [("expression_smoothing", 0.0), ("supervised_threshold", "decision")]
)
def test_a_model_saved_before_a_scoring_setting_scores_as_it_did(
    supervised, tmp_path, rewrite_model, key, before
):
    path = supervised.save(tmp_path / "model")
    rewrite_model(path, config=lambda config: config["scoring"].pop(key))
    assert getattr(OmibDetector.load(path).config.scoring, key) == before
    assert getattr(supervised.config.scoring, key) != before


@pytest.mark.parametrize("keep_best", [True, False])
def test_each_module_ends_at_its_best_validation_epoch(
    supervised_config, annotated, monkeypatch, keep_best
):
    seen = []

    class FirstEpochBest(BestState):
        """Records the weights at every main-stage validation; reports the first as the best."""

        def update(self, model, loss, epoch):
            seen.append({k: v.clone() for k, v in model.state_dict().items()})
            return super().update(model, -1.0 if len(seen) == 1 else 0.0, epoch)

    monkeypatch.setattr(fitting, "BestState", FirstEpochBest)
    config = replace(
        supervised_config, **{"supervised.members": 1, "supervised.keep_best": keep_best}
    )
    detector = OmibDetector(config).fit(annotated[0], **FIT)
    final = detector.module.state_dict()
    if not keep_best:
        assert seen == [] and detector.training["member_best_epochs"] == [None]
        return
    assert detector.training["member_best_epochs"] == [config.train.warmup_epochs]
    assert len(seen) == config.train.max_epochs
    assert all(torch.equal(final[k], seen[0][k]) for k in final)
    assert not all(torch.equal(final[k], seen[-1][k]) for k in final)


def test_classes_follow_positive_ignore_and_missing_labels():
    adata = om.datasets.synthetic_visium(n_rows=4, n_cols=5, n_genes=20, seed=0, lesions=())
    labels = np.array(["tumour", "stroma", "undetermined", None] * 5, dtype=object)
    adata.obs["pathology"] = pd.Categorical(labels)
    (classes,) = spot_classes([adata], "pathology", ["tumour"], ["undetermined"])
    expected = np.array([POSITIVE, NEGATIVE, IGNORED, IGNORED] * 5)
    np.testing.assert_array_equal(classes, expected)
    weights = class_weights(classes[classes != IGNORED]).numpy()
    np.testing.assert_allclose(weights, [1.0, 1.0])  # balanced classes: equal weights


@pytest.mark.parametrize(
    "key, positive, ignore, message",
    [
        ("nope", ["tumour"], None, 'obs["nope"] not found'),
        ("pathology", ["cancer"], None, "match no spot"),
        ("pathology", ["tumour"], ["stroma"], "only one class"),
        ("pathology", ["tumour"], ["tumour"], "both positive and ignored"),
        ("pathology", [], None, "no positive values"),
    ],
)
def test_bad_label_arguments_are_one_line_errors(key, positive, ignore, message):
    adata = om.datasets.synthetic_visium(n_rows=4, n_cols=5, n_genes=20, seed=0, lesions=())
    adata.obs["pathology"] = pd.Categorical(["tumour", "stroma"] * 10)
    with pytest.raises(OmibError, match=re.escape(message)) as info:
        OmibDetector().fit(adata, label_key=key, positive=positive, ignore=ignore)
    assert len(str(info.value).splitlines()) == 1


def test_label_key_and_normal_key_are_refused_together():
    adata = om.datasets.synthetic_visium(n_rows=4, n_cols=5, n_genes=20, seed=0, lesions=())
    with pytest.raises(OmibError, match="both given"):
        OmibDetector().fit(adata, label_key="lesion", positive=["both"], normal_key="lesion")
    with pytest.raises(OmibError, match="without a label column"):
        OmibDetector().fit(adata, positive=["both"])

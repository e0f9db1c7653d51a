"""Calibration on held-out normal reference spots and the threshold rules
(omib_st.model.calibration)."""

import dataclasses

import numpy as np
import pytest
from scipy import sparse

from omib_st.config import ScoringConfig, replace
from omib_st.model import OmibDetector
from omib_st.model.calibration import (
    CALIBRATION_KEYS,
    calibrate,
    reference_threshold,
    supervised_threshold,
    target_threshold,
)
from omib_st.model.tissue_data import prepare_section
from omib_st.scoring import (
    mixture_threshold,
    multiotsu_threshold,
    otsu_threshold,
    quantile_threshold,
    smooth_scores,
)


def _chain_calibration(n: int = 60, seed: int = 0) -> dict[str, np.ndarray]:
    """Scores on a chain graph, every third spot held out."""
    rng = np.random.default_rng(seed)
    chain = sparse.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
    return {
        "scores": rng.normal(size=n) + np.linspace(0, 3, n),
        "indptr": chain.indptr,
        "indices": chain.indices,
        "held_out": np.arange(0, n, 3),
    }


def test_reference_threshold_is_the_quantile_of_the_smoothed_held_out_scores():
    cal = _chain_calibration()
    graph = sparse.csr_matrix((np.ones(len(cal["indices"])), cal["indices"], cal["indptr"]))
    cuts = {}
    for smoothing in (0.0, 0.5, 0.9):
        scoring = ScoringConfig(threshold="quantile", quantile=0.8, smoothing=smoothing)
        smoothed = smooth_scores(cal["scores"], graph, smoothing)
        expected = quantile_threshold(smoothed[cal["held_out"]], 0.8)
        cuts[smoothing] = reference_threshold(cal, scoring)
        assert cuts[smoothing] == pytest.approx(expected)
    assert len(set(cuts.values())) == 3  # a changed smoothing recalibrates the cut


def test_each_part_of_the_calibration_is_smoothed_with_its_own_weight():
    """A fused model's calibration keeps one z-score column per part: the expression column is
    smoothed with ``scoring.smoothing``, the image column with ``scoring.image_smoothing``,
    then they are averaged; a one-column calibration (models saved before per-part smoothing)
    is smoothed with ``scoring.smoothing``."""
    cal = _chain_calibration()
    image = np.random.default_rng(5).normal(size=len(cal["scores"])) * 3
    fused = cal | {"scores": np.stack([cal["scores"], image], axis=1)}
    graph = sparse.csr_matrix((np.ones(len(cal["indices"])), cal["indices"], cal["indptr"]))
    scoring = ScoringConfig(threshold="quantile", quantile=0.8, smoothing=0.9, image_smoothing=0.0)
    expected = (smooth_scores(cal["scores"], graph, 0.9) + image) / 2
    cut = reference_threshold(fused, scoring, ["expression", "image"])
    assert cut == pytest.approx(quantile_threshold(expected[cal["held_out"]], 0.8))
    swapped = reference_threshold(fused, scoring, ["image", "expression"])
    assert swapped != pytest.approx(cut)
    old = reference_threshold(cal, scoring)  # one combined column: the expression weight
    smoothed = smooth_scores(cal["scores"], graph, 0.9)
    assert old == pytest.approx(quantile_threshold(smoothed[cal["held_out"]], 0.8))


def test_a_changed_smoothing_recalibrates_a_fitted_detectors_threshold(fitted, synthetic_adata):
    config = fitted.config
    try:
        cuts = []
        for smoothing in (0.0, 0.9):
            fitted.config = replace(
                config, **{"scoring.smoothing": smoothing, "scoring.threshold": "quantile"}
            )
            cuts.append(fitted.reference_threshold())
            assert fitted.score(synthetic_adata).threshold == cuts[-1]
    finally:
        fitted.config = config
    assert cuts[0] != cuts[1]
    assert fitted.reference_threshold() == pytest.approx(fitted.threshold)  # as fitted


def test_each_rule_cuts_the_target_scores_or_the_reference():
    cal = _chain_calibration()
    scores = np.concatenate([np.random.default_rng(1).normal(size=300), np.full(30, 6.0)])
    base = ScoringConfig(prior_anomaly_fraction=0.1)
    expected = {
        "otsu": otsu_threshold(scores),
        "multiotsu": multiotsu_threshold(scores),
        "mixture": mixture_threshold(scores, 0.1, seed=3),
        "quantile": reference_threshold(cal, base),
    }
    for rule, cut in expected.items():
        scoring = dataclasses.replace(base, threshold=rule)
        assert target_threshold(scores, cal, scoring, seed=3) == cut, rule
    assert len(set(expected.values())) == 4


def test_a_supervised_rule_cuts_the_sections_own_log_odds():
    """``decision`` keeps the classifier's 0.5; the other rules cut the section's own log-odds,
    so a section whose probabilities all fall below 0.5 (a new patient) is still split."""
    rng = np.random.default_rng(0)
    log_odds = np.concatenate([rng.normal(-6, 0.5, 200), rng.normal(-3, 0.5, 100)])
    p = 1 / (1 + np.exp(-log_odds))
    assert supervised_threshold(p, ScoringConfig(supervised_threshold="decision"), seed=0) == 0.5
    assert not (p > 0.5).any()
    for rule, cut in {"otsu": otsu_threshold, "multiotsu": multiotsu_threshold}.items():
        scoring = ScoringConfig(supervised_threshold=rule)
        threshold = supervised_threshold(p, scoring, seed=0)
        np.testing.assert_allclose(threshold, 1 / (1 + np.exp(-cut(log_odds))), rtol=1e-6)
        flagged = p > threshold  # the higher group, and not the whole section
        assert flagged[200:].mean() > 0.9 and flagged[:200].mean() < 0.9, rule
    mixture = ScoringConfig(supervised_threshold="mixture", prior_anomaly_fraction=0.3)
    flagged = p > supervised_threshold(p, mixture, seed=0)
    assert flagged[200:].mean() > 0.9 and flagged[:200].mean() < 0.1


def test_calibrate_scores_the_held_out_spots_with_their_neighbours(fitted, normal_reference):
    section = prepare_section(normal_reference, fitted.genes, fitted.config, use_image=True)
    section.features = fitted.projection(section.expression)
    held_out = np.array([0, 41, 150, 299])
    stats, cal = calibrate(fitted, [section], held_out)
    assert set(cal) == set(CALIBRATION_KEYS) and set(stats) == {"expression", "image"}
    needed = np.union1d(held_out, section.graph[held_out].indices)
    assert cal["scores"].shape == (len(needed), 2) and np.isfinite(cal["scores"]).all()
    np.testing.assert_array_equal(needed[cal["held_out"]], held_out)
    graph = sparse.csr_matrix((np.ones(len(cal["indices"])), cal["indices"], cal["indptr"]))
    np.testing.assert_array_equal(graph.toarray(), section.graph[needed][:, needed].toarray() != 0)
    other, _ = calibrate(fitted, [section], np.arange(100, 140))
    assert other != stats  # the statistics come from the held-out spots


def test_threshold_is_calibrated_on_smoothed_held_out_scores(tiny_config):
    """The label-free threshold is the quantile of held-out normal reference spots' scores on
    the same (smoothed) statistic as the target's, so on a normal section about 1 − q of the
    spots are flagged, whatever the smoothing."""
    from omib_st.datasets import synthetic_visium

    normal = synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=3, lesions=())
    for smoothing in (0.0, 0.9):
        config = replace(
            tiny_config,
            **{
                "scoring.smoothing": smoothing,
                "train.val_fraction": 0.3,
                "scoring.threshold": "quantile",
            },
        )
        detector = OmibDetector(config).fit(normal, use_image=False)
        flagged = detector.score(normal).labels.mean()
        assert 0.005 < flagged < 0.2, (smoothing, flagged)

import numpy as np
import pytest

from omib_st.scoring import (
    mixture_threshold,
    multiotsu_threshold,
    otsu_threshold,
    quantile_threshold,
)


def _two_modes(n_normal: int, n_anomalous: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0, 1, n_normal), rng.normal(6, 1, n_anomalous)])
    return scores, np.r_[np.zeros(n_normal, bool), np.ones(n_anomalous, bool)]


def test_quantile_threshold_flags_the_upper_tail_of_the_reference():
    reference = np.arange(100.0)
    assert (reference > quantile_threshold(reference, 0.9)).sum() == 10


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.85])
def test_otsu_separates_two_modes_whatever_their_proportions(fraction):
    scores, truth = _two_modes(int(400 * (1 - fraction)), int(400 * fraction))
    flagged = scores > otsu_threshold(scores)
    assert (flagged == truth).mean() > 0.98


def test_otsu_follows_a_shift_of_the_whole_section():
    scores, _ = _two_modes(300, 200)
    flagged = scores > otsu_threshold(scores)
    shifted = scores - 25.0  # a section scored lower throughout (depth, batch)
    assert np.array_equal(shifted > otsu_threshold(shifted), flagged)


def test_otsu_flags_nothing_when_every_score_is_equal():
    assert otsu_threshold(np.full(20, 3.0)) == float("inf")


def test_mixture_separates_two_modes():
    scores, truth = _two_modes(350, 50)
    flagged = scores > mixture_threshold(scores, 0.1)
    assert (flagged == truth).mean() > 0.98


def test_multiotsu_keeps_a_lesion_margin_that_otsu_leaves_out():
    rng = np.random.default_rng(0)
    normal, margin, core = rng.normal(0, 1, 300), rng.normal(5, 1, 100), rng.normal(15, 1, 100)
    scores = np.concatenate([normal, margin, core])
    lesion = np.r_[np.zeros(300, bool), np.ones(200, bool)]
    assert ((scores > multiotsu_threshold(scores)) == lesion).mean() > 0.98
    assert (scores > otsu_threshold(scores))[300:400].mean() < 0.5  # two classes: margin lost


def test_multiotsu_flags_nothing_without_three_distinct_scores():
    assert multiotsu_threshold(np.r_[np.zeros(10), np.ones(10)]) == float("inf")

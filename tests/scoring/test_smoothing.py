import numpy as np
from scipy import sparse

from omib_st.scoring import smooth_probability, smooth_scores


def _graph(edges, n):
    rows, cols = zip(*[(a, b) for a, b in edges] + [(b, a) for a, b in edges])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def test_smoothing_mixes_own_score_with_the_neighbours_mean():
    scores = np.array([0.0, 4.0, 8.0, 5.0])
    graph = _graph([(0, 1), (0, 2)], 4)  # spot 3 is isolated
    smoothed = smooth_scores(scores, graph, 0.75)
    assert np.allclose(
        smoothed, [0.25 * 0 + 0.75 * 6, 0.25 * 4 + 0.75 * 0, 0.25 * 8 + 0.75 * 0, 5.0]
    )


def test_no_smoothing_is_the_identity_and_constant_scores_stay_constant():
    scores = np.array([1.0, 2.0, 3.0])
    graph = _graph([(0, 1), (1, 2)], 3)
    assert np.array_equal(smooth_scores(scores, graph, 0.0), scores)
    assert np.allclose(smooth_scores(np.full(3, 7.0), graph, 0.5), 7.0)


def test_probabilities_are_smoothed_in_log_odds():
    """A spot at p ≈ 0 among neighbours at p ≈ 1 ranks by its neighbours, and the order of
    probabilities that differ only near saturation survives smoothing."""
    graph = _graph([(0, 1), (0, 2), (3, 4)], 5)
    p = np.array([1e-9, 1 - 1e-9, 1 - 1e-9, 0.3, 0.3])
    smoothed = smooth_probability(p, graph, 0.75)
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))
    expected = 1 / (1 + np.exp(-smooth_scores(logit, graph, 0.75)))
    np.testing.assert_allclose(smoothed, expected)
    assert smoothed[0] > 0.99 and np.allclose(smoothed[3:], 0.3)
    np.testing.assert_allclose(smooth_probability(p[3:], _graph([(0, 1)], 2), 0.0), p[3:])

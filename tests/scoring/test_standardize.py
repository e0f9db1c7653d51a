import numpy as np

from omib_st.scoring import combine, robust_stats


def test_without_covariate_z_scores_are_median_and_iqr_based():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 100.0])
    stats = robust_stats({"a": values})
    intercept, slope, spread = stats["a"]
    assert slope == 0.0 and intercept == np.median(values)
    z = combine({"a": values}, stats)
    assert z[-1] > 20 and abs(np.median(z)) < 1e-9  # one outlier does not move the scale


def test_depth_adjustment_removes_a_noise_trend_and_keeps_true_outliers():
    rng = np.random.default_rng(0)
    depth = rng.uniform(6, 10, 2000)  # log library size
    noise = 12.0 - depth + rng.normal(0, 0.1, depth.size)  # shallow spots: larger errors
    stats = robust_stats({"err": noise}, depth)
    assert abs(stats["err"][1] + 1.0) < 0.02  # the slope is recovered
    z = combine({"err": noise}, stats, covariate=depth)
    assert abs(np.corrcoef(z, depth)[0, 1]) < 0.1
    # A deep anomalous spot with a moderate error now outscores every shallow normal spot.
    test_depth, test_error = np.array([6.0, 10.0]), np.array([6.0, 3.0])
    adjusted = combine({"err": test_error}, stats, covariate=test_depth)
    plain = combine({"err": test_error}, robust_stats({"err": noise}))
    assert plain[0] > plain[1] and adjusted[1] > 5 and adjusted[0] < 1


def test_combine_max_or_mean():
    parts = {"a": np.array([0.0, 3.0]), "b": np.array([1.0, 0.0])}
    stats = {"a": (0.0, 0.0, 1.0), "b": (0.0, 0.0, 1.0)}
    np.testing.assert_allclose(combine(parts, stats, "max"), [1.0, 3.0])
    np.testing.assert_allclose(combine(parts, stats, "mean"), [0.5, 1.5])

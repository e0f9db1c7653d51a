"""omib_st.datasets.fields: smooth random functions of position."""

import numpy as np

from omib_st.datasets.fields import eval_fields, eval_grid, smooth_fields


def test_grid_evaluation_matches_point_evaluation():
    fields = smooth_fields(np.random.default_rng(0), 3, 6, (1500.0, 4000.0))
    xs, ys = np.linspace(0, 5000, 17), np.linspace(0, 3000, 11)
    grid = eval_grid(fields, xs, ys)
    x, y = np.meshgrid(xs, ys)
    points = eval_fields(fields, x.ravel(), y.ravel())
    assert grid.shape == (3, 11, 17) and grid.dtype == np.float32
    np.testing.assert_allclose(grid.reshape(3, -1), points.T, rtol=1e-4, atol=1e-4)


def test_fields_are_smooth_and_bounded():
    fields = smooth_fields(np.random.default_rng(1), 2, 6, (1500.0, 4000.0))
    x = np.arange(0, 10_000, 10.0)
    values = eval_fields(fields, x, np.zeros_like(x))
    amplitude = fields[3].sum(axis=1)
    assert (np.abs(values) <= amplitude).all()
    # a 10 µm step moves a field far less than its range (wavelengths are 1.5 to 4 mm)
    assert np.abs(np.diff(values, axis=0)).max() < 0.05 * np.ptp(values, axis=0).min()

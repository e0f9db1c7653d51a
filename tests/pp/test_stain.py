"""Stain normalisation and augmentation: Reinhard statistics, Macenko stains, HED and
brightness jitter (seeded, global RNG untouched)."""

import numpy as np
import pytest

from omib_st.errors import OmibError
from omib_st.pp.stain import (
    LabStats,
    brightness_jitter,
    brightness_scale,
    hed_jitter,
    hed_scale,
    lab_stats,
    macenko,
    macenko_stains,
    pooled_lab_stats,
    reinhard,
    tissue_mask,
)

HAEMATOXYLIN = np.array([0.65, 0.70, 0.29])
EOSIN = np.array([0.07, 0.99, 0.11])


def _stained(concentration_h, concentration_e, rng, n=6, size=24):
    """uint8 patches mixed from known stains (Beer-Lambert) with random concentrations."""
    stains = np.stack([HAEMATOXYLIN / np.linalg.norm(HAEMATOXYLIN), EOSIN / np.linalg.norm(EOSIN)])
    c = rng.random((n, size, size, 2)) * [concentration_h, concentration_e]
    rgb = 256 * np.exp(-(c @ stains)) - 1
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2)


@pytest.fixture
def patches():
    return _stained(1.2, 0.8, np.random.default_rng(0))


def test_tissue_mask_tells_stain_from_glass_and_pale_background():
    rgb = np.array([[245, 245, 245], [225, 203, 225], [200, 140, 190], [60, 40, 120], [40, 40, 40]])
    np.testing.assert_array_equal(tissue_mask(rgb.astype(np.uint8)), [0, 0, 1, 1, 1])


def test_reinhard_maps_statistics_onto_the_target(patches):
    darker = _stained(2.0, 1.2, np.random.default_rng(1))
    target = lab_stats(patches)
    moved = lab_stats(reinhard(darker, target))
    np.testing.assert_allclose(moved.mean, target.mean, atol=1.5)
    np.testing.assert_allclose(moved.std, target.std, rtol=0.15)  # RGB gamut clips a little
    same = reinhard(patches, target, source=target)
    assert np.abs(same.astype(int) - patches).max() <= 2


def test_pooled_stats_are_those_of_the_sections_pixels_taken_together():
    rng = np.random.default_rng(0)
    pixels = [rng.normal([60, 20, -10], [5, 3, 2], (500, 3)), rng.normal(40, 9, (500, 3))]
    pooled = pooled_lab_stats([LabStats(x.mean(axis=0), x.std(axis=0)) for x in pixels])
    together = np.concatenate(pixels)
    np.testing.assert_allclose(pooled.mean, together.mean(axis=0))
    np.testing.assert_allclose(pooled.std, together.std(axis=0))


def test_macenko_recovers_the_stains_and_is_identity_on_its_reference(patches):
    stains = macenko_stains(patches, np.random.default_rng(0))
    for column, truth in zip(stains.matrix.T, (HAEMATOXYLIN, EOSIN)):
        assert column @ truth / np.linalg.norm(truth) > 0.98
    same = macenko(patches, stains, source=stains)
    assert np.abs(same.astype(int) - patches).max() <= 2
    darker = _stained(2.0, 1.2, np.random.default_rng(1))
    normalised = macenko(darker, stains, rng=np.random.default_rng(0))
    assert abs(lab_stats(normalised).mean[0] - lab_stats(patches).mean[0]) < 3
    with pytest.raises(OmibError, match="needs rng"):
        macenko(darker, stains)
    with pytest.raises(OmibError, match="too few"):
        macenko_stains(np.full((1, 3, 8, 8), 255, np.uint8), np.random.default_rng(0))


def test_jitter_is_seeded_and_leaves_the_global_rng_alone(patches):
    state = np.random.get_state()  # noqa: NPY002  (checking that it is left alone)
    a = hed_jitter(patches, np.random.default_rng(3))
    b = hed_jitter(patches, np.random.default_rng(3))
    c = hed_jitter(patches, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == patches.shape and a.dtype == np.uint8
    d = brightness_jitter(patches, np.random.default_rng(3))
    np.testing.assert_array_equal(d, brightness_jitter(patches, np.random.default_rng(3)))
    assert np.all(np.random.get_state()[1] == state[1])  # noqa: NPY002


def test_zero_jitter_is_identity_and_shared_draws_are_shared(patches):
    purple = np.array([24, 20, 63], dtype=np.uint8)  # negative eosin: rgb2hed would clip it
    patches = patches.copy()
    patches[0, :, :4, :4] = purple[:, None, None]
    np.testing.assert_array_equal(hed_scale(patches, 1.0, 0.0), patches)
    still = hed_jitter(patches, np.random.default_rng(0), sigma=0, bias=0)
    assert np.abs(still.astype(int) - patches).max() <= 1
    np.testing.assert_array_equal(brightness_scale(patches, 1.0), patches)
    twins = np.repeat(patches[:1], 4, axis=0)
    shared = hed_jitter(twins, np.random.default_rng(0), shared=True)
    assert all(np.array_equal(shared[0], s) for s in shared)
    apart = hed_jitter(twins, np.random.default_rng(0))
    assert not all(np.array_equal(apart[0], s) for s in apart)
    darker = brightness_scale(patches, 0.8)
    assert darker.mean() < 0.85 * patches.mean()

"""omib_st.pp.crop: square crops around points, resampled to a fixed size, batch by batch."""

import numpy as np
import pytest

from omib_st.errors import OmibError
from omib_st.pp import crop
from omib_st.pp.crop import MAX_CROP_SIDE, crop_resize


def test_identity_resampling():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    # a crop of side 10 on pixel-centred coordinates, resampled to 10 px, copies the pixels
    patch = crop_resize(image, np.array([[24.5, 19.5]]), 10, 10)[0]
    np.testing.assert_array_equal(patch, image[15:25, 20:30].transpose(2, 0, 1))


def test_outside_the_image_is_white():
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    patch = crop_resize(image, np.array([[-100.0, 20.0], [20.0, 20.0]]), 8, 8)
    assert (patch[0] == 255).all() and (patch[1] == 0).all()


def test_downsampling_averages():
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    image[:, ::3] = 240  # one column in three
    patch = crop_resize(image, np.array([[31.5, 31.5]]), 32, 4)[0]
    np.testing.assert_allclose(patch, 80, atol=8)  # antialiased, not aliased to 0 or 120


def test_batches_give_the_same_patches(monkeypatch):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (80, 90, 3), dtype=np.uint8)
    centers = rng.uniform(-10, 100, (13, 2))
    whole = crop_resize(image, centers, 17.3, 12)
    monkeypatch.setattr(crop, "_MAX_BATCH_PIXELS", 1)  # one crop per batch
    np.testing.assert_array_equal(crop_resize(image, centers, 17.3, 12), whole)


@pytest.mark.parametrize(
    "side, size, centers, match",
    [
        (0, 4, [[1.0, 1.0]], r"crop side 0 px and patch size 4 must be a positive number"),
        (5, 0, [[1.0, 1.0]], r"crop side 5 px and patch size 0 must be a positive number"),
        (np.nan, 4, [[1.0, 1.0]], r"crop side nan px"),
        (MAX_CROP_SIDE + 1, 4, [[1.0, 1.0]], r"a crop of 4097 px is too large \(at most 4096 px\)"),
        (5, 4, [[np.nan, 1.0]], r"crop centres contain NaN or infinite values"),
    ],
)
def test_errors(side, size, centers, match):
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    with pytest.raises(OmibError, match=match):
        crop_resize(image, np.array(centers), side, size)

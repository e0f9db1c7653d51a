"""omib_st.pp.texture: co-occurrence matrices and properties as scikit-image computes them,
local binary pattern histograms."""

import numpy as np
import pytest

from omib_st.pp.texture import (
    GLCM_ANGLES,
    GLCM_DISTANCES,
    GLCM_LEVELS,
    GLCM_PROPS,
    LBP_POINTS,
    TEXTURE_NAMES,
    glcm_descriptors,
    glcm_matrices,
    lbp_descriptors,
)


def test_glcm_matches_scikit_image():
    from skimage.feature import graycomatrix, graycoprops

    rng = np.random.default_rng(2)
    grey = rng.random((3, 20, 17)).astype(np.float32)
    ours = glcm_matrices(grey)
    n_angles = len(GLCM_ANGLES)
    for b in range(3):
        q = np.minimum((grey[b] * GLCM_LEVELS).astype(np.uint8), GLCM_LEVELS - 1)
        ref = graycomatrix(q, GLCM_DISTANCES, GLCM_ANGLES, GLCM_LEVELS, symmetric=True, normed=True)
        np.testing.assert_allclose(
            ours[:, :, :, b * n_angles : (b + 1) * n_angles], ref, atol=1e-12
        )
    values = glcm_descriptors(grey)
    q = np.minimum((grey[1] * GLCM_LEVELS).astype(np.uint8), GLCM_LEVELS - 1)
    ref = graycomatrix(q, GLCM_DISTANCES, GLCM_ANGLES, GLCM_LEVELS, symmetric=True, normed=True)
    for d_idx, distance in enumerate(GLCM_DISTANCES):
        for prop in GLCM_PROPS:
            column = list(TEXTURE_NAMES).index(f"glcm_{prop}_d{distance}")
            expected = graycoprops(ref, prop)[d_idx].mean()
            assert values[1, column] == pytest.approx(expected, rel=1e-9), (prop, distance)


def test_lbp_histograms_are_fractions_of_uniform_codes():
    rng = np.random.default_rng(3)
    grey = np.concatenate([np.full((1, 24, 24), 0.5), rng.random((1, 24, 24))]).astype(np.float32)
    hist = lbp_descriptors(grey)
    assert hist.shape == (2, LBP_POINTS + 2)
    np.testing.assert_allclose(hist.sum(axis=1), 1.0)
    assert hist[0].max() > 0.8  # a flat patch has one code but at the border
    assert (hist[1] > 0).sum() > 5  # noise spreads over the codes


def test_names_match_the_columns():
    grey = np.random.default_rng(4).random((2, 16, 16)).astype(np.float32)
    width = glcm_descriptors(grey).shape[1] + lbp_descriptors(grey).shape[1]
    assert len(TEXTURE_NAMES) == width == len(GLCM_DISTANCES) * len(GLCM_PROPS) + LBP_POINTS + 2

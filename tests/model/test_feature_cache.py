import functools

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from omib_st.config import replace
from omib_st.datasets import synthetic_visium
from omib_st.model import OmibDetector
from omib_st.model.feature_cache import FeatureCache


@pytest.fixture(scope="module")
def reference():
    return synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=())


@pytest.fixture(scope="module")
def frozen(tiny_config):
    return replace(tiny_config, **{"image.freeze": True})


def _fit_and_score(config, reference, sample):
    detector = OmibDetector(config).fit(reference)
    return detector, detector.score(sample).scores


def test_cached_features_give_the_scores_of_the_uncached_fit(
    frozen, reference, synthetic_adata, monkeypatch
):
    _, uncached = _fit_and_score(
        replace(frozen, **{"image.cache_features": False}), reference, synthetic_adata
    )
    # float32 cache: the same features as computed batch by batch, so the same training
    build = FeatureCache.build.__func__
    monkeypatch.setattr(
        FeatureCache, "build", classmethod(functools.partial(build, dtype=torch.float32))
    )
    detector, exact = _fit_and_score(frozen, reference, synthetic_adata)
    np.testing.assert_allclose(exact, uncached, rtol=1e-4, atol=1e-4)
    assert detector.training["feature_cache_bytes"] > 0
    monkeypatch.undo()
    # default float16 cache: features rounded to ~3 significant digits
    _, half = _fit_and_score(frozen, reference, synthetic_adata)
    assert spearmanr(half, uncached)[0] > 0.99
    np.testing.assert_allclose(half, uncached, atol=0.05 * np.abs(uncached).max())


def test_with_the_cache_the_cnn_runs_once_per_spot(frozen, reference, monkeypatch):
    calls = []
    from omib_st.nn import ImageEncoder

    original = ImageEncoder.features

    def counting(self, images):
        calls.append(len(images))
        return original(self, images)

    monkeypatch.setattr(ImageEncoder, "features", counting)
    config = replace(frozen, **{"scoring.max_reference_spots": 50})
    detector = OmibDetector(config).fit(reference)
    n_spots = reference.n_obs
    assert sum(calls) == n_spots  # one pass to build the cache, none in the 2 epochs or scoring
    size = detector.training["feature_cache_bytes"]
    assert size == n_spots * (detector.module.encoders["image"].backbone.num_features + 192) * 2


def test_cache_refuses_spots_it_does_not_hold():
    cache = FeatureCache(np.array([2, 5]), torch.zeros(2, 4), torch.zeros(2, 192))
    features, thumbnails = cache[np.array([5, 2])]
    assert features.dtype == torch.float32 and thumbnails.shape == (2, 192)
    with pytest.raises(Exception, match="outside the feature cache"):
        cache[np.array([3])]

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


@pytest.fixture(scope="module")
def uncached(frozen, reference, _synthetic_template):
    config = replace(frozen, **{"image.cache_features": False})
    return _fit_and_score(config, reference, _synthetic_template)[1]


def test_float32_cache_gives_the_scores_of_the_uncached_fit(
    frozen, reference, synthetic_adata, uncached, monkeypatch
):
    # A float32 cache holds the features the uncached fit computes batch by batch (up to float
    # rounding in batches of another size, which training amplifies a little).
    build = FeatureCache.build.__func__
    monkeypatch.setattr(
        FeatureCache, "build", classmethod(functools.partial(build, dtype=torch.float32))
    )
    _, exact = _fit_and_score(frozen, reference, synthetic_adata)
    assert spearmanr(exact, uncached)[0] > 0.999
    np.testing.assert_allclose(exact, uncached, atol=0.03 * np.abs(uncached).max())


def test_default_cache_runs_the_cnn_once_per_spot(
    frozen, reference, synthetic_adata, uncached, monkeypatch
):
    from omib_st.nn import ImageEncoder

    calls = []
    original = ImageEncoder.features

    def counting(self, images):
        calls.append(len(images))
        return original(self, images)

    monkeypatch.setattr(ImageEncoder, "features", counting)
    detector = OmibDetector(frozen).fit(reference)
    # one pass over the reference builds the cache; the epochs and the fit's scoring use it
    assert sum(calls) == reference.n_obs
    thumbnail = 3 * detector.config.image.thumbnail**2
    width = detector.module.encoders["image"].backbone.num_features + thumbnail
    assert detector.training["feature_cache_bytes"] == reference.n_obs * width * 2  # float16
    half = detector.score(synthetic_adata).scores  # new sections: features batch by batch
    assert sum(calls) == reference.n_obs + synthetic_adata.n_obs
    # features rounded to float16 (~3 significant digits) barely move the scores
    assert spearmanr(half, uncached)[0] > 0.99
    np.testing.assert_allclose(half, uncached, atol=0.05 * np.abs(uncached).max())


def test_cache_refuses_spots_it_does_not_hold():
    cache = FeatureCache(np.array([2, 5]), torch.zeros(2, 4), torch.zeros(2, 192))
    features, thumbnails = cache[np.array([5, 2])]
    assert features.dtype == torch.float32 and thumbnails.shape == (2, 192)
    with pytest.raises(Exception, match="outside the feature cache"):
        cache[np.array([3])]

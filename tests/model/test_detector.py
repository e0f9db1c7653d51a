import numpy as np
import pytest
import torch

from omib_st.config import replace
from omib_st.errors import OmibError
from omib_st.model import OmibDetector
from omib_st.pp import select_genes


def test_scores_every_spot_with_both_modalities(fitted, synthetic_adata):
    result = fitted.score(synthetic_adata)
    n = synthetic_adata.n_obs
    assert fitted.modalities == ["expression", "image"] and result.info["image_used"]
    assert result.scores.shape == (n,) and np.isfinite(result.scores).all()
    assert result.labels.dtype == bool and result.xi.shape == (n, 16)
    assert set(result.parts) == {"expression", "image"}
    assert result.scores.std() > 0  # not collapsed


def test_same_seed_same_scores(tiny_config, synthetic_adata, fitted, normal_reference):
    again = OmibDetector(tiny_config).fit(normal_reference)
    np.testing.assert_array_equal(
        again.score(synthetic_adata).scores, fitted.score(synthetic_adata).scores
    )


def test_image_model_refuses_a_sample_without_image(fitted, synthetic_adata):
    del synthetic_adata.uns["spatial"]
    with pytest.raises(OmibError, match="the model uses the H&E image but the sample has no image"):
        fitted.score(synthetic_adata)


def test_expression_only_fits_two_expression_views(tiny_config, synthetic_adata):
    detector = OmibDetector(tiny_config).fit(synthetic_adata, use_image=False)
    assert detector.modalities == ["expression", "spot"]
    sample = synthetic_adata.copy()
    del sample.uns["spatial"]
    result = detector.score(sample)
    assert not result.info["image_used"] and np.isfinite(result.scores).all()


def test_image_only_fits_two_image_views_and_round_trips(tiny_config, synthetic_adata, tmp_path):
    detector = OmibDetector(tiny_config).fit(synthetic_adata, use_expression=False)
    assert detector.modalities == ["image", "thumbnail"]
    scores = detector.score(synthetic_adata).scores
    assert np.isfinite(scores).all() and scores.std() > 0
    loaded = OmibDetector.load(detector.save(tmp_path / "model"))
    assert loaded.modalities == ["image", "thumbnail"]
    np.testing.assert_array_equal(loaded.score(synthetic_adata).scores, scores)
    sample = synthetic_adata.copy()
    del sample.uns["spatial"]
    with pytest.raises(OmibError, match="image-only model needs"):
        OmibDetector(tiny_config).fit(sample, use_expression=False)


def test_normal_key_restricts_training_spots(tiny_config, synthetic_adata):
    normal = (~synthetic_adata.obs["is_anomaly"]).sum()
    detector = OmibDetector(tiny_config).fit(
        synthetic_adata, normal_key="lesion", normal_values=["none"], use_image=False
    )
    assert detector.training["n_train_spots"] + detector.training["n_val_spots"] == normal
    with pytest.raises(OmibError, match="no spot has"):
        OmibDetector(tiny_config).fit(synthetic_adata, normal_key="lesion", normal_values=["x"])
    with pytest.raises(OmibError, match="not found"):
        OmibDetector(tiny_config).fit(synthetic_adata, normal_key="nope", normal_values=["x"])


def test_no_shared_genes_is_a_clear_error(fitted, synthetic_adata):
    synthetic_adata.var_names = [f"other{i}" for i in range(synthetic_adata.n_vars)]
    with pytest.raises(OmibError, match="no genes shared"):
        fitted.score(synthetic_adata)


@pytest.mark.parametrize("layer, conv", [("gcn", "GCNConv"), ("gat", "GATv2Conv")])
def test_the_configured_graph_layer_is_trained_and_saved(
    tiny_config, synthetic_adata, layer, conv, tmp_path
):
    config = replace(tiny_config, **{"expression.layer": layer, "train.max_epochs": 1})
    detector = OmibDetector(config).fit(synthetic_adata, use_image=False)
    assert type(detector.module.encoders["expression"].convs[0]).__name__ == conv
    scores = detector.score(synthetic_adata).scores
    detector.save(tmp_path / "model")
    loaded = OmibDetector.load(tmp_path / "model")
    assert type(loaded.module.encoders["expression"].convs[0]).__name__ == conv
    assert np.allclose(loaded.score(synthetic_adata).scores, scores, atol=1e-5)


def test_scores_do_not_depend_on_the_order_of_spots(fitted, synthetic_adata):
    # Scoring batches spots in spatial order; a shuffled sample gets the same scores, permuted
    # (up to float32 summation order in the neighbour sums: z-scores agree to 1e-4).
    order = np.random.default_rng(0).permutation(synthetic_adata.n_obs)
    shuffled = synthetic_adata[order].copy()
    np.testing.assert_allclose(
        fitted.score(shuffled).scores, fitted.score(synthetic_adata).scores[order], atol=1e-4
    )


def test_max_spots_trains_on_a_seeded_subsample(tiny_config, synthetic_adata):
    config = replace(tiny_config, **{"train.max_spots": 100, "train.max_epochs": 1})
    detector = OmibDetector(config).fit(synthetic_adata, use_image=False)
    assert detector.training["n_train_spots"] + detector.training["n_val_spots"] == 100
    assert np.isfinite(detector.score(synthetic_adata).scores).all()


def test_bf16_autocast_scores_close_to_full_precision(fitted, synthetic_adata):
    # The GPU default (precision auto → bf16-mixed) runs on CPU too when asked for explicitly.
    full = fitted.score(synthetic_adata).scores
    fitted.config = replace(fitted.config, **{"train.precision": "bf16-mixed"})
    try:
        half = fitted.score(synthetic_adata).scores
    finally:
        fitted.config = replace(fitted.config, **{"train.precision": "auto"})
    from scipy.stats import spearmanr

    assert np.isfinite(half).all() and not np.array_equal(half, full)
    assert spearmanr(half, full)[0] > 0.95


def test_depth_thinning_is_fixed_at_fit_and_saved(tiny_config, synthetic_adata, tmp_path):
    """preprocess.thin_quantile (off by default): the depth comes from the normal reference
    spots, the genes from their thinned counts; the depth is applied to every section the model
    sees, reported and kept by save / load."""
    config = replace(tiny_config, **{"preprocess.thin_quantile": 0.25})
    detector = OmibDetector(config).fit(synthetic_adata, use_image=False)
    depths = np.asarray(synthetic_adata.X.sum(axis=1)).ravel()
    assert detector.thin_to == pytest.approx(np.quantile(depths, 0.25))
    pre = config.preprocess
    assert detector.genes == select_genes(
        [synthetic_adata],
        n_top_genes=pre.n_top_genes,
        min_spots=pre.min_spots,
        thin_to=detector.thin_to,
        seed=config.train.seed,
    )
    result = detector.score(synthetic_adata)
    assert result.info["thin_to"] == detector.thin_to
    loaded = OmibDetector.load(detector.save(tmp_path / "model"))
    assert loaded.thin_to == detector.thin_to
    np.testing.assert_array_equal(loaded.score(synthetic_adata).scores, result.scores)
    plain = OmibDetector(tiny_config).fit(synthetic_adata, use_image=False)
    assert plain.thin_to is None and "thin_to" not in plain.score(synthetic_adata).info
    assert not np.allclose(plain.score(synthetic_adata).scores, result.scores)


def test_fusion_free_or_validation_free_settings_are_refused_or_warned(
    tiny_config, synthetic_adata
):
    with pytest.raises(OmibError, match="omib.omf: false"):
        OmibDetector(replace(tiny_config, **{"omib.omf": False})).fit(synthetic_adata)
    config = replace(tiny_config, **{"train.val_fraction": 0.0, "train.max_epochs": 1})
    with pytest.warns(UserWarning, match="val_fraction is 0"):
        OmibDetector(config).fit(synthetic_adata, use_image=False)


def test_fitting_leaves_the_callers_random_state_alone(tiny_config, synthetic_adata):
    import random

    random.seed(7)
    np.random.seed(7)  # noqa: NPY002 (the caller's global state is the point)
    torch.manual_seed(7)
    expected = (random.random(), np.random.random(), torch.rand(1).item())  # noqa: NPY002
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002 (the caller's global state is the point)
    torch.manual_seed(7)
    OmibDetector(replace(tiny_config, **{"train.max_epochs": 1})).fit(
        synthetic_adata, use_image=False
    )
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected  # noqa: NPY002


def _scanned_darker(adata, factor=0.85):
    """``adata`` with every image of its section darker by ``1 - factor``."""
    out = adata.copy()
    for entry in out.uns["spatial"].values():
        images = entry["images"]
        entry["images"] = {k: np.rint(v * factor).astype(np.uint8) for k, v in images.items()}
    return out


def test_a_section_scanned_darker_is_not_read_as_anomalous(tiny_config, fitted, normal_reference):
    as_they_are = OmibDetector(replace(tiny_config, **{"image.stain": "none"}))
    as_they_are.fit(normal_reference)
    darker = _scanned_darker(normal_reference)

    def shift(detector):
        before, after = (detector.score(a).parts["image"] for a in (normal_reference, darker))
        quartiles = np.percentile(before, [25, 75])
        return abs(np.median(after) - np.median(before)) / (quartiles[1] - quartiles[0])

    assert fitted.stain is not None and as_they_are.stain is None
    assert shift(fitted) < 0.2 * shift(as_they_are)

"""The image modality's target (omib_st.model.image_target): computed once per spot, saved with
the model, sensitive to morphology; and the CPU fast path of ``image.freeze: auto``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from omib_st.config import replace
from omib_st.datasets import synthetic_visium
from omib_st.model import OmibDetector
from omib_st.model import image_target as it

TARGET = "descriptors+cnn+context"


@pytest.fixture(scope="module")
def image_config(tiny_config):
    return replace(
        tiny_config, **{"image.target": TARGET, "image.target_dim": 8, "train.device": "cpu"}
    )


@pytest.fixture(scope="module")
def small():
    """A small synthetic section (224 spots): these tests are about the plumbing, not accuracy."""
    return synthetic_visium(n_rows=14, n_cols=16, n_genes=60, seed=0, lesions=())


@pytest.fixture(scope="module")
def fitted(small, image_config):
    """An image-only model fitted on CPU with the defaults' fast path, and the spot counts of
    every raw-target pass during its fit."""
    calls = []
    raw = it.ImageTarget.raw

    def counting(self, adata, extractor, spots, **kwargs):
        calls.append(len(spots))
        return raw(self, adata, extractor, spots, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(it.ImageTarget, "raw", counting)
        config = replace(image_config, **{"train.max_epochs": 4, "train.warmup_epochs": 1})
        detector = OmibDetector(config).fit(small.copy(), use_expression=False)
    return detector, calls


def test_blocks_and_fast_path_choice():
    assert it.blocks_of("descriptors+cnn") == ["descriptors", "cnn"]
    with pytest.raises(Exception, match="image.target"):
        it.blocks_of("descriptors+colour")
    assert it.frozen_backbone("auto", "cpu") is True  # CPU: the fast path
    assert it.frozen_backbone("auto", "cuda") is False  # GPU: the CNN trains
    assert it.frozen_backbone(False, "cpu") is False and it.frozen_backbone(True, "cuda") is True


def test_cpu_defaults_pick_the_fast_path(fitted, small):
    detector, _ = fitted
    assert detector.config.image.freeze == "auto"
    encoder = detector.module.encoders["image"]
    assert encoder.freeze and not any(p.requires_grad for p in encoder.backbone.parameters())
    assert detector.training["image_frozen"] is True
    assert "CPU fast path" in detector.training["image_backbone"]
    assert detector.training["feature_cache_bytes"] > 0
    assert "CPU fast path" in detector.score(small).info["image_backbone"]


def test_target_computed_once_per_spot(fitted, small, monkeypatch):
    detector, calls = fitted
    assert detector.training["epochs"] >= 2
    assert calls == [small.n_obs]  # one pass over the section's spots, not per epoch
    width = detector.image_target.width
    assert width == 2 * 39 + 2 * 8 and detector.module.task.parts["image"] == ("gaussian", width)
    stats = detector.image_target.stats
    assert detector.stain is not None and "lab_mean" not in stats  # the patches are normalised
    assert {
        "descriptors_mean",
        "descriptors_scale",
        "cnn_components",
        "context_components",
    } <= set(stats)
    scored = []
    raw = it.ImageTarget.raw
    monkeypatch.setattr(
        it.ImageTarget, "raw", lambda self, *a, **k: scored.append(1) or raw(self, *a, **k)
    )
    detector.score(small)
    assert scored == [1]


def test_save_load_round_trip_gives_identical_scores(fitted, small, tmp_path):
    detector, _ = fitted
    before = detector.score(small)
    loaded = OmibDetector.load(detector.save(tmp_path / "model"))
    assert loaded.image_target.kind == TARGET and loaded.image_target.network is None
    for key, value in detector.image_target.stats.items():
        np.testing.assert_array_equal(loaded.image_target.stats[key], value)
    after = loaded.score(small)
    np.testing.assert_array_equal(after.parts["image"], before.parts["image"])
    np.testing.assert_array_equal(after.scores, before.scores)


def test_trained_backbone_keeps_a_fixed_target_network(small, image_config, tmp_path):
    config = replace(image_config, **{"image.freeze": False, "image.target": "cnn"})
    detector = OmibDetector(config).fit(small, use_expression=False)
    assert detector.training["image_backbone"] == "trained"
    assert any(p.requires_grad for p in detector.module.encoders["image"].backbone.parameters())
    assert detector.image_target.network is not None  # the backbone as initialised, frozen
    before = detector.score(small)
    loaded = OmibDetector.load(detector.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.score(small).scores, before.scores)


def _plant_nuclei(adata, centre_fraction=(0.5, 0.5), radius_um=380.0, seed=0):
    """Stamp many large dark nuclei into a disk of the hires image; returns the spots inside."""
    rng = np.random.default_rng(seed)
    entry = next(iter(adata.uns["spatial"].values()))
    image = entry["images"]["hires"].astype(np.float32)
    scalef = entry["scalefactors"]["tissue_hires_scalef"]
    xy = adata.obsm["spatial"] * scalef
    centre = xy.min(axis=0) + np.asarray(centre_fraction) * np.ptp(xy, axis=0)
    radius = radius_um * 0.35  # synthetic hires: 0.35 px / µm
    n = int(np.pi * radius**2 / 30)  # dense: one nucleus per 30 px²
    angle, r = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.uniform(0, 1, n))
    px, py = centre[0] + r * np.cos(angle), centre[1] + r * np.sin(angle)
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    od = np.zeros(image.shape[:2], dtype=np.float32)
    for x, y in zip(px, py):  # 3 px nuclei (the normal ones are about 1.5 px)
        y0, y1, x0, x1 = int(y) - 5, int(y) + 6, int(x) - 5, int(x) + 6
        od[y0:y1, x0:x1] += 1.2 * np.exp(
            -((xx[y0:y1, x0:x1] - x) ** 2 + (yy[y0:y1, x0:x1] - y) ** 2) / 4.5
        )
    haematoxylin = np.array([0.65, 0.70, 0.29], dtype=np.float32)
    image = image * np.exp(-np.minimum(od, 2.5)[..., None] * haematoxylin)
    entry["images"]["hires"] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    entry["images"].pop("lowres", None)
    return np.hypot(*(xy - centre).T) <= radius


def test_planted_nuclei_are_detected_by_the_image_only_model(tiny_config):
    reference = synthetic_visium(n_rows=14, n_cols=16, n_genes=60, seed=1, lesions=())
    sample = synthetic_visium(n_rows=14, n_cols=16, n_genes=60, seed=2, lesions=())
    truth = _plant_nuclei(sample)
    assert 10 < truth.sum() < 100
    config = replace(
        tiny_config,
        **{
            "image.target": TARGET,
            "image.target_dim": 8,
            "patch.size": 24,
            "train.max_epochs": 10,
            "train.warmup_epochs": 2,
            "scoring.smoothing": 0.0,
        },
    )
    detector = OmibDetector(config).fit(reference, use_expression=False)
    result = detector.score(sample)
    image = result.parts["image"]
    assert roc_auc_score(truth, image) > 0.8
    assert roc_auc_score(truth, result.scores) > 0.8
    # and by a wide margin in likelihood units (a target that carries nothing leaves ~1e-5)
    assert np.median(image[truth]) - np.median(image[~truth]) > 0.1


@pytest.mark.parametrize("side", [4, 8])
def test_thumbnail_target_has_the_side_of_image_thumbnail(small, tiny_config, side, tmp_path):
    config = replace(tiny_config, **{"image.target": "thumbnail", "image.thumbnail": side})
    detector = OmibDetector(config).fit(small, use_expression=False)
    width = 3 * side * side
    assert detector.image_target.width == width and detector.image_target.stats == {}
    assert detector.module.encoders["thumbnail"].in_dim == width  # the view's input too
    scores = detector.score(small).scores
    assert np.isfinite(scores).all()
    loaded = OmibDetector.load(detector.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.score(small).scores, scores)


def test_fixed_network_is_a_frozen_copy():
    from omib_st.nn import ImageEncoder

    encoder = ImageEncoder("test_resnet", out_dim=4)
    copy = it.fixed_network(encoder)
    assert copy is not encoder and not any(p.requires_grad for p in copy.parameters())
    with torch.no_grad():
        next(encoder.parameters()).add_(1.0)
    assert not torch.equal(next(encoder.parameters()), next(copy.parameters()))

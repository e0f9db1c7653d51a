"""The saved model folder (omib_st.model.persistence): a faithful round trip, and a folder that
was edited, linked out of, or written in another format is refused."""

import json
import shutil

import numpy as np
import pytest
import torch

from omib_st.config import DetectorConfig
from omib_st.errors import OmibError
from omib_st.model import OmibDetector
from omib_st.model.persistence import (
    CONFIG,
    FORMAT_VERSION,
    META,
    WEIGHTS,
    file_sha256,
    meta_sha256,
)


def test_save_load_round_trip_gives_identical_scores(fitted, synthetic_adata, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = OmibDetector.load(tmp_path / "model")
    assert loaded.genes == fitted.genes and loaded.modalities == fitted.modalities
    assert loaded.threshold == fitted.threshold and loaded.training == fitted.training
    for key, value in fitted.calibration.items():
        np.testing.assert_array_equal(loaded.calibration[key], value)
    np.testing.assert_array_equal(loaded.stain.mean, fitted.stain.mean)
    np.testing.assert_array_equal(loaded.stain.std, fitted.stain.std)
    np.testing.assert_array_equal(
        loaded.score(synthetic_adata).scores, fitted.score(synthetic_adata).scores
    )
    with pytest.raises(OmibError, match="already exists"):
        fitted.save(tmp_path / "model")


def test_model_json_records_the_format_and_every_files_checksum(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    meta = json.loads((path / META).read_text())
    assert meta["format_version"] == FORMAT_VERSION and meta["mode"] == "one_class"
    assert meta["weights_sha256"] == file_sha256(path / WEIGHTS)
    assert meta["config_sha256"] == file_sha256(path / CONFIG)
    assert meta["sha256"] == meta_sha256(meta)
    reordered = dict(reversed(list(meta.items())))
    assert meta_sha256(reordered) == meta_sha256(meta)  # canonical JSON: key order is irrelevant
    assert meta_sha256({**meta, "threshold": 0.0}) != meta_sha256(meta)


def test_one_class_model_saved_before_the_mode_key_still_loads(fitted, synthetic_adata, tmp_path):
    path = fitted.save(tmp_path / "model")
    meta = json.loads((path / META).read_text())
    assert meta.pop("mode") == "one_class"
    meta["sha256"] = meta_sha256(meta)
    (path / META).write_text(json.dumps(meta))
    loaded = OmibDetector.load(path)
    assert loaded.mode == "one_class"
    np.testing.assert_array_equal(
        loaded.score(synthetic_adata).scores, fitted.score(synthetic_adata).scores
    )


@pytest.mark.parametrize("before_image_targets", [False, True])
def test_model_saved_before_image_thumbnail_keeps_its_8_pixel_thumbnail(
    fitted, synthetic_adata, tmp_path, before_image_targets, rewrite_model
):
    path = fitted.save(tmp_path / "model")
    assert fitted.config.image.thumbnail == 8 != DetectorConfig().image.thumbnail
    # as written before the setting existed (and, with before_image_targets, before weights.pt
    # held the image target's state)
    rewrite_model(
        path,
        config=lambda config: config["image"].pop("thumbnail"),
        weights=(lambda weights: weights.pop("image_target")) if before_image_targets else None,
    )
    loaded = OmibDetector.load(path)
    assert loaded.config.image.thumbnail == 8
    np.testing.assert_array_equal(
        loaded.score(synthetic_adata).scores, fitted.score(synthetic_adata).scores
    )


def test_model_saved_before_image_stain_reads_its_patches_as_they_are(
    fitted, synthetic_adata, tmp_path, monkeypatch, rewrite_model
):
    path = fitted.save(tmp_path / "model")
    rewrite_model(
        path,
        config=lambda config: config["image"].pop("stain"),
        weights=lambda weights: weights.pop("stain"),
    )
    loaded = OmibDetector.load(path)
    assert loaded.config.image.stain == "none" and loaded.stain is None
    monkeypatch.setattr(fitted, "stain", None)
    np.testing.assert_array_equal(
        loaded.score(synthetic_adata).scores, fitted.score(synthetic_adata).scores
    )


def test_tampered_or_foreign_model_folders_are_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    weights = path / WEIGHTS
    state = torch.load(weights, weights_only=True)
    next(iter(state["module"].values())).add_(1.0)
    torch.save(state, weights)
    with pytest.raises(OmibError, match="weights.pt does not match its checksum"):
        OmibDetector.load(path)
    meta = json.loads((path / META).read_text())
    meta["format_version"] = 999
    (path / META).write_text(json.dumps(meta))
    with pytest.raises(OmibError, match="format 999"):
        OmibDetector.load(path)
    with pytest.raises(OmibError, match="not an omib-st model folder"):
        OmibDetector.load(tmp_path)


def _raise_threshold(text: str) -> str:
    meta = json.loads(text)
    meta["threshold"] += 1.0  # still valid JSON: only the checksum can catch it
    return json.dumps(meta, indent=1)


def _lower_quantile(text: str) -> str:
    assert "quantile: 0.9\n" in text
    return text.replace("quantile: 0.9\n", "quantile: 0.5\n", 1)


@pytest.mark.parametrize("name, edit", [(META, _raise_threshold), (CONFIG, _lower_quantile)])
def test_an_edited_text_file_is_refused(fitted, tmp_path, name, edit):
    path = fitted.save(tmp_path / "model")
    (path / name).write_text(edit((path / name).read_text()))
    with pytest.raises(OmibError, match=f"{name} does not match its checksum"):
        OmibDetector.load(path)


def test_a_file_linking_out_of_the_folder_is_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "model")
    outside = tmp_path / "elsewhere.pt"
    shutil.move(path / WEIGHTS, outside)
    (path / WEIGHTS).symlink_to(outside)
    with pytest.raises(OmibError, match="outside the model folder"):
        OmibDetector.load(path)

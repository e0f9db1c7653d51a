"""The detector's sections (omib_st.config.tissue)."""

import pytest

from omib_st.config import (
    IMAGE_BLOCKS,
    DetectorConfig,
    ImageEncoderConfig,
    load_config,
    replace,
    to_dict,
)
from omib_st.errors import OmibError


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scoring": {"threshold": "median"}}, "not allowed"),
        ({"scoring": {"quantile": 1.0}}, r"scoring.quantile = 1.0 must be in \(0, 1\)"),
        ({"scoring": {"quantile": 0.0}}, r"must be in \(0, 1\)"),
        ({"scoring": {"prior_anomaly_fraction": 0.0}}, r"must be in \(0, 1\)"),
        ({"scoring": {"smoothing": 1.0}}, r"scoring.smoothing = 1.0 must be in \[0, 1\)"),
        ({"preprocess": {"thin_quantile": 0.0}}, r"preprocess.thin_quantile = 0.0"),
        ({"preprocess": {"min_spots": -1}}, "must be >= 0"),
        ({"graph": {"n_rings": 0}}, "graph.n_rings = 0 must be > 0"),
        ({"patch": {"scale": 0.0}}, "patch.scale = 0.0 must be > 0"),
        ({"expression": {"target_hops": -1}}, "expression.target_hops = -1 must be >= 0"),
        ({"image": {"target_dim": 0}}, "image.target_dim = 0 must be > 0"),
    ],
)
def test_out_of_range_values_name_their_section(data, message):
    with pytest.raises(OmibError, match=message):
        load_config(data)


def test_smoothing_and_trimming_may_be_off():
    config = load_config({"scoring": {"smoothing": 0.0, "self_trim": 0.0}})
    assert config.scoring.smoothing == 0.0 and config.scoring.self_trim == 0.0


def test_every_threshold_rule_is_accepted():
    for rule in ("quantile", "mixture", "otsu", "multiotsu"):
        assert load_config({"scoring": {"threshold": rule}}).scoring.threshold == rule


def test_the_detector_refuses_omf_false_in_one_line():
    with pytest.raises(OmibError, match=r"^the detector scores the fused head.*omib.omf: true"):
        load_config({"omib": {"omf": False}})
    with pytest.raises(OmibError, match="omib.omf: false"):
        replace(DetectorConfig(), **{"omib.omf": False})


def test_a_thumbnail_finer_than_the_patch_is_refused_in_one_line():
    assert load_config({"patch": {"size": 16}, "image": {"thumbnail": 16}}).image.thumbnail == 16
    with pytest.raises(OmibError, match=r"^config image.thumbnail = 32 is larger than patch.size"):
        load_config({"patch": {"size": 16}, "image": {"thumbnail": 32}})


@pytest.mark.parametrize(
    "target", ["thumbnail", "context", "descriptors+cnn", "thumbnail+descriptors+cnn+context"]
)
def test_image_target_blocks_in_order_are_accepted(target):
    image = load_config({"image": {"target": target}}).image
    assert image.target == target and image.blocks == tuple(target.split("+"))
    assert set(image.blocks) <= set(IMAGE_BLOCKS)


@pytest.mark.parametrize("target", ["colour", "", "cnn+thumbnail", "cnn+cnn", "thumbnail+", 3])
def test_image_target_of_unknown_repeated_or_unordered_blocks_is_refused(target):
    with pytest.raises(OmibError, match="image.target"):
        load_config({"image": {"target": target}})


def test_image_encoder_arguments_are_validated_and_round_trip():
    import yaml

    config = load_config(
        {
            "image": {
                "model_kwargs": {"drop_rate": 0.1},
                "mean": [0.1, 0.2, 0.3],
                "std": [0.5, 0.5, 0.5],
                "freeze": True,
            }
        }
    )
    image = config.image
    assert image.mean == (0.1, 0.2, 0.3) and image.std == (0.5, 0.5, 0.5)
    assert image.model_kwargs == {"drop_rate": 0.1} and image.freeze is True
    assert load_config(yaml.safe_load(yaml.safe_dump(to_dict(config)))) == config
    assert DetectorConfig().image.freeze == "auto"  # the CPU fast path by default
    bad = [{"mean": "grey"}, {"mean": []}, {"std": ["a"]}, {"model_kwargs": [1]}]
    bad += [{"freeze": "sometimes"}, {"target": "colour"}]
    for image_bad in bad:
        with pytest.raises(OmibError):
            load_config({"image": image_bad})


def test_image_normalisation_needs_positive_std_and_matching_lengths():
    with pytest.raises(OmibError, match="image.std .* not > 0"):
        ImageEncoderConfig(std=(0.5, 0.0, 0.5))
    with pytest.raises(OmibError, match="image.mean has 3 values but image.std 1"):
        load_config({"image": {"mean": [0.5, 0.5, 0.5], "std": [0.2]}})
    assert ImageEncoderConfig(std=(0.2,)).std == (0.2,)


def test_auto_settings_resolve_per_mode_and_explicit_ones_stay():
    config = DetectorConfig()
    assert config.expression.n_layers == "auto"
    assert config.for_mode("one_class").expression.n_layers == 2
    supervised = config.for_mode("supervised")
    assert supervised.expression.n_layers == 1
    assert supervised.for_mode("one_class") == supervised  # resolved values stay
    fixed = replace(config, **{"expression.n_layers": 3})
    assert fixed.for_mode("supervised") == fixed
    assert load_config(to_dict(supervised)) == supervised  # resolved values round-trip

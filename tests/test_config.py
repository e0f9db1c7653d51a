import pytest

from omib_st.config import DetectorConfig, load_config, replace, to_dict
from omib_st.errors import OmibError


def test_defaults_round_trip_through_plain_dicts():
    config = load_config()
    assert config == DetectorConfig()
    assert load_config(to_dict(config)) == config


def test_yaml_file_overrides_and_unknown_keys_are_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  max_epochs: 3\nomib:\n  beta: 0.5\n")
    config = load_config(path)
    assert config.train.max_epochs == 3 and config.omib.beta == 0.5
    path.write_text("train:\n  epochz: 3\n")
    with pytest.raises(OmibError, match="unknown config key.*epochz.*valid keys"):
        load_config(path)
    with pytest.raises(OmibError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"train": {"lr": -1.0}}, "must be > 0"),
        ({"train": {"val_fraction": 1.5}}, r"in \[0, 1\)"),
        ({"omib": {"fusion": "sum"}}, "not allowed"),
        ({"omib": {"beta": "big"}}, "wrong type"),
        ({"train": {"max_epochs": 2.5}}, "integer"),
        ({"train": "fast"}, "must be a mapping"),
        ({"omib": {"r_min": 1.5, "r_max": 1.2}}, "r_min = 1.5 is above omib.r_max = 1.2"),
        ({"scoring": {"threshold": "median"}}, "not allowed"),
    ],
)
def test_out_of_range_and_mistyped_values(data, message):
    with pytest.raises(OmibError, match=message):
        load_config(data)


def test_replace_takes_dotted_paths_and_validates():
    config = replace(DetectorConfig(), **{"train.seed": 3, "omib.fusion": "concat"})
    assert config.train.seed == 3 and config.omib.fusion == "concat"
    with pytest.raises(OmibError):
        replace(config, **{"train.devices": 0})


def test_every_threshold_rule_is_accepted():
    for rule in ("quantile", "mixture", "otsu", "multiotsu"):
        assert load_config({"scoring": {"threshold": rule}}).scoring.threshold == rule


def test_image_encoder_arguments_are_validated_and_round_trip():
    import yaml

    config = load_config({"image": {"model_kwargs": {"drop_rate": 0.1}, "mean": [0.1, 0.2, 0.3],
                                    "std": [0.5, 0.5, 0.5], "freeze": True}})  # fmt: skip
    image = config.image
    assert image.mean == (0.1, 0.2, 0.3) and image.std == (0.5, 0.5, 0.5)
    assert image.model_kwargs == {"drop_rate": 0.1} and image.freeze is True
    assert load_config(yaml.safe_load(yaml.safe_dump(to_dict(config)))) == config
    assert DetectorConfig().image.freeze == "auto"  # the CPU fast path by default
    for bad in ({"mean": "grey"}, {"mean": []}, {"std": ["a"]}, {"model_kwargs": [1]},
                {"freeze": "sometimes"}, {"target": "colour"}):  # fmt: skip
        with pytest.raises(OmibError):
            load_config({"image": bad})

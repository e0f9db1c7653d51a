"""Configurations from and to mappings and YAML files (omib_st.config.loading)."""

import warnings

import pytest
import yaml

from omib_st.config import DetectorConfig, from_dict, load_config, replace, to_dict
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


def test_exponent_floats_are_read_as_numbers(tmp_path):
    """PyYAML reads ``1e-3`` (no dot) as a string; a number field takes it as YAML 1.2 does."""
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 1e-3\n  weight_decay: 5E-4\nomib:\n  beta: 2e-2\n")
    config = load_config(path)
    assert (config.train.lr, config.train.weight_decay, config.omib.beta) == (1e-3, 5e-4, 0.02)
    assert replace(config, **{"omib.beta_scale": "10"}).omib.beta_scale == 10.0
    with pytest.raises(OmibError, match="must be a number"):
        load_config({"train": {"lr": "1e-3x"}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"omib": {"fusion": "sum"}}, "not allowed"),
        ({"omib": {"beta": "big"}}, "wrong type"),
        ({"train": {"max_epochs": 2.5}}, "integer"),
        ({"train": {"lr": float("nan")}}, "finite number"),
        ({"train": {"progress_bar": "yes"}}, "true or false"),
        ({"train": {"checkpoint_dir": 3}}, "wrong type"),
        ({"train": "fast"}, "must be a mapping"),
        ({"image": {"backbone": 18}}, "must be a string"),
    ],
)
def test_mistyped_values_are_refused(data, message):
    with pytest.raises(OmibError, match=message):
        load_config(data)


def test_replace_takes_dotted_paths_and_validates():
    config = replace(DetectorConfig(), **{"train.seed": 3, "omib.fusion": "concat"})
    assert config.train.seed == 3 and config.omib.fusion == "concat"
    with pytest.raises(OmibError):
        replace(config, **{"train.devices": 0})
    with pytest.raises(OmibError, match="min_epochs = 5 is above train.max_epochs = 2"):
        replace(config, **{"train.min_epochs": 5, "train.max_epochs": 2})


def test_a_removed_setting_is_ignored_with_a_warning_in_user_configs(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("mi:\n  estimator: mine\n  steps: 7\n")
    with pytest.warns(FutureWarning, match=r"config mi\.estimator .*no longer read.*remove it"):
        config = load_config(path)
    assert config.mi.steps == 7 and config == replace(DetectorConfig(), **{"mi.steps": 7})
    with pytest.raises(OmibError, match="unknown config key.*estimatr"):
        load_config({"mi": {"estimatr": "mine"}})  # a misspelt key is still an error


def test_an_older_saved_model_configuration_still_loads_quietly(tmp_path):
    from omib_st.model.persistence import CONFIG, _read_config

    old = to_dict(DetectorConfig())
    old["mi"]["estimator"] = "mine"  # what every model saved before the field was removed has
    (tmp_path / CONFIG).write_text(yaml.safe_dump(old))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a saved model cannot be edited: no warning
        assert _read_config(tmp_path) == DetectorConfig()
    dropped: list[str] = []
    from_dict(DetectorConfig, old, dropped=dropped)
    assert dropped == ["mi.estimator (MINE is the only estimator)"]

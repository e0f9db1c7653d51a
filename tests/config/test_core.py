"""The OMIB core's sections (omib_st.config.core): ranges per field and checks between fields."""

import dataclasses

import pytest

from omib_st.config import MIConfig, OMIBConfig, TrainConfig, load_config
from omib_st.errors import OmibError


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"train": {"lr": -1.0}}, "train.lr = -1.0 must be > 0"),
        ({"train": {"val_fraction": 1.5}}, r"in \[0, 1\)"),
        ({"train": {"max_epochs": 0}}, "train.max_epochs = 0 must be > 0"),
        ({"train": {"devices": 0}}, "train.devices = 0 must be > 0"),
        ({"train": {"seed": -1}}, "train.seed = -1 is not a seed"),
        ({"mi": {"eval_fraction": 0.0}}, r"mi.eval_fraction = 0.0 must be in \(0, 1\)"),
        ({"omib": {"beta": 0.0}}, "omib.beta = 0.0 must be > 0"),
        ({"omib": {"beta_scale": 0}}, "omib.beta_scale = 0.0 must be > 0"),
        ({"omib": {"r_min": 1.5, "r_max": 1.2}}, "r_min = 1.5 is above omib.r_max = 1.2"),
        ({"omib": {"fused_dim": 30}}, "fused_dim = 30 is not a multiple of omib.n_heads = 4"),
        ({"train": {"min_epochs": 60}}, "min_epochs = 60 is above train.max_epochs = 50"),
    ],
)
def test_out_of_range_and_inconsistent_values_are_refused(data, message):
    with pytest.raises(OmibError, match=message):
        load_config(data)


def test_rules_belong_to_fields_not_to_names():
    # warm-up may be skipped, the main stage may not; β is a positive number or "auto"
    assert TrainConfig(warmup_epochs=0).warmup_epochs == 0
    with pytest.raises(OmibError, match="train.max_epochs"):
        TrainConfig(max_epochs=0)
    assert OMIBConfig(beta=0.5).beta == 0.5 and OMIBConfig(beta="auto").beta == "auto"


def test_sections_made_directly_are_checked_too():
    with pytest.raises(OmibError, match="mi.steps = 0 must be > 0"):
        MIConfig(steps=0)
    with pytest.raises(OmibError, match="train.min_epochs = 3 is above train.max_epochs = 2"):
        TrainConfig(max_epochs=2, min_epochs=3)
    with pytest.raises(OmibError, match="fused_dim"):
        dataclasses.replace(OMIBConfig(), n_heads=3)


def test_concat_fusion_takes_any_head_count_and_omf_false_is_a_core_setting():
    assert OMIBConfig(fusion="concat", fused_dim=30).fused_dim == 30
    assert OMIBConfig(omf=False).omf is False  # the benchmarks' "w/o OMF" ablation


def test_the_unread_estimator_field_is_gone():
    assert "estimator" not in {f.name for f in dataclasses.fields(MIConfig)}
    assert "estimator" in MIConfig.removed

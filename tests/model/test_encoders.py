"""The encoder registry and the module built from it (omib_st.model.encoders)."""

import numpy as np
import pytest
import torch

from omib_st.config import replace
from omib_st.model import OmibDetector
from omib_st.model.encoders import ENCODERS, build_module
from omib_st.pp import Projection


def _unfitted(config, *, use_image: bool, use_expression: bool = True) -> OmibDetector:
    detector = OmibDetector(config)
    detector.use_image, detector.use_expression = use_image, use_expression
    detector.genes = [f"g{i}" for i in range(4)]
    detector.projection = Projection(np.zeros(4), np.ones(4), np.eye(2, 4))
    return detector


@pytest.mark.parametrize("use_image, use_expression", [(True, True), (False, True), (True, False)])
def test_every_modality_set_is_built_from_the_registry(tiny_config, use_image, use_expression):
    detector = _unfitted(tiny_config, use_image=use_image, use_expression=use_expression)
    assert set(detector.modalities) <= set(ENCODERS)
    module = build_module(detector)
    assert list(module.encoders) == detector.modalities


def test_weights_are_seeded_and_leave_the_callers_rng_alone(tiny_config):
    detector = _unfitted(tiny_config, use_image=False)
    torch.manual_seed(11)
    expected = torch.rand(1)
    torch.manual_seed(11)
    first, second = build_module(detector), build_module(detector)
    assert torch.rand(1) == expected
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)  # NaN: unset buffers
    other = _unfitted(replace(tiny_config, **{"train.seed": 1}), use_image=False)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(first.state_dict().values(), build_module(other).state_dict().values())
    )


def test_image_encoder_settings_reach_the_backbone(tiny_config):
    config = replace(
        tiny_config,
        **{
            "image.mean": [0.1, 0.2, 0.3],
            "image.std": [0.5, 0.6, 0.7],
            "image.model_kwargs": {"drop_rate": 0.25},
        },
    )
    encoder = build_module(_unfitted(config, use_image=True, use_expression=False)).encoders[
        "image"
    ]
    assert encoder.mean.flatten().tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert encoder.std.flatten().tolist() == pytest.approx([0.5, 0.6, 0.7])
    assert encoder.backbone.drop_rate == 0.25

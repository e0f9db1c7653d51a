import pytest
import torch

from omib_st.errors import OmibError
from omib_st.nn import ImageEncoder


def test_uint8_and_float_inputs_give_the_requested_width():
    encoder = ImageEncoder("test_resnet", out_dim=12)
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    assert encoder(images).shape == (3, 12)
    assert encoder(images.float() / 255).shape == (3, 12)


def test_frozen_backbone_gets_no_gradient():
    encoder = ImageEncoder("test_resnet", out_dim=4, freeze=True).train()
    encoder(torch.rand(2, 3, 32, 32)).sum().backward()
    assert all(p.grad is None for p in encoder.backbone.parameters())
    assert encoder.project.weight.grad is not None
    assert not encoder.backbone.training


def test_local_weights_file_is_loaded(tmp_path):
    source = ImageEncoder("test_resnet", out_dim=4)
    path = tmp_path / "weights.pth"
    torch.save(source.backbone.state_dict(), path)
    loaded = ImageEncoder("test_resnet", out_dim=4, weights=path)
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(value, loaded.backbone.state_dict()[key]), key


def test_bad_backbone_or_weights_are_clear_errors(tmp_path):
    with pytest.raises(OmibError, match="unknown timm backbone"):
        ImageEncoder("no_such_net")
    with pytest.raises(OmibError, match="not found"):
        ImageEncoder("test_resnet", weights=tmp_path / "missing.pth")


def test_channels_last_gives_the_same_features():
    torch.manual_seed(0)
    fast = ImageEncoder("test_resnet", out_dim=4).eval()
    torch.manual_seed(0)
    plain = ImageEncoder("test_resnet", out_dim=4, channels_last=False).eval()
    conv = next(m for m in fast.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(fast(images), plain(images), rtol=1e-4, atol=1e-5)


def test_cached_features_skip_the_backbone():
    encoder = ImageEncoder("test_resnet", out_dim=4, freeze=True).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    features = encoder.features(images)
    assert features.shape == (3, encoder.backbone.num_features)
    torch.testing.assert_close(encoder(features.half()), encoder(images), rtol=1e-2, atol=1e-3)
    torch.testing.assert_close(encoder(features), encoder(images))

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


def test_input_normalisation_comes_from_the_timm_data_config():
    from timm.data import resolve_model_data_config

    encoder = ImageEncoder("test_resnet", out_dim=4)
    config = resolve_model_data_config(encoder.backbone)
    torch.testing.assert_close(encoder.mean.flatten(), torch.tensor(config["mean"]))
    torch.testing.assert_close(encoder.std.flatten(), torch.tensor(config["std"]))
    custom = ImageEncoder("test_resnet", out_dim=4, mean=(0.7, 0.6, 0.7), std=(0.2, 0.2, 0.2))
    torch.testing.assert_close(custom.mean.flatten(), torch.tensor([0.7, 0.6, 0.7]))
    assert custom.data_config["std"] == (0.2, 0.2, 0.2)
    grey = ImageEncoder("test_resnet", out_dim=4, in_chans=1)
    assert grey.mean.flatten().tolist() == [0.0] and grey.std.flatten().tolist() == [1.0]


def test_fixed_size_vit_gets_its_input_resampled():
    encoder = ImageEncoder("test_vit3", out_dim=5, freeze=True).eval()
    assert encoder.input_size == encoder.data_config["input_size"][-1]
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    assert encoder(images).shape == (2, 5)
    assert encoder.features(images).shape == (2, encoder.backbone.num_features)
    assert ImageEncoder("test_resnet", out_dim=4).input_size is None


def _checkpoint_folder(path, source, *, architecture="test_vit", mean=(0.7, 0.58, 0.7)):
    import json

    from safetensors.torch import save_file

    path.mkdir()
    save_file(
        {k: v.contiguous() for k, v in source.backbone.state_dict().items()},
        path / "model.safetensors",
    )
    (path / "config.json").write_text(
        json.dumps(
            {
                "architecture": architecture,
                "model_args": {"qkv_bias": False},
                "pretrained_cfg": {
                    "mean": list(mean),
                    "std": [0.21, 0.23, 0.18],
                    "source": "hf-hub",
                    "hf_hub_id": "nobody/nothing",
                },
            }
        )
    )
    return path


def test_local_checkpoint_folder_gives_weights_arguments_and_normalisation(tmp_path):
    source = ImageEncoder("test_vit", out_dim=4, model_kwargs={"qkv_bias": False})
    folder = _checkpoint_folder(tmp_path / "uni_like", source)
    loaded = ImageEncoder("test_vit", out_dim=4, weights=folder, freeze=True)
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(value, loaded.backbone.state_dict()[key]), key
    torch.testing.assert_close(loaded.mean.flatten(), torch.tensor([0.7, 0.58, 0.7]))
    with pytest.raises(OmibError, match="set the image backbone to test_vit"):
        ImageEncoder("test_vit2", weights=folder)
    with pytest.raises(OmibError, match="do not fit"):
        ImageEncoder("test_vit", weights=folder, model_kwargs={"embed_dim": 32})
    (folder / "model.safetensors").unlink()
    with pytest.raises(OmibError, match="has none of"):
        ImageEncoder("test_vit", weights=folder)


def test_dotted_layer_names_in_model_args_are_resolved():
    from omib_st.nn.image_encoder import _resolve_layer

    assert _resolve_layer("torch.nn.SiLU") is torch.nn.SiLU
    assert _resolve_layer("gelu") == "gelu" and _resolve_layer(1e-5) == 1e-5
    assert _resolve_layer("no.such.Layer") == "no.such.Layer"

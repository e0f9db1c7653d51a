"""Image encoder: any timm backbone by name (CNN or ViT), pooled and projected to ``out_dim``.

Pathology foundation models kept locally (timm-format ViTs such as UNI, Virchow, H-optimus) are
used through the same class: ``backbone`` names the architecture and ``weights`` the local
checkpoint, either a weights file (``.bin``/``.pth``/``.safetensors``) or the model's downloaded
folder (``config.json`` in timm's hub format beside ``model.safetensors`` or
``pytorch_model.bin``), from which the architecture arguments and the input normalisation are
read. With ``freeze=True`` the backbone runs once per spot (the detector's frozen-feature cache),
so even a ViT-L fits a CPU-only machine. In a detector configuration::

    image:
      backbone: vit_large_patch16_224     # the architecture of the checkpoint
      weights: /models/uni                # folder with config.json, or the weights file
      freeze: true

Nothing is ever downloaded: ``pretrained=True`` without ``weights`` needs timm's cache.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from omib_st.errors import OmibError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "pytorch_model.pth")
"""Weights files looked for, in order, in a checkpoint folder."""
_REMOTE_KEYS = ("source", "hf_hub_id", "hf_hub_filename", "url")  # never fetch: load the file


def _resolve_layer(value: Any) -> Any:
    """A dotted ``"module.attr"`` string (as Virchow's ``config.json`` gives ``mlp_layer`` and
    ``act_layer``) as the object it names; anything else unchanged."""
    if not (isinstance(value, str) and "." in value):
        return value
    module, _, name = value.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return value


def checkpoint_folder(path: str | Path) -> tuple[Path, str | None, dict, dict]:
    """A local checkpoint folder in timm's hub format: its weights file, architecture, model
    arguments and ``pretrained_cfg`` (mean, std, input size…), read from ``config.json``."""
    path = Path(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise OmibError(
            f"checkpoint folder {path} has no config.json",
            "give the weights file itself, or the model's downloaded folder",
        )
    config = json.loads(config_file.read_text())
    weights = next((path / name for name in WEIGHT_FILES if (path / name).is_file()), None)
    if weights is None:
        raise OmibError(
            f"checkpoint folder {path} has none of {', '.join(WEIGHT_FILES)}",
            "download the weights file into it",
        )
    model_args = {k: _resolve_layer(v) for k, v in (config.get("model_args") or {}).items()}
    pretrained_cfg = {
        k: v for k, v in (config.get("pretrained_cfg") or {}).items() if k not in _REMOTE_KEYS
    }
    return weights, config.get("architecture"), model_args, pretrained_cfg


def _fixed_input_size(backbone: nn.Module, data_config: dict) -> int | None:
    """The side a backbone requires (a ViT built without ``dynamic_img_size``), else None."""
    patch_embed = getattr(backbone, "patch_embed", None)
    if patch_embed is None or not getattr(patch_embed, "strict_img_size", False):
        return None
    return int(data_config["input_size"][-1])


class ImageEncoder(nn.Module):
    """timm backbone (``num_classes=0``: pooled features) followed by a linear projection.

    uint8 input is scaled to [0, 1] on the device and normalised with the mean and standard
    deviation of the backbone's timm data config (:func:`timm.data.resolve_model_data_config`:
    the checkpoint's own values when it declares them, else the architecture's defaults), for
    ``in_chans == 3``; so patches can travel host → GPU as bytes. Float input is taken as already
    normalised. Backbones that accept one input size only (ViTs built without
    ``dynamic_img_size``) get their input resampled to it. A 2-D input ``[B, num_features]`` is
    taken as backbone features already computed (the frozen-feature cache): only the projection
    runs.

    Parameters
    ----------
    backbone
        Any name ``timm.create_model`` accepts (``resnet18``, ``vit_large_patch16_224``,
        ``test_resnet``…). With a checkpoint folder, it must match its ``architecture``.
    out_dim
        Width of the projection.
    pretrained, weights
        Hub weights cannot be downloaded offline, so ``pretrained=False`` is the default; give
        ``weights``, a local weights file in timm's format or a checkpoint folder
        (:func:`checkpoint_folder`), to start from them.
    freeze
        Keep the backbone fixed (eval mode, no gradients); only the projection trains.
    channels_last
        Run the backbone in channels-last memory format (faster convolutions with cuDNN and
        oneDNN).
    model_kwargs
        Extra ``timm.create_model`` arguments (e.g. ``init_values=1e-5`` for UNI given as a
        bare weights file); they override a checkpoint folder's ``model_args``.
    mean, std
        Input normalisation overriding the data config's (e.g. a checkpoint's published values).

    Shapes:
        - **input**: ``[B, in_chans, H, W]`` (uint8 or float), or ``[B, num_features]`` features
        - **output**: ``[B, out_dim]``
    """

    def __init__(
        self,
        backbone: str = "resnet18",
        out_dim: int = 64,
        *,
        in_chans: int = 3,
        pretrained: bool = False,
        weights: str | Path | None = None,
        freeze: bool = False,
        channels_last: bool = True,
        model_kwargs: dict[str, Any] | None = None,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ):
        super().__init__()
        self.backbone = _create(
            backbone,
            in_chans,
            pretrained,
            weights,
            model_kwargs,
            {k: v for k, v in (("mean", mean), ("std", std)) if v is not None},
        )
        self.freeze, self.channels_last = freeze, channels_last
        if channels_last:
            self.backbone.to(memory_format=torch.channels_last)
        if freeze:
            self.backbone.requires_grad_(False)
        self.project = nn.Linear(self.backbone.num_features, out_dim)
        self.out_dim, self.in_chans = out_dim, in_chans
        self.data_config = _data_config(self.backbone)
        self.input_size = _fixed_input_size(self.backbone, self.data_config)
        normalise = in_chans == 3
        mean = self.data_config["mean"] if normalise else (0.0,) * in_chans
        std = self.data_config["std"] if normalise else (1.0,) * in_chans
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> ImageEncoder:
        super().train(mode)
        if self.freeze:
            self.backbone.eval()
        return self

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[B, num_features]`` (cacheable when frozen)."""
        if images.dtype == torch.uint8:
            images = (images.float() / 255.0 - self.mean) / self.std
        if self.input_size is not None and images.shape[-2:] != (self.input_size,) * 2:
            images = nn.functional.interpolate(
                images, size=(self.input_size,) * 2, mode="bilinear", antialias=True
            )
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.backbone(images)

    def forward(self, images: Tensor) -> Tensor:
        if images.ndim == 2:  # cached backbone features
            return self.project(images.to(self.project.weight.dtype))
        if self.freeze:
            with torch.no_grad():
                features = self.features(images)
        else:
            features = self.features(images)
        return self.project(features)


def _data_config(backbone: nn.Module) -> dict:
    """timm's data config of a model (mean, std, input size), resolved from its pretrained_cfg."""
    from timm.data import resolve_model_data_config

    return resolve_model_data_config(backbone)


def _create(
    backbone: str,
    in_chans: int,
    pretrained: bool,
    weights: str | Path | None,
    model_kwargs: dict[str, Any] | None,
    overlay: dict[str, Any],
) -> nn.Module:
    """``timm.create_model`` with local weights (file or checkpoint folder), errors made clear."""
    import timm

    kwargs: dict[str, Any] = {"num_classes": 0, "in_chans": in_chans}
    if weights is not None:
        weights = Path(weights)
        if weights.is_dir():
            weights, architecture, model_args, pretrained_cfg = checkpoint_folder(weights)
            if architecture is not None and architecture != backbone:
                raise OmibError(
                    f"checkpoint {weights.parent} is a {architecture!r}, not {backbone!r}",
                    f"set the image backbone to {architecture}",
                )
            kwargs.update(model_args)
            overlay = {**pretrained_cfg, **overlay}
        elif not weights.is_file():
            raise OmibError(
                f"image encoder weights {weights} not found", "give an existing local weights file"
            )
        kwargs["pretrained"] = True
        overlay = {**overlay, "file": str(weights)}
    else:
        kwargs["pretrained"] = pretrained
    kwargs.update(model_kwargs or {})
    if overlay:
        kwargs["pretrained_cfg_overlay"] = overlay
    if not timm.is_model(backbone):
        raise OmibError(f"unknown timm backbone {backbone!r}", "use a name from timm.list_models()")
    try:
        return timm.create_model(backbone, **kwargs)
    except RuntimeError as err:  # weights that do not fit the architecture
        first = (str(err).splitlines() or [""])[0]
        raise OmibError(
            f"weights {weights} do not fit backbone {backbone!r} ({first})",
            "check the architecture name and its arguments (model_kwargs / config.json)",
        ) from None
    except OSError as err:  # no network for hub weights
        raise OmibError(
            f"pretrained weights for {backbone!r} cannot be downloaded ({type(err).__name__})",
            "set pretrained=False or give a local weights file",
        ) from None

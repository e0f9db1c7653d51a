"""CNN image encoder: any timm backbone by name, pooled and projected to ``out_dim``."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from omib_st.errors import OmibError

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageEncoder(nn.Module):
    """timm backbone (``num_classes=0``: pooled features) followed by a linear projection.

    uint8 input is scaled to [0, 1] on the device and normalised with ImageNet statistics (for
    ``in_chans == 3``), so patches can travel host → GPU as bytes. Float input is used as given.
    A 2-D input ``[B, num_features]`` is taken as backbone features already computed (the
    frozen-feature cache): only the projection runs.

    Parameters
    ----------
    backbone
        Any name ``timm.create_model`` accepts (``resnet18``, ``efficientnet_b0``, ``test_resnet``…).
    pretrained, weights
        Hub weights cannot be downloaded offline, so ``pretrained=False`` is the default; give
        ``weights`` (a local ``.pth``/``.safetensors`` file in timm's format) to start from them.
    freeze
        Keep the backbone fixed (eval mode, no gradients); only the projection trains.
    channels_last
        Run the backbone in channels-last memory format: faster convolutions with cuDNN (tensor
        cores) and with oneDNN on CPU (about 30 % less CPU time for ``resnet10t`` on 32 px
        patches, measured).

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
    ):
        super().__init__()
        import timm

        kwargs: dict = {"num_classes": 0, "in_chans": in_chans}
        if weights is not None:
            if not Path(weights).is_file():
                raise OmibError(
                    f"image encoder weights {weights} not found",
                    "give an existing local weights file",
                )
            kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(weights)})
        else:
            kwargs["pretrained"] = pretrained
        try:
            self.backbone = timm.create_model(backbone, **kwargs)
        except RuntimeError as err:  # unknown model name
            raise OmibError(
                f"unknown timm backbone {backbone!r} ({err})", "use a name from timm.list_models()"
            ) from None
        except OSError as err:  # no network for hub weights
            raise OmibError(
                f"pretrained weights for {backbone!r} cannot be downloaded ({type(err).__name__})",
                "set pretrained=False or give a local weights file",
            ) from None
        self.freeze, self.channels_last = freeze, channels_last
        if channels_last:
            self.backbone.to(memory_format=torch.channels_last)
        if freeze:
            self.backbone.requires_grad_(False)
        self.project = nn.Linear(self.backbone.num_features, out_dim)
        self.out_dim, self.in_chans = out_dim, in_chans
        normalise = in_chans == 3
        mean = torch.tensor(_IMAGENET_MEAN if normalise else (0.0,) * in_chans).view(1, -1, 1, 1)
        std = torch.tensor(_IMAGENET_STD if normalise else (1.0,) * in_chans).view(1, -1, 1, 1)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)

    def train(self, mode: bool = True) -> ImageEncoder:
        super().train(mode)
        if self.freeze:
            self.backbone.eval()
        return self

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[B, num_features]`` (cacheable when frozen)."""
        if images.dtype == torch.uint8:
            images = (images.float() / 255.0 - self.mean) / self.std
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

"""Encoders of the CREMA-D benchmark: timm CNNs over spectrograms and over video frames."""

from __future__ import annotations

from torch import Tensor, nn

from omib_st.benchmarks.cremad.config import CremadConfig
from omib_st.nn import ImageEncoder


class FrameEncoder(nn.Module):
    """An image encoder applied to every frame, mean-pooled over time.

    Shapes:
        - **input**: ``[B, T, C, H, W]`` (uint8 or float)
        - **output**: ``[B, out_dim]``
    """

    def __init__(self, image_encoder: ImageEncoder):
        super().__init__()
        self.image_encoder, self.out_dim = image_encoder, image_encoder.out_dim

    def forward(self, frames: Tensor) -> Tensor:
        batch, time = frames.shape[:2]
        features = self.image_encoder(frames.flatten(0, 1))
        return features.view(batch, time, -1).mean(1)


def build_encoders(config: CremadConfig) -> dict[str, nn.Module]:
    """One encoder per modality of ``config.modalities``, in order, trained from scratch."""
    make = {
        "audio": lambda: ImageEncoder(config.backbone, config.out_dim, in_chans=1),
        "visual": lambda: FrameEncoder(ImageEncoder(config.backbone, config.out_dim)),
    }
    return {m: make[m]() for m in config.modalities}

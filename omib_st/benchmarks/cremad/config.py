"""Settings of the CREMA-D benchmark (defaults follow OGM-GE where it states them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omib_st.benchmarks.modalities import set_modalities, train_field
from omib_st.config import MIConfig, OMIBConfig, TrainConfig
from omib_st.config.rules import Section, positive, random_seed
from omib_st.errors import OmibError

MODALITIES = ("audio", "visual")
FIX_MODALITIES = "give audio,visual (OMIB), visual,audio, audio or visual (unimodal baselines)"


@dataclass(frozen=True)
class CremadConfig(Section):
    """Everything a CREMA-D run needs besides the data paths."""

    modalities: tuple[str, ...] = MODALITIES
    """Two modalities train OMIB (the first is the reference); one trains the unimodal baseline."""
    fps: int = 1
    """Extraction rate in the frame folder name ``Image-{fps:02d}-FPS``."""
    frames: int = 1
    """Frames used per clip (random sorted subset in training, evenly spaced otherwise)."""
    image_size: int = 224
    augment: bool = True
    """Training frames: random resized crop + horizontal flip (as OGM-GE); else a plain resize."""
    sample_rate: int = 22050
    duration: float = 3.0
    n_fft: int = 512
    hop_length: int = 353
    spectrogram: Literal["stft", "logmel"] = "stft"
    n_mels: int = 128
    backbone: str = "resnet18"
    """timm backbone of both encoders, trained from scratch (``in_chans=1`` for spectrograms)."""
    out_dim: int = positive(128)
    split_seed: int = random_seed(0)
    """Seed of the stratified validation split carved from ``train.csv`` (``train.val_fraction``)."""
    omib: OMIBConfig = field(default_factory=OMIBConfig)
    train: TrainConfig = train_field(batch_size=64, warmup_epochs=10, max_epochs=50, min_epochs=0)
    mi: MIConfig = field(default_factory=MIConfig)

    def check(self) -> None:
        set_modalities(self, "CREMA-D", MODALITIES, FIX_MODALITIES)
        for name in ("fps", "frames", "image_size", "sample_rate", "n_fft", "hop_length", "n_mels"):
            if getattr(self, name) < 1:
                raise OmibError(f"CREMA-D setting {name} = {getattr(self, name)} must be >= 1")
        if self.duration <= 0:
            raise OmibError(f"CREMA-D setting duration = {self.duration} must be > 0")
        if self.train.val_fraction <= 0:
            raise OmibError(
                "train.val_fraction = 0 leaves no validation split for model selection",
                "give a fraction in (0, 1), e.g. 0.1",
            )

"""Settings of the CMU-MOSI benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from omib_st.benchmarks.modalities import set_modalities, train_field
from omib_st.config import MIConfig, OMIBConfig, TrainConfig
from omib_st.config.rules import Section, fraction, positive
from omib_st.errors import OmibError

MODALITIES = ("text", "audio", "vision")
FIX_MODALITIES = "give two or three of text, audio, vision (OMIB) or one (unimodal baseline)"


@dataclass(frozen=True)
class MosiConfig(Section):
    """Everything a MOSI run needs besides the pickle path."""

    modalities: tuple[str, ...] = MODALITIES
    """Two or three train OMIB (the first is the reference); one trains the unimodal baseline."""
    text: Literal["auto", "features", "tokens"] = "auto"
    """MMSA: ``features`` = the ``text`` array (BERT outputs), ``tokens`` = ids of ``text_bert``
    through a learned embedding; ``auto`` prefers features. MAG-BERT pickles always give words."""
    encoder: Literal["transformer", "lstm"] = "transformer"
    hidden_dim: int = positive(64)
    out_dim: int = positive(64)
    n_layers: int = positive(1)
    n_heads: int = positive(4)
    dropout: float = fraction(0.1)
    max_len: int | None = None
    """Cut every sequence to this many steps (None keeps them whole)."""
    standardize: bool = True
    """z-score each feature with train statistics over valid (non-padding) steps."""
    loss: Literal["mse", "l1"] = "mse"
    omib: OMIBConfig = field(default_factory=OMIBConfig)
    train: TrainConfig = train_field(batch_size=32, warmup_epochs=5, max_epochs=40, min_epochs=0)
    mi: MIConfig = field(default_factory=MIConfig)

    def check(self) -> None:
        set_modalities(self, "MOSI", MODALITIES, FIX_MODALITIES)
        if self.max_len is not None and self.max_len < 1:
            raise OmibError(f"MOSI setting max_len = {self.max_len} must be >= 1 or null")
        if self.hidden_dim % self.n_heads:
            raise OmibError(
                f"MOSI hidden_dim {self.hidden_dim} is not a multiple of n_heads {self.n_heads}"
            )

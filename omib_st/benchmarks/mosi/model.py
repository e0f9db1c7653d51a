"""Encoders of the MOSI benchmark: one sequence encoder per modality."""

from __future__ import annotations

from torch import nn

from omib_st.benchmarks.mosi.config import MosiConfig
from omib_st.benchmarks.mosi.data import MosiData
from omib_st.nn.sequence_encoder import SequenceEncoder


def build_encoders(config: MosiConfig, data: MosiData) -> dict[str, nn.Module]:
    """A Transformer or LSTM per modality of ``config.modalities``, in order."""
    encoders = {}
    for modality in config.modalities:
        values = data.inputs["train"][modality].values
        tokens = not values.is_floating_point()
        length = max(split[modality].values.shape[1] for split in data.inputs.values())
        encoders[modality] = SequenceEncoder(
            0 if tokens else values.shape[-1],
            config.out_dim,
            kind=config.encoder,
            hidden_dim=config.hidden_dim,
            n_layers=config.n_layers,
            n_heads=config.n_heads,
            dropout=config.dropout,
            vocab_size=data.vocab_size if tokens else None,
            max_len=length,
        )
    return encoders

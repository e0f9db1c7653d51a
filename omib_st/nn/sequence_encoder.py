"""Sequence encoder: a Transformer or an LSTM over padded feature (or token) sequences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence


class SequenceEncoder(nn.Module):
    """Encode a padded sequence into one vector, ignoring the padding.

    The input is either a tensor (every position is valid) or a mapping
    ``{"values": tensor, "lengths": [B]}`` whose first ``lengths[b]`` positions are valid.
    A length of 0 is read as 1 (an all-padding sequence still yields a finite vector).

    Parameters
    ----------
    in_dim
        Feature width; ignored when ``vocab_size`` is given.
    out_dim
        Width of the output vector.
    kind
        ``transformer``: pre-norm encoder layers with learned positions, then a masked mean over
        time; ``lstm``: a bidirectional LSTM whose last hidden states (both directions) are joined.
    vocab_size
        Input is token ids (0 = padding) embedded by a learned table of this size.
    max_len
        Longest sequence the Transformer's position table covers.

    Shapes:
        - **values**: ``[B, L, in_dim]`` float, or ``[B, L]`` integer token ids with ``vocab_size``
        - **lengths**: ``[B]`` integers in ``[0, L]``
        - **output**: ``[B, out_dim]``
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 64,
        *,
        kind: Literal["transformer", "lstm"] = "transformer",
        hidden_dim: int = 64,
        n_layers: int = 1,
        n_heads: int = 4,
        dropout: float = 0.1,
        vocab_size: int | None = None,
        max_len: int = 512,
    ):
        super().__init__()
        if kind not in ("transformer", "lstm"):
            raise ValueError(f"kind must be 'transformer' or 'lstm', got {kind!r}")
        self.kind, self.max_len = kind, max_len
        self.in_dim, self.out_dim, self.vocab_size = in_dim, out_dim, vocab_size
        if vocab_size is not None:
            self.embed: nn.Module = nn.Embedding(vocab_size, hidden_dim, padding_idx=0)
        else:
            self.embed = nn.Linear(in_dim, hidden_dim)
        if kind == "transformer":
            self.position = nn.Parameter(torch.zeros(max_len, hidden_dim))
            nn.init.normal_(self.position, std=0.02)
            layer = nn.TransformerEncoderLayer(
                hidden_dim, n_heads, 2 * hidden_dim, dropout, batch_first=True, norm_first=True
            )
            self.body: nn.Module = nn.TransformerEncoder(
                layer, n_layers, norm=nn.LayerNorm(hidden_dim), enable_nested_tensor=False
            )
            width = hidden_dim
        else:
            self.body = nn.LSTM(
                hidden_dim,
                hidden_dim,
                n_layers,
                batch_first=True,
                bidirectional=True,
                dropout=dropout if n_layers > 1 else 0.0,
            )
            width = 2 * hidden_dim
        self.project = nn.Linear(width, out_dim)

    def forward(self, x: Tensor | Mapping[str, Tensor]) -> Tensor:
        if isinstance(x, Mapping):
            values, lengths = x["values"], x["lengths"]
        else:
            values, lengths = x, None
        batch, length = values.shape[:2]
        if lengths is None:
            lengths = torch.full((batch,), length, device=values.device)
        lengths = lengths.to(values.device).long().clamp(1, length)
        h = self.embed(values.long() if self.vocab_size is not None else values.float())
        if self.kind == "lstm":
            return self.project(self._lstm(h, lengths))
        if length > self.max_len:
            raise ValueError(f"sequence length {length} exceeds max_len {self.max_len}")
        valid = torch.arange(length, device=h.device)[None, :] < lengths[:, None]
        h = self.body(h + self.position[:length], src_key_padding_mask=~valid)
        weights = valid.unsqueeze(-1).to(h.dtype)
        pooled = (h * weights).sum(1) / weights.sum(1)
        return self.project(pooled)

    def _lstm(self, h: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (last, _) = self.body(packed)
        return torch.cat([last[-2], last[-1]], dim=-1)

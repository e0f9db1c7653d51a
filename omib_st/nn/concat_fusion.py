"""Concatenation fusion: the paper's "w/o cross-attention" ablation of the CAN."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConcatFusion(nn.Module):
    """ξ = Linear([ζ_1 ‖ … ‖ ζ_k]).

    Shapes:
        - **input**: ``dict[str, [B, latent_dim]]`` with the keys of ``modalities``
        - **output**: ``[B, fused_dim]``
    """

    def __init__(self, modalities: list[str], latent_dim: int, fused_dim: int):
        super().__init__()
        self.modalities = list(modalities)
        self.project = nn.Linear(len(self.modalities) * latent_dim, fused_dim)

    def forward(self, zeta: dict[str, Tensor]) -> Tensor:
        return self.project(torch.cat([zeta[m] for m in self.modalities], dim=-1))

"""The cross-attention network (CAN) that fuses the modalities' bottleneck codes into ξ."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CrossAttentionBlock(nn.Module):
    """One modality's tokens attend to the other modalities' tokens (post-norm residual block).

    Shapes:
        - **query**: ``[B, T, d]``; **context**: ``[B, T', d]``
        - **output**: ``[B, T, d]``
    """

    def __init__(self, dim: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim)
        )
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, query: Tensor, context: Tensor) -> Tensor:
        attended, _ = self.attention(query, context, context, need_weights=False)
        x = self.norm1(query + attended)
        return self.norm2(x + self.feed_forward(x))


class CrossAttentionFusion(nn.Module):
    """Bidirectional multi-head cross-attention over modality tokens, pooled to ξ.

    Each ζ_m is projected to ``n_tokens`` tokens plus a learned modality and position embedding;
    in every layer each modality's tokens query the concatenated tokens of all other modalities;
    tokens are mean-pooled per modality, concatenated and projected to ``fused_dim``.

    Shapes:
        - **input**: ``dict[str, [B, latent_dim]]`` with the keys of ``modalities``
        - **output**: ``[B, fused_dim]``
    """

    def __init__(
        self,
        modalities: list[str],
        latent_dim: int,
        fused_dim: int,
        *,
        n_tokens: int = 4,
        n_heads: int = 4,
        n_layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        if len(modalities) < 2:
            raise ValueError("cross-attention fusion needs at least two modalities")
        if fused_dim % n_heads:
            raise ValueError(f"fused_dim={fused_dim} must be divisible by n_heads={n_heads}")
        self.modalities = list(modalities)
        self.n_tokens, self.dim = n_tokens, fused_dim
        self.tokenize = nn.ModuleDict(
            {m: nn.Linear(latent_dim, n_tokens * fused_dim) for m in self.modalities}
        )
        self.modality_embedding = nn.Parameter(torch.randn(len(modalities), 1, fused_dim) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn(n_tokens, fused_dim) * 0.02)
        self.layers = nn.ModuleList(
            nn.ModuleDict(
                {m: CrossAttentionBlock(fused_dim, n_heads, dropout) for m in self.modalities}
            )
            for _ in range(n_layers)
        )
        self.project = nn.Linear(len(modalities) * fused_dim, fused_dim)

    def forward(self, zeta: dict[str, Tensor]) -> Tensor:
        tokens = {
            m: self.tokenize[m](zeta[m]).view(-1, self.n_tokens, self.dim)
            + self.modality_embedding[i]
            + self.position_embedding
            for i, m in enumerate(self.modalities)
        }
        for layer in self.layers:
            tokens = {
                m: layer[m](tokens[m], torch.cat([tokens[o] for o in self.modalities if o != m], 1))
                for m in self.modalities
            }
        pooled = torch.cat([tokens[m].mean(dim=1) for m in self.modalities], dim=-1)
        return self.project(pooled)

"""Per-modality variational bottleneck (the VAE_m of the method)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class VariationalBottleneck(nn.Module):
    """Maps z_m to (μ_m, log σ²_m) and samples ζ_m = μ_m + σ_m ⊙ ε; at eval time ζ_m = μ_m.

    Shapes:
        - **input**: ``[B, in_dim]``
        - **output**: ``(zeta, mu, logvar)``, each ``[B, latent_dim]``
    """

    def __init__(
        self, in_dim: int, latent_dim: int, logvar_min: float = -10.0, logvar_max: float = 10.0
    ):
        super().__init__()
        self.mu = nn.Linear(in_dim, latent_dim)
        self.logvar = nn.Linear(in_dim, latent_dim)
        self.logvar_min, self.logvar_max = logvar_min, logvar_max

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu = self.mu(z)
        logvar = self.logvar(z).clamp(self.logvar_min, self.logvar_max)
        if not self.training:
            return mu, mu, logvar
        zeta = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return zeta, mu, logvar

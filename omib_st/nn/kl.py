"""Closed-form KL divergence of a diagonal Gaussian from the standard normal."""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) in nats, summed over the last dimension.

    Shapes:
        - **mu**, **logvar**: ``[B, d]``
        - **output**: ``[B]``
    """
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=-1)

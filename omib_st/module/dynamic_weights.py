"""The dynamic per-modality weights r_m of the KL terms."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DynamicWeights(nn.Module):
    """r_m = 1 − tanh(ln(mean D_m / mean D_1)), EMA-smoothed and clamped; r_1 = 1.

    D_m is the task information modality m adds beyond ξ (see :meth:`Task.divergence`). A
    modality with more of it than the reference modality gets r_m < 1 and is compressed less.
    Under distributed training the batch means are taken over every process's batch (sums and
    counts all-reduced), so every process folds the same global batch into the same r.

    Shapes:
        - **divergences**: ``[k, B]`` (rows in modality order, the reference modality first)
        - **output**: ``[k]``
    """

    def __init__(
        self,
        n_modalities: int,
        *,
        momentum: float = 0.9,
        r_min: float = 0.01,
        r_max: float = 1.99,
        enabled: bool = True,
        eps: float = 1e-8,
    ):
        super().__init__()
        self.momentum, self.r_min, self.r_max = momentum, r_min, r_max
        self.enabled, self.eps = enabled, eps
        self.register_buffer("r", torch.ones(n_modalities))

    @staticmethod
    def instantaneous(divergences: Tensor, eps: float = 1e-8) -> Tensor:
        """Unsmoothed, unclamped r from one batch of divergences ``[k, B]``."""
        return _r_of_means(divergences.float().mean(dim=1), eps)

    @torch.no_grad()
    def update(self, divergences: Tensor) -> Tensor:
        """Fold one batch (all processes' batches under DDP) into the moving average; return r."""
        if not self.enabled:
            return self.r
        target = _r_of_means(_global_mean(divergences.float()), self.eps)
        # A NaN or infinite batch (e.g. inf / inf) carries no usable signal: keep the current r.
        target = torch.where(torch.isfinite(target), target, self.r)
        smoothed = self.momentum * self.r + (1.0 - self.momentum) * target
        smoothed = smoothed.clamp(self.r_min, self.r_max)
        smoothed[0] = 1.0
        self.r.copy_(smoothed)
        return self.r

    def forward(self) -> Tensor:
        return self.r


def _r_of_means(mean: Tensor, eps: float) -> Tensor:
    mean = mean.clamp_min(eps)
    return 1.0 - torch.tanh(torch.log(mean / mean[0]))


def _global_mean(divergences: Tensor) -> Tensor:
    """Per-row mean of ``[k, B]`` over this batch, or over the batches of all processes."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return divergences.mean(dim=1)
    sums = torch.cat([divergences.sum(dim=1), divergences.new_tensor([divergences.shape[1]])])
    dist.all_reduce(sums)
    return sums[:-1] / sums[-1]

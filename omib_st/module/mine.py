"""MINE: mutual information by the Donsker–Varadhan bound (Belghazi et al., 2018).

Used for the β bound (Ĥ(v) as I(v; v), Î(v_1; v_2)). Note that I(X; X) is infinite for a
continuous X: on a held-out set of n samples the DV bound saturates near log(n), so Ĥ measures
how separable the representations are up to that ceiling, not a differential entropy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MutualInformationEstimator(Protocol):
    """Anything that maps pairs of paired samples ``a [N, p]``, ``b [N, q]`` (the same N in every
    pair) to estimates of I(a; b), one per pair."""

    def many(self, pairs: Sequence[tuple[Tensor, Tensor]]) -> list[float]: ...


def donsker_varadhan(t_joint: Tensor, t_marginal: Tensor) -> Tensor:
    """DV lower bound E_P[T] − log E_Q[e^T] from statistics on joint and shuffled pairs (over
    the last dimension)."""
    log_mean_exp = torch.logsumexp(t_marginal, -1) - math.log(t_marginal.shape[-1])
    return t_joint.mean(-1) - log_mean_exp


class MINE:
    """Trains a statistics network T(a, b) = MLP([a ‖ b]) and returns the held-out DV bound.

    Marginal pairs shuffle ``b`` within the batch. The gradient of log E_Q[e^T] is corrected with
    a moving average of E_Q[e^T] (the bias-corrected MINE gradient). Inputs are standardised.

    The held-out bound is evaluated every ``eval_every`` steps and the best one is returned (early
    stopping on held-out data): for I(v; v), which is unbounded, the statistics network never
    converges and the bound after the last step can fall anywhere, below zero included
    (docs/benchmarks.md, Synthetic).
    """

    def __init__(
        self,
        *,
        hidden_dim: int = 64,
        steps: int = 300,
        batch_size: int = 256,
        lr: float = 1e-3,
        ema_momentum: float = 0.99,
        eval_fraction: float = 0.2,
        eval_every: int = 10,
        seed: int = 0,
    ):
        self.hidden_dim, self.steps, self.batch_size, self.lr = hidden_dim, steps, batch_size, lr
        self.ema_momentum, self.eval_fraction, self.seed = ema_momentum, eval_fraction, seed
        self.eval_every = eval_every

    def __call__(self, a: Tensor, b: Tensor) -> float:
        """The held-out DV bound on I(a; b), in nats."""
        return self.many([(a, b)])[0]

    def many(self, pairs: Sequence[tuple[Tensor, Tensor]]) -> list[float]:
        """:meth:`__call__` for each pair, with the networks trained in lockstep as one batched
        network (:class:`_StatisticsNetworks`): the same batches, one forward and backward pass
        and one optimiser step for all of them. The networks share nothing, so each estimate is
        the one :meth:`__call__` gives for its pair alone, up to the round-off of the batched
        matrix products."""
        n = pairs[0][0].shape[0]
        for a, b in pairs:
            if a.shape[0] != b.shape[0] or a.shape[0] != n or n < 4:
                raise ValueError(f"MINE needs paired samples (got {a.shape[0]} and {b.shape[0]})")
            if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
                raise ValueError("MINE needs finite samples (got NaN or infinite values)")
        generator = torch.Generator().manual_seed(self.seed)
        a, b = (_padded([_standardise(pair[i]) for pair in pairs]) for i in (0, 1))
        order = torch.randperm(n, generator=generator)
        n_eval = max(2, int(round(self.eval_fraction * n)))
        eval_idx, train_idx = order[:n_eval], order[n_eval:]
        widths = [(pair[0][0].numel(), pair[1][0].numel()) for pair in pairs]
        network = _StatisticsNetworks(widths, (a.shape[2], b.shape[2]), self.hidden_dim, self.seed)
        optimiser = torch.optim.Adam(network.parameters(), lr=self.lr, foreach=True)
        ema: Tensor | None = None
        momentum = self.ema_momentum
        batch = min(self.batch_size, len(train_idx))
        held_out = eval_idx[torch.randperm(len(eval_idx), generator=generator)]
        best = torch.zeros(len(pairs), dtype=torch.float64)
        for step in range(1, self.steps + 1):
            idx = train_idx[torch.randperm(len(train_idx), generator=generator)[:batch]]
            shuffled = idx[torch.randperm(len(idx), generator=generator)]
            t_joint, t_marginal = network(a, b, idx, shuffled)
            mean_exp = torch.exp(t_marginal.clamp(max=30)).mean(1)
            ema = (
                mean_exp.detach()
                if ema is None
                else momentum * ema + (1 - momentum) * mean_exp.detach()
            )
            # Surrogate whose gradient is E_P[∇T] − E_Q[e^T ∇T] / EMA(E_Q[e^T]).
            losses = -(t_joint.mean(1) - mean_exp / ema.clamp_min(1e-12))
            optimiser.zero_grad()
            losses.sum().backward()  # independent networks: each gets its own gradient
            optimiser.step()
            if step % self.eval_every == 0 or step == self.steps:
                bounds = _held_out_bounds(network, a, b, eval_idx, held_out).double()
                # an overflowing e^T is no estimate
                best = torch.where(torch.isfinite(bounds), torch.maximum(best, bounds), best)
        return best.tolist()


class _StatisticsNetworks(nn.Module):
    """k independent statistics networks T_j([a_j ‖ b_j]) (Linear → GELU, twice, → Linear),
    evaluated together with batched matrix products. Inputs are zero-padded to common widths;
    the weights of padded inputs are zero and stay zero (they get no gradient). Each network
    starts as the :class:`torch.nn.Linear` layers drawn after ``torch.manual_seed(seed)``,
    whatever the others (the global random state is left as it was)."""

    def __init__(self, widths, padded: tuple[int, int], hidden: int, seed: int):
        super().__init__()
        k = len(widths)
        self.w1 = nn.Parameter(torch.zeros(k, sum(padded), hidden))
        self.b1 = nn.Parameter(torch.zeros(k, 1, hidden))
        self.w2 = nn.Parameter(torch.zeros(k, hidden, hidden))
        self.b2 = nn.Parameter(torch.zeros(k, 1, hidden))
        self.w3 = nn.Parameter(torch.zeros(k, hidden, 1))
        self.b3 = nn.Parameter(torch.zeros(k, 1, 1))
        for j, (width_a, width_b) in enumerate(widths):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                first = nn.Linear(width_a + width_b, hidden)
                second, last = nn.Linear(hidden, hidden), nn.Linear(hidden, 1)
            with torch.no_grad():
                self.w1[j, :width_a] = first.weight.T[:width_a]
                self.w1[j, padded[0] : padded[0] + width_b] = first.weight.T[width_a:]
                self.w2[j], self.w3[j] = second.weight.T, last.weight.T
                self.b1[j, 0], self.b2[j, 0], self.b3[j, 0] = first.bias, second.bias, last.bias

    def statistics(self, x: Tensor) -> Tensor:
        """``[k, B, width] → [k, B]``."""
        h = F.gelu(torch.baddbmm(self.b1, x, self.w1))
        h = F.gelu(torch.baddbmm(self.b2, h, self.w2))
        return torch.baddbmm(self.b3, h, self.w3).squeeze(-1)

    def forward(
        self, a: Tensor, b: Tensor, joint: Tensor, shuffled: Tensor
    ) -> tuple[Tensor, Tensor]:
        """T on the joint pairs ``(a[joint], b[joint])`` and on the marginal pairs
        ``(a[joint], b[shuffled])``, ``[k, B]`` each."""
        a_joint = a[:, joint]
        x = torch.cat(
            [torch.cat([a_joint, b[:, joint]], -1), torch.cat([a_joint, b[:, shuffled]], -1)], 1
        )
        return self.statistics(x).split(len(joint), 1)


def _padded(samples: list[Tensor]) -> Tensor:
    """``[N, d_j]`` samples as one ``[k, N, max d_j]`` block, zero-padded."""
    width = max(x.shape[1] for x in samples)
    return torch.stack([F.pad(x, (0, width - x.shape[1])) for x in samples])


@torch.no_grad()
def _held_out_bounds(network, a: Tensor, b: Tensor, joint: Tensor, shuffled: Tensor) -> Tensor:
    """The DV bound of every network on the held-out pairs ``joint`` (marginals: ``b[shuffled]``)."""
    t_joint, t_marginal = network(a, b, joint, shuffled)
    log_mean_exp = torch.logsumexp(t_marginal, 1) - math.log(t_marginal.shape[1])
    return t_joint.mean(1) - log_mean_exp


def _standardise(x: Tensor) -> Tensor:
    x = x.detach().float().cpu().reshape(x.shape[0], -1)
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-6)

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
from torch import Tensor

from omib_st.nn.mlp import MLP


class MutualInformationEstimator(Protocol):
    """Anything that maps pairs of paired samples ``a [N, p]``, ``b [N, q]`` (the same N in every
    pair) to estimates of I(a; b), one per pair."""

    def many(self, pairs: Sequence[tuple[Tensor, Tensor]]) -> list[float]: ...


def donsker_varadhan(t_joint: Tensor, t_marginal: Tensor) -> Tensor:
    """DV lower bound E_P[T] − log E_Q[e^T] from statistics on joint and shuffled pairs."""
    log_mean_exp = torch.logsumexp(t_marginal, 0) - math.log(t_marginal.numel())
    return t_joint.mean() - log_mean_exp


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
        """:meth:`__call__` for each pair, with the networks trained in lockstep: the same
        batches, one backward pass and one optimiser step for all of them. Each estimate is the
        one :meth:`__call__` gives for its pair alone, bit for bit."""
        n = pairs[0][0].shape[0]
        for a, b in pairs:
            if a.shape[0] != b.shape[0] or a.shape[0] != n or n < 4:
                raise ValueError(f"MINE needs paired samples (got {a.shape[0]} and {b.shape[0]})")
            if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
                raise ValueError("MINE needs finite samples (got NaN or infinite values)")
        generator = torch.Generator().manual_seed(self.seed)
        pairs = [(_standardise(a), _standardise(b)) for a, b in pairs]
        order = torch.randperm(n, generator=generator)
        n_eval = max(2, int(round(self.eval_fraction * n)))
        eval_idx, train_idx = order[:n_eval], order[n_eval:]
        networks = []
        for a, b in pairs:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                networks.append(MLP(a.shape[1] + b.shape[1], 1, (self.hidden_dim, self.hidden_dim)))
        parameters = [p for network in networks for p in network.parameters()]
        optimiser = torch.optim.Adam(parameters, lr=self.lr, foreach=True)
        ema: list[Tensor | None] = [None] * len(pairs)
        batch = min(self.batch_size, len(train_idx))
        held_out = eval_idx[torch.randperm(len(eval_idx), generator=generator)]
        best = [0.0] * len(pairs)
        for step in range(1, self.steps + 1):
            idx = train_idx[torch.randperm(len(train_idx), generator=generator)[:batch]]
            shuffled = idx[torch.randperm(len(idx), generator=generator)]
            losses = []
            for k, (network, (a, b)) in enumerate(zip(networks, pairs)):
                t_joint = network(torch.cat([a[idx], b[idx]], 1)).squeeze(-1)
                t_marginal = network(torch.cat([a[idx], b[shuffled]], 1)).squeeze(-1)
                mean_exp = torch.exp(t_marginal.clamp(max=30)).mean()
                ema[k] = (
                    mean_exp.detach()
                    if ema[k] is None
                    else self.ema_momentum * ema[k] + (1 - self.ema_momentum) * mean_exp.detach()
                )
                # Surrogate whose gradient is E_P[∇T] − E_Q[e^T ∇T] / EMA(E_Q[e^T]).
                losses.append(-(t_joint.mean() - mean_exp / ema[k].clamp_min(1e-12)))
            optimiser.zero_grad()
            torch.stack(losses).sum().backward()  # independent networks: each gets its own gradient
            optimiser.step()
            if step % self.eval_every == 0 or step == self.steps:
                for k, (network, (a, b)) in enumerate(zip(networks, pairs)):
                    bound = _held_out_bound(network, a, b, eval_idx, held_out)
                    if math.isfinite(bound):  # an overflowing e^T is no estimate
                        best[k] = max(best[k], bound)
        return best


@torch.no_grad()
def _held_out_bound(network, a: Tensor, b: Tensor, joint: Tensor, shuffled: Tensor) -> float:
    """The DV bound of ``network`` on the held-out pairs ``joint`` (marginals: ``b[shuffled]``)."""
    t_joint = network(torch.cat([a[joint], b[joint]], 1)).squeeze(-1)
    t_marginal = network(torch.cat([a[joint], b[shuffled]], 1)).squeeze(-1)
    return float(donsker_varadhan(t_joint, t_marginal))


def _standardise(x: Tensor) -> Tensor:
    x = x.detach().float().cpu().reshape(x.shape[0], -1)
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-6)

"""The one-class task of the tissue detector: predict the spot's own data under a likelihood.

Each head (the fused dDec(ξ) and every TRB head) outputs the parameters of q(y | ·) for a
self-supervised target y that describes the sample, made of named parts:

| family     | part y                              | q(y | head)                                  |
|------------|-------------------------------------|----------------------------------------------|
| ``nb``     | counts ``[B, G]`` (e.g. of the spot and its neighbours) | negative binomial, mean = library size × softmax(logits), one dispersion θ per gene, fixed before training (:meth:`Likelihood.set_dispersion`) |
| ``gaussian`` | continuous features ``[B, D]``      | N(ŷ, σ²), one learned σ per feature          |

The loss is −log q(y | head) per feature, averaged; D_m = KL(q_m ‖ q_fused) between the branch's
and the fused head's predictive distributions (categorical KL of the expression proportions,
Gaussian KL of the features); and the anomaly evidence of a sample is the very same negative
log-likelihood under the fused head (:meth:`Likelihood.evidence`). One objective, one score.

With θ fixed, the log-gamma terms of the negative binomial do not depend on the model: the
training loss leaves them out (the same gradients, a fraction of the cost) and the evidence
includes them.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from omib_st.module.tasks import FUSED, Task

Family = Literal["nb", "gaussian"]


def nb_nll(counts: Tensor, mean: Tensor, theta: Tensor, *, constants: bool = True) -> Tensor:
    """Elementwise −log NB(counts | mean, dispersion θ) (the scvi-tools parameterisation);
    ``constants=False`` leaves out the terms that do not depend on ``mean``."""
    log_theta_mu = torch.log(theta + mean + 1e-8)
    nll = -(
        theta * (torch.log(theta + 1e-8) - log_theta_mu)
        + counts * (torch.log(mean + 1e-8) - log_theta_mu)
    )
    if constants:
        nll = nll - torch.lgamma(counts + theta) + torch.lgamma(theta) + torch.lgamma(counts + 1)
    return nll


def nb_nll_logits(
    counts: Tensor, logits: Tensor, theta: Tensor, *, constants: bool = True
) -> Tensor:
    """Per-sample mean over genes of :func:`nb_nll` with mean = library size × softmax(logits),
    ``[B, G] → [B]``, with the gradient in closed form (:class:`_NegativeBinomialLogits`)."""
    nll = _NegativeBinomialLogits.apply(logits, counts, theta)
    if constants:
        lgammas = torch.lgamma(counts + 1) - torch.lgamma(counts + theta) + torch.lgamma(theta)
        nll = nll + lgammas.mean(-1)
    return nll


class _NegativeBinomialLogits(torch.autograd.Function):
    """Σ_g [(θ + y) log(θ + μ) − y log μ − θ log θ] / G with μ = L softmax(v), L = Σ_g y.

    Written with log μ = v − logsumexp(v) + log L, so the ``[B, G]`` block is read a few times
    and mostly by reductions. The gradient in closed form, L (u − p (Σ_g u − 1)) − y over G with
    p = softmax(v) and u = p (θ + y) / (θ + μ), is computed in place, where autograd would keep
    and revisit a dozen temporaries. Counts are constants (no gradient)."""

    @staticmethod
    def forward(ctx, logits: Tensor, counts: Tensor, theta: Tensor) -> Tensor:
        log_norm = torch.logsumexp(logits, -1, keepdim=True)
        p = (logits - log_norm).exp_()
        library = counts.sum(-1, keepdim=True)
        theta_mean = torch.addcmul(theta, p, library)
        log_theta_mean = theta_mean.log()
        total = (
            log_theta_mean @ theta
            + torch.linalg.vecdot(counts, log_theta_mean)
            - torch.linalg.vecdot(counts, logits)
            + (library * log_norm - torch.xlogy(library, library)).squeeze(-1)
            - torch.xlogy(theta, theta).sum()
        )
        ctx.save_for_backward(p, theta_mean, counts, theta, library)
        return total / logits.shape[-1]

    @staticmethod
    def backward(ctx, grad: Tensor):
        p, theta_mean, counts, theta, library = ctx.saved_tensors
        u = (counts + theta).div_(theta_mean).mul_(p)
        u.addcmul_(p, 1 - u.sum(-1, keepdim=True)).mul_(library).sub_(counts)
        return u.mul_((grad / p.shape[-1]).unsqueeze(-1)), None, None


def gaussian_nll(target: Tensor, mean: Tensor, log_sigma: Tensor) -> Tensor:
    """Per-sample mean over features of −log N(target | mean, σ²) without the log √(2π) term,
    ``[B, D] → [B]``, one σ per feature, with the gradient in closed form
    (:class:`_GaussianNLL`)."""
    return _GaussianNLL.apply(mean, target, log_sigma)


class _GaussianNLL(torch.autograd.Function):
    """Σ_d [r_d² / 2 + log σ_d] / D with r = (y − ŷ) / σ; gradients −r / σ for ŷ and Σ_b (1 − r²)
    for log σ (over D), from the one saved ``[B, D]`` block r. The target has no gradient."""

    @staticmethod
    def forward(ctx, mean: Tensor, target: Tensor, log_sigma: Tensor) -> Tensor:
        inverse_sigma = torch.exp(-log_sigma)
        r = torch.sub(target, mean).mul_(inverse_sigma)
        ctx.save_for_backward(r, inverse_sigma)
        return (0.5 * torch.linalg.vecdot(r, r) + log_sigma.sum()) / mean.shape[-1]

    @staticmethod
    def backward(ctx, grad: Tensor):
        r, inverse_sigma = ctx.saved_tensors
        scale = grad / r.shape[-1]
        grad_mean = (r * inverse_sigma).mul_(-scale.unsqueeze(-1))
        grad_log_sigma = scale.sum() - scale @ (r * r)
        return grad_mean, None, grad_log_sigma


def nb_dispersion(counts: Tensor, max_theta: float = 1e4) -> Tensor:
    """Method-of-moments dispersion θ per gene of ``counts [N, G]`` around library size ×
    the genes' pooled proportions: Σμ² / Σ((y − μ)² − μ), clipped to [1e-2, ``max_theta``]."""
    counts = counts.double()
    library = counts.sum(-1, keepdim=True)
    mean = library * counts.sum(0) / library.sum().clamp_min(1)
    excess = ((counts - mean).pow(2) - mean).sum(0)
    theta = mean.pow(2).sum(0) / excess.clamp_min(1e-12)
    return theta.clamp(1e-2, max_theta).float()


class Likelihood(Task):
    """Self-supervised one-class task: every head predicts the sample's own target parts.

    Parameters
    ----------
    parts
        ``{name: (family, width)}`` in output order; targets are ``{name: Tensor [B, width]}``.
    """

    kind = "likelihood"

    def __init__(self, parts: dict[str, tuple[Family, int]]):
        super().__init__()
        unknown = {family for family, _ in parts.values()} - {"nb", "gaussian"}
        if unknown or not parts:
            raise ValueError(f"likelihood parts need families 'nb' or 'gaussian', got {parts}")
        self.parts = dict(parts)
        self.out_dim = sum(width for _, width in self.parts.values())
        self.log_sigma = nn.ParameterDict(
            {n: nn.Parameter(torch.zeros(w)) for n, (f, w) in self.parts.items() if f == "gaussian"}
        )
        for name, (family, width) in self.parts.items():
            if family == "nb":
                self.register_buffer(f"theta_{name}", torch.ones(width))

    @torch.no_grad()
    def set_dispersion(self, name: str, counts: Tensor) -> None:
        """Fix the dispersion of ``nb`` part ``name`` from reference counts ``[N, G]``."""
        getattr(self, f"theta_{name}").copy_(nb_dispersion(counts))

    def split(self, prediction: Tensor) -> dict[str, Tensor]:
        """A head's output cut into its parts."""
        widths = [width for _, width in self.parts.values()]
        return dict(zip(self.parts, prediction.float().split(widths, dim=-1)))

    def evidence(
        self, prediction: Tensor, target: dict[str, Tensor], *, constants: bool = True
    ) -> dict[str, Tensor]:
        """Per-sample negative log-likelihood of each part (mean over its features), ``[B]`` each."""
        out = {}
        for name, value in self.split(prediction).items():
            family, _ = self.parts[name]
            y = target[name].float()
            if family == "nb":
                theta = getattr(self, f"theta_{name}")
                out[name] = nb_nll_logits(y, value, theta, constants=constants)
            else:
                out[name] = gaussian_nll(y, value, self.log_sigma[name])
        return out

    def loss(
        self, prediction: Tensor, target: dict[str, Tensor] | None, head: str = FUSED
    ) -> Tensor:
        parts = self.evidence(prediction, target, constants=False)
        return torch.stack(list(parts.values())).sum(0).mean()

    def divergence(self, branch: Tensor, fused: Tensor, head: str) -> Tensor:
        total = branch.new_zeros(branch.shape[0], dtype=torch.float32)
        fused_parts = self.split(fused)
        for name, value in self.split(branch).items():
            family, width = self.parts[name]
            if family == "nb":
                log_p, log_q = F.log_softmax(value, -1), F.log_softmax(fused_parts[name], -1)
                total = total + (log_p.exp() * (log_p - log_q)).sum(-1)
            else:
                variance = (2 * self.log_sigma[name]).exp()
                total = total + ((value - fused_parts[name]).pow(2) / (2 * variance)).mean(-1)
        return total

    def predict(self, prediction: Tensor) -> Tensor:
        """The expected value of every part (proportions for ``nb``), concatenated."""
        return torch.cat(
            [
                torch.softmax(v, -1) if self.parts[n][0] == "nb" else v
                for n, v in self.split(prediction).items()
            ],
            dim=-1,
        )

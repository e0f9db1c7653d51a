"""The OMIB module: encoders → variational bottlenecks → cross-attention fusion → heads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from omib_st.config import OMIBConfig
from omib_st.module.dynamic_weights import DynamicWeights
from omib_st.module.loss import LossOutput
from omib_st.module.tasks import FUSED, Task
from omib_st.nn import MLP, ConcatFusion, CrossAttentionFusion, VariationalBottleneck, gaussian_kl

Stage = Literal["warmup", "main"]


@dataclass
class OMIBOutput:
    """Everything one forward pass produces (per-modality values keyed by modality name)."""

    z: dict[str, Tensor]
    branch: dict[str, Tensor]
    """TRB head outputs Dec_m([z_m ‖ u]): u = noise in warm-up, (stop-gradient) ξ in the main stage."""
    prediction: Tensor | None = None
    """Fused head dDec(ξ), or the mean of the TRB heads without the fusion block."""
    xi: Tensor | None = None
    mu: dict[str, Tensor] | None = None
    logvar: dict[str, Tensor] | None = None
    reconstruction: dict[str, Tensor] | None = None


class OMIB(nn.Module):
    """Optimal Multimodal Information Bottleneck over any k ≥ 2 modalities and any task.

    Parameters
    ----------
    encoders
        One module per modality, in order (the first is the reference modality of the r_m).
        Each maps that modality's input (a tensor or a torch-geometric batch) to ``[B, out_dim]``
        and exposes an ``out_dim`` attribute.
    task
        :class:`~omib_st.module.tasks.Classification`, ``Regression`` or ``OneClass``.
    config
        :class:`~omib_st.config.OMIBConfig`.
    reconstruction_dims
        Optional auxiliary targets (modality → width): in warm-up each z_m reconstructs its own
        target, in the main stage ξ reconstructs all of them. It keeps one-class training from
        collapsing to a constant map and is optional for the other tasks.
    head_hidden
        Hidden width of the TRB, fused and reconstruction heads.
    """

    def __init__(
        self,
        encoders: dict[str, nn.Module],
        task: Task,
        config: OMIBConfig = OMIBConfig(),
        *,
        reconstruction_dims: dict[str, int] | None = None,
        head_hidden: int = 64,
    ):
        super().__init__()
        if len(encoders) < 2:
            raise ValueError(f"OMIB needs at least two modalities, got {list(encoders)}")
        self.modalities = list(encoders)
        self.config, self.task = config, task
        self.encoders = nn.ModuleDict(encoders)
        d_xi, d_zeta = config.fused_dim, config.latent_dim
        bias = config.head_bias or task.head_bias
        z_dims = {m: int(enc.out_dim) for m, enc in encoders.items()}
        self.bottlenecks = nn.ModuleDict(
            {m: VariationalBottleneck(z_dims[m], d_zeta) for m in self.modalities}
        )
        if config.fusion == "cross_attention":
            self.fusion = CrossAttentionFusion(
                self.modalities,
                d_zeta,
                d_xi,
                n_tokens=config.n_tokens,
                n_heads=config.n_heads,
                n_layers=config.n_layers,
                dropout=config.dropout,
            )
        else:
            self.fusion = ConcatFusion(self.modalities, d_zeta, d_xi)
        self.fused_head = MLP(d_xi, task.out_dim, (head_hidden,), bias=bias)
        self.branch_heads = nn.ModuleDict(
            {
                m: MLP(z_dims[m] + d_xi, task.out_dim, (head_hidden,), bias=bias)
                for m in self.modalities
            }
        )
        dims = reconstruction_dims or {}
        if set(dims) - set(self.modalities):
            raise ValueError(
                f"reconstruction targets {sorted(dims)} must name modalities {self.modalities}"
            )
        self.branch_decoders = nn.ModuleDict(
            {m: MLP(z_dims[m], d, (head_hidden,)) for m, d in dims.items()}
        )
        self.fused_decoders = nn.ModuleDict(
            {m: MLP(d_xi, d, (head_hidden,)) for m, d in dims.items()}
        )
        self.weights = DynamicWeights(
            len(self.modalities),
            momentum=config.r_momentum,
            r_min=config.r_min,
            r_max=config.r_max,
            enabled=config.dynamic_r,
        )
        self.register_buffer("beta", torch.tensor(float("nan")))

    def encode(self, inputs: dict[str, Any]) -> dict[str, Tensor]:
        """Task-specific representations z_m."""
        missing = [m for m in self.modalities if m not in inputs]
        if missing:
            raise KeyError(f"inputs lack modalities {missing}; expected {self.modalities}")
        return {m: self.encoders[m](inputs[m]) for m in self.modalities}

    def forward(self, inputs: dict[str, Any], stage: Stage = "main") -> OMIBOutput:
        z = self.encode(inputs)
        batch = next(iter(z.values())).shape[0]
        d_xi = self.config.fused_dim
        if stage == "warmup":
            branch = {
                m: self.branch_heads[m](
                    torch.cat([z[m], z[m].new_empty(batch, d_xi).normal_()], -1)
                )
                for m in self.modalities
            }
            recon = {m: dec(z[m]) for m, dec in self.branch_decoders.items()}
            return OMIBOutput(z=z, branch=branch, reconstruction=recon or None)
        if not self.config.omf:
            zeros = z[self.modalities[0]].new_zeros(batch, d_xi)
            branch = {
                m: self.branch_heads[m](torch.cat([z[m], zeros], -1)) for m in self.modalities
            }
            prediction = torch.stack(list(branch.values())).mean(0)
            recon = {m: dec(z[m]) for m, dec in self.branch_decoders.items()}
            return OMIBOutput(
                z=z, branch=branch, prediction=prediction, reconstruction=recon or None
            )
        zeta, mu, logvar = {}, {}, {}
        for m in self.modalities:
            zeta[m], mu[m], logvar[m] = self.bottlenecks[m](z[m])
        xi = self.fusion(zeta)
        xi_branch = xi.detach() if self.config.trb_detach else xi
        branch = {
            m: self.branch_heads[m](torch.cat([z[m], xi_branch], -1)) for m in self.modalities
        }
        recon = {m: dec(xi) for m, dec in self.fused_decoders.items()}
        return OMIBOutput(
            z=z,
            branch=branch,
            prediction=self.fused_head(xi),
            xi=xi,
            mu=mu,
            logvar=logvar,
            reconstruction=recon or None,
        )

    def loss(
        self,
        output: OMIBOutput,
        target: Tensor | None = None,
        reconstruction: dict[str, Tensor] | None = None,
        *,
        update_r: bool | None = None,
    ) -> LossOutput:
        """Stage-1 loss when ``output.prediction`` is None, the OMIB objective otherwise.

        ``update_r`` (default: in training mode) folds this batch into the EMA of r_m.
        """
        if self.task.needs_target and target is None:
            raise ValueError(f"the {self.task.kind} task needs a target in every batch")
        task = self.task
        branch_losses = {m: task.loss(output.branch[m], target, head=m) for m in self.modalities}
        parts: dict[str, Tensor] = {}
        extra: dict[str, Tensor] = {f"branch_{m}": v.detach() for m, v in branch_losses.items()}
        if output.prediction is None:  # warm-up
            parts["branch"] = torch.stack(list(branch_losses.values())).sum()
        else:
            parts["task"] = task.loss(output.prediction, target, head=FUSED)
            parts["trb"] = self.config.trb_weight * torch.stack(list(branch_losses.values())).sum()
            if output.mu is not None:
                parts["kl"] = self._kl_term(
                    output, extra, self.training if update_r is None else update_r
                )
        if output.reconstruction and reconstruction is not None:
            errors = {
                m: F.mse_loss(output.reconstruction[m].float(), reconstruction[m].float())
                for m in output.reconstruction
            }
            extra.update({f"reconstruction_{m}": v.detach() for m, v in errors.items()})
            parts["reconstruction"] = (
                self.config.reconstruction_weight * torch.stack(list(errors.values())).sum()
            )
        return LossOutput(total=torch.stack(list(parts.values())).sum(), parts=parts, extra=extra)

    def _kl_term(self, output: OMIBOutput, extra: dict[str, Tensor], update_r: bool) -> Tensor:
        kl = torch.stack(
            [
                gaussian_kl(output.mu[m].float(), output.logvar[m].float()).mean()
                for m in self.modalities
            ]
        )
        if update_r:
            with torch.no_grad():
                divergences = torch.stack(
                    [
                        self.task.divergence(output.branch[m], output.prediction, head=m)
                        for m in self.modalities
                    ]
                )
            self.weights.update(divergences)
            extra.update({f"D_{m}": d.mean() for m, d in zip(self.modalities, divergences)})
        r = self.weights.r
        extra.update({f"kl_{m}": v.detach() for m, v in zip(self.modalities, kl)})
        extra.update({f"r_{m}": r[i].detach() for i, m in enumerate(self.modalities)})
        if torch.isnan(self.beta):
            raise RuntimeError("β is not set: estimate the bound after warm-up or call set_beta()")
        extra["beta"] = self.beta.detach()
        return self.beta * torch.sum(r * kl)

    def set_beta(self, beta: float) -> None:
        self.beta.fill_(float(beta))

    @torch.no_grad()
    def predict(self, inputs: dict[str, Any]) -> Tensor:
        """Task output per sample (class, value, or anomaly score ‖dDec(ξ) − c‖²); ζ_m = μ_m."""
        was_training = self.training
        self.eval()
        try:
            return self.task.predict(self(inputs, stage="main").prediction)
        finally:
            self.train(was_training)

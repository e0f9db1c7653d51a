"""Task kinds of the OMIB core: the loss ℓ and the predictive distribution p(ŷ) behind each D_m.

| task           | ℓ                  | p(ŷ)      | D_m = KL(p(ŷ_m) ‖ p(ŷ))        |
|----------------|--------------------|-----------|--------------------------------|
| classification | cross-entropy      | softmax   | KL between categoricals        |
| regression     | MSE (or L1)        | N(ŷ, 1)   | ½ (ŷ_m − ŷ)²                   |
| one-class      | Deep SVDD ‖h − c‖² | N(h, I)   | ½ ‖(h_m − c_m) − (h − c)‖²     |

(The classification loss can be class-weighted; see :class:`Classification`.)

Every head is named: ``"fused"`` for dDec and the modality name for a TRB head; only the one-class
task uses the name (each head has its own centre).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FUSED = "fused"


class Task(nn.Module):
    """Base class: subclasses set ``kind`` and ``out_dim`` and implement the three methods."""

    kind: str
    out_dim: int
    needs_target: bool = True
    head_bias: bool = True
    """Whether the heads that feed the task have a bias (Deep SVDD's must not: a bias lets every
    output sit on the centre)."""
    needs_centres: bool = False
    """Whether heads need centres fixed from data before training on them
    (:meth:`OneClass.set_centre`)."""

    def loss(self, prediction: Tensor, target: Tensor | None, head: str = FUSED) -> Tensor:
        """Mean task loss of a head's predictions."""
        raise NotImplementedError

    def divergence(self, branch: Tensor, fused: Tensor, head: str) -> Tensor:
        """Per-sample D = KL(p(ŷ_branch) ‖ p(ŷ_fused)), shape ``[B]``, in nats."""
        raise NotImplementedError

    def predict(self, prediction: Tensor) -> Tensor:
        """What the task reports per sample: class index, regression value or anomaly score."""
        raise NotImplementedError


class Classification(Task):
    """Cross-entropy over ``n_classes`` logits.

    ``class_weights`` (one per class) weight each sample's cross-entropy by its class, for
    imbalanced classes (``torch.nn.functional.cross_entropy(weight=...)``: the weighted mean);
    they are a buffer, so they are saved and loaded with the state dict.
    """

    kind = "classification"

    def __init__(self, n_classes: int, class_weights: Tensor | None = None):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"classification needs at least 2 classes, got {n_classes}")
        self.out_dim = n_classes
        weights = None
        if class_weights is not None:
            weights = torch.as_tensor(class_weights, dtype=torch.float32).clone()
            if weights.shape != (n_classes,) or not bool((weights > 0).all()):
                raise ValueError(
                    f"class_weights must be {n_classes} positive numbers, got {weights}"
                )
        self.register_buffer("class_weight", weights)  # None: unweighted, not in the state dict

    def loss(self, prediction: Tensor, target: Tensor | None, head: str = FUSED) -> Tensor:
        return F.cross_entropy(prediction.float(), target.long(), weight=self.class_weight)

    def divergence(self, branch: Tensor, fused: Tensor, head: str) -> Tensor:
        log_p_branch = F.log_softmax(branch.float(), dim=-1)
        log_p_fused = F.log_softmax(fused.float(), dim=-1)
        return torch.sum(log_p_branch.exp() * (log_p_branch - log_p_fused), dim=-1)

    def predict(self, prediction: Tensor) -> Tensor:
        return prediction.argmax(dim=-1)


class Regression(Task):
    """Squared (or absolute) error on ``out_dim`` targets; p(ŷ) = N(ŷ, 1)."""

    kind = "regression"

    def __init__(self, out_dim: int = 1, loss: str = "mse"):
        super().__init__()
        if loss not in ("mse", "l1"):
            raise ValueError(f"regression loss must be 'mse' or 'l1', got {loss!r}")
        self.out_dim, self.loss_name = out_dim, loss

    def loss(self, prediction: Tensor, target: Tensor | None, head: str = FUSED) -> Tensor:
        target = target.float().reshape(prediction.shape)
        if self.loss_name == "l1":
            return F.l1_loss(prediction.float(), target)
        return F.mse_loss(prediction.float(), target)

    def divergence(self, branch: Tensor, fused: Tensor, head: str) -> Tensor:
        return 0.5 * (branch.float() - fused.float()).pow(2).sum(dim=-1)

    def predict(self, prediction: Tensor) -> Tensor:
        return prediction.squeeze(-1) if self.out_dim == 1 else prediction


class OneClass(Task):
    """Deep SVDD (Ruff et al. 2018): pull each head's output h towards its fixed centre c.

    Centres are fixed from the mean of the first outputs (:meth:`set_centre`), with coordinates
    closer to 0 than ``eps`` pushed to ±eps. They live in buffers, so they are saved and loaded
    with the model's state dict.
    """

    kind = "one_class"
    needs_target = False
    head_bias = False
    needs_centres = True

    def __init__(self, out_dim: int, heads: list[str], eps: float = 0.1):
        super().__init__()
        self.out_dim, self.eps, self.heads = out_dim, eps, [FUSED, *heads]
        for head in self.heads:
            self.register_buffer(f"centre_{head}", torch.zeros(out_dim))
            self.register_buffer(f"centre_set_{head}", torch.tensor(False))

    def centre(self, head: str) -> Tensor:
        if not bool(getattr(self, f"centre_set_{head}")):
            raise RuntimeError(f"the one-class centre of head {head!r} is not set yet")
        return getattr(self, f"centre_{head}")

    def is_centre_set(self, head: str) -> bool:
        return bool(getattr(self, f"centre_set_{head}"))

    @torch.no_grad()
    def set_centre(self, head: str, outputs: Tensor) -> None:
        """Fix head ``head``'s centre from its outputs ``[N, out_dim]`` on the reference data."""
        centre = outputs.float().mean(dim=0)
        small = centre.abs() < self.eps
        centre[small] = torch.where(centre[small] < 0, -self.eps, self.eps)
        getattr(self, f"centre_{head}").copy_(centre)
        getattr(self, f"centre_set_{head}").fill_(True)

    def distance(self, prediction: Tensor, head: str = FUSED) -> Tensor:
        """Squared distance ‖h − c‖² per sample (the anomaly score of the fused head)."""
        return (prediction.float() - self.centre(head)).pow(2).sum(dim=-1)

    def loss(self, prediction: Tensor, target: Tensor | None = None, head: str = FUSED) -> Tensor:
        return self.distance(prediction, head).mean()

    def divergence(self, branch: Tensor, fused: Tensor, head: str) -> Tensor:
        offset = (branch.float() - self.centre(head)) - (fused.float() - self.centre(FUSED))
        return 0.5 * offset.pow(2).sum(dim=-1)

    def predict(self, prediction: Tensor) -> Tensor:
        return self.distance(prediction)

    @torch.no_grad()
    def anomaly_parts(
        self, output: Any, reconstruction: dict[str, Tensor] | None = None
    ) -> dict[str, Tensor]:
        """Per-sample evidence from an eval-mode OMIB ``output``, each ``[B]``, higher = more
        anomalous: ``svdd`` = ‖dDec(ξ) − c‖², and (when targets are given)
        ``reconstruction_<m>`` = the mean squared error of reconstructing modality m's target
        from ξ. Deep SVDD alone can collapse to a near-constant map; the reconstruction errors
        cannot, so scorers combine the parts."""
        parts = {"svdd": self.predict(output.prediction)}
        if reconstruction is not None and output.reconstruction:
            for m, value in output.reconstruction.items():
                error = (value.float() - reconstruction[m].float()).pow(2).mean(-1)
                parts[f"reconstruction_{m}"] = error
        return parts

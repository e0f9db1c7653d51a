"""Settings of the generic OMIB core (``nn``, ``module``, ``train``): the method, the β bound's
mutual-information estimator, and training. The benchmarks reuse these sections unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omib_st.config.rules import (
    Section,
    fraction,
    non_negative,
    open_fraction,
    positive,
    random_seed,
)
from omib_st.errors import OmibError


@dataclass(frozen=True)
class OMIBConfig(Section):
    """The OMIB core (see docs/method.md); defaults follow ``omib-method.md``."""

    section = "omib"

    latent_dim: int = positive(32)
    """Width d_ζ of each modality's variational bottleneck."""
    fused_dim: int = positive(32)
    """Width d_ξ of the fused representation ξ."""
    fusion: Literal["cross_attention", "concat"] = "cross_attention"
    """``concat`` is the paper's "w/o cross-attention" ablation."""
    n_tokens: int = positive(4)
    """Tokens each ζ_m is split into inside the cross-attention network."""
    n_heads: int = positive(4)
    """Attention heads; ``fused_dim`` must be a multiple of it (with cross-attention)."""
    n_layers: int = positive(1)
    dropout: float = fraction(0.0)
    omf: bool = True
    """False removes the fusion block: predictions are the late fusion (mean) of the TRB heads.
    For the classification benchmarks; the detector scores the fused head, so
    :class:`~omib_st.config.DetectorConfig` refuses it."""
    beta: float | Literal["auto"] = positive("auto")
    """``auto`` = the safe bound M_u^safe = 1 / ((2k - 1) Ĥ(v_1..v_k)), else a fixed float > 0."""
    beta_scale: float = positive(1.0)
    """Multiplies the chosen β (β sweeps are expressed as multiples of M_u)."""
    dynamic_r: bool = True
    """False fixes r_m = 1 for every modality (ablation)."""
    r_momentum: float = fraction(0.9)
    r_min: float = non_negative(0.01)
    r_max: float = positive(1.99)
    """The dynamic weights r_m are clipped to [r_min, r_max]."""
    trb_weight: float = non_negative(1.0)
    """λ_TRB, the weight of the task-relevance-branch losses in the main stage."""
    trb_detach: bool = True
    """Stop the gradient of ξ inside the TRB terms (sg(ξ) of the method page)."""
    reconstruction_weight: float = non_negative(1.0)
    """Weight of the auxiliary reconstruction term (used only when a batch carries a target)."""
    head_bias: bool = False
    """Bias in the heads of a Deep SVDD (``OneClass``) task, where False guards against the
    constant-map collapse; every other task's heads have biases."""

    def check(self) -> None:
        self.at_most(
            "r_min",
            "r_max",
            "give r_min ≤ r_max (the range the dynamic weights r_m are clipped to)",
        )
        if self.fusion == "cross_attention" and self.fused_dim % self.n_heads:
            raise OmibError(
                f"config omib.fused_dim = {self.fused_dim} is not a multiple of "
                f"omib.n_heads = {self.n_heads}",
                "give a fused_dim divisible by n_heads (cross-attention splits ξ into heads)",
            )


@dataclass(frozen=True)
class MIConfig(Section):
    """The MINE estimator of mutual information used for the β bound."""

    section = "mi"
    removed = {"estimator": "MINE is the only estimator"}

    hidden_dim: int = positive(64)
    steps: int = positive(300)
    batch_size: int = positive(256)
    lr: float = positive(1e-3)
    ema_momentum: float = fraction(0.99)
    """Moving average of e^T in the bias-corrected MINE gradient (Belghazi et al. 2018)."""
    eval_fraction: float = open_fraction(0.2)
    """Share of samples held out for the final estimate."""


@dataclass(frozen=True)
class TrainConfig(Section):
    """Optimisation and hardware."""

    section = "train"

    warmup_epochs: int = non_negative(10)
    """Stage 1 length; 0 is the "w/o warm-up" ablation."""
    max_epochs: int = positive(50)
    """Main-stage length (the β estimate and the fused head need at least one epoch)."""
    batch_size: int = positive(256)
    lr: float = positive(1e-3)
    weight_decay: float = non_negative(1e-5)
    patience: int = non_negative(10)
    """Early stopping on the validation loss (stage 2) or training loss when no validation set;
    0 = off."""
    min_epochs: int = non_negative(0)
    """Main-stage epochs before early stopping may end the run (at most ``max_epochs``)."""
    val_fraction: float = fraction(0.1)
    """Share of the training items held out (validation loss, early stopping). The one-class
    detector calibrates its scores on them; with 0 it calibrates on the training spots
    themselves and warns (the CREMA-D benchmark refuses 0)."""
    seed: int = random_seed(0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    devices: int = positive(1)
    """Devices (GPUs, or CPU processes) per node; more than one trains with DDP."""
    num_nodes: int = positive(1)
    strategy: str = "auto"
    """Lightning strategy: ``auto``, ``ddp`` (one process per device; launch with the
    ``omib-st`` command or under SLURM/torchrun), ``ddp_spawn``…; ``ddp`` variants are run with
    ``find_unused_parameters`` (each stage trains a part of the model)."""
    precision: Literal["auto", "32", "bf16-mixed", "16-mixed"] = "auto"
    """``auto`` = bf16 mixed precision on a GPU that supports it, 32-bit otherwise."""
    num_workers: int = non_negative(0)
    progress_bar: bool = True
    checkpoint_dir: str | None = None
    """Where Lightning checkpoints go; enables ``--resume``."""
    max_spots: int | None = positive(None)
    """Train on at most this many normal reference spots (a seeded random subset, genes chosen
    on it too); the graph still covers every spot. For large sections (Visium HD): train on a
    subsample, score every bin."""
    compile: bool = False
    """``torch.compile`` the encoders (dynamic shapes) for training and scoring; pays off on GPU."""

    def check(self) -> None:
        self.at_most(
            "min_epochs",
            "max_epochs",
            "give min_epochs ≤ max_epochs (both count main-stage epochs)",
        )

"""Typed, frozen configuration: the single source of truth for every setting.

YAML appears only at the edges (``--config`` files, workflows): :func:`load_config` turns a
mapping into these dataclasses and refuses unknown keys and out-of-range values, and
:func:`to_dict` turns them back into plain types for ``uns["omib"]["params"]`` and model folders.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from omib_st.errors import OmibError, short, short_name


@dataclass(frozen=True)
class OMIBConfig:
    """The OMIB core (see docs/method.md); defaults follow ``omib-method.md``."""

    latent_dim: int = 32
    """Width d_ζ of each modality's variational bottleneck."""
    fused_dim: int = 32
    """Width d_ξ of the fused representation ξ."""
    fusion: Literal["cross_attention", "concat"] = "cross_attention"
    """``concat`` is the paper's "w/o cross-attention" ablation."""
    n_tokens: int = 4
    """Tokens each ζ_m is split into inside the cross-attention network."""
    n_heads: int = 4
    n_layers: int = 1
    dropout: float = 0.0
    omf: bool = True
    """False removes the fusion block: predictions are the late fusion (mean) of the TRB heads."""
    beta: float | Literal["auto"] = "auto"
    """``auto`` = the safe bound M_u^safe = 1 / ((2k - 1) Ĥ(v_1..v_k)), else a fixed float."""
    beta_scale: float = 1.0
    """Multiplies the chosen β (β sweeps are expressed as multiples of M_u)."""
    dynamic_r: bool = True
    """False fixes r_m = 1 for every modality (ablation)."""
    r_momentum: float = 0.9
    r_min: float = 0.01
    r_max: float = 1.99
    trb_weight: float = 1.0
    """λ_TRB, the weight of the task-relevance-branch losses in the main stage."""
    trb_detach: bool = True
    """Stop the gradient of ξ inside the TRB terms (sg(ξ) of the method page)."""
    reconstruction_weight: float = 1.0
    """Weight of the auxiliary reconstruction term (used only when a batch carries a target)."""
    head_bias: bool = False
    """Bias in the heads of a Deep SVDD (``OneClass``) task, where False guards against the
    constant-map collapse; every other task's heads have biases."""

    def __post_init__(self) -> None:
        if isinstance(self.r_min, int | float) and isinstance(self.r_max, int | float):
            if self.r_min > self.r_max:
                raise OmibError(
                    f"config omib.r_min = {self.r_min:g} is above omib.r_max = {self.r_max:g}",
                    "give r_min ≤ r_max (the range the dynamic weights r_m are clipped to)",
                )


@dataclass(frozen=True)
class MIConfig:
    """The mutual-information estimator used for the β bound."""

    estimator: Literal["mine"] = "mine"
    hidden_dim: int = 64
    steps: int = 300
    batch_size: int = 256
    lr: float = 1e-3
    ema_momentum: float = 0.99
    """Moving average of e^T in the bias-corrected MINE gradient (Belghazi et al. 2018)."""
    eval_fraction: float = 0.2
    """Share of samples held out for the final estimate."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and hardware."""

    warmup_epochs: int = 10
    """Stage 1 length; 0 is the "w/o warm-up" ablation."""
    max_epochs: int = 50
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    patience: int = 10
    """Early stopping on the validation loss (stage 2) or training loss when no validation set."""
    min_epochs: int = 0
    """Main-stage epochs before early stopping may end the run."""
    val_fraction: float = 0.1
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    devices: int = 1
    """Devices (GPUs, or CPU processes) per node; more than one trains with DDP."""
    num_nodes: int = 1
    strategy: str = "auto"
    """Lightning strategy: ``auto``, ``ddp`` (one process per device; launch with the
    ``omib-st`` command or under SLURM/torchrun), ``ddp_spawn``…; ``ddp`` variants are run with
    ``find_unused_parameters`` (each stage trains a part of the model)."""
    precision: Literal["auto", "32", "bf16-mixed", "16-mixed"] = "auto"
    """``auto`` = bf16 mixed precision on a GPU that supports it, 32-bit otherwise."""
    num_workers: int = 0
    progress_bar: bool = True
    checkpoint_dir: str | None = None
    """Where Lightning checkpoints go; enables ``--resume``."""
    max_spots: int | None = None
    """Train on at most this many normal reference spots (a seeded random subset, genes chosen
    on it too); the graph still covers every spot. For large sections (Visium HD): train on a
    subsample, score every bin."""
    compile: bool = False
    """``torch.compile`` the encoders (dynamic shapes) for training and scoring; pays off on GPU."""


@dataclass(frozen=True)
class GraphConfig:
    """Spatial neighbour graph on ``obsm["spatial"]``."""

    method: Literal["knn", "ring"] = "ring"
    """``ring``: neighbours within ``n_rings`` lattice rings (hex Visium, square ST); ``knn``: k nearest."""
    n_neighbors: int = 6
    n_rings: int = 1


@dataclass(frozen=True)
class PreprocessConfig:
    """Reference-aware expression preprocessing."""

    n_top_genes: int = 3000
    target_sum: float = 1e4
    min_spots: int = 3
    """Genes detected in fewer reference spots are dropped before HVG selection."""
    thin_quantile: float | None = None
    """Thin every spot deeper than this quantile of the normal reference spots' library sizes to
    that depth first (binomial thinning; the depth is fixed at fit time and saved with the
    model); None = off: the likelihood takes each spot's library size as it is."""


@dataclass(frozen=True)
class PatchConfig:
    """H&E patches around each spot."""

    size: int = 64
    """Side of the resampled patch in pixels."""
    scale: float = 1.0
    """Patch side in multiples of the spot diameter."""
    resolution: Literal["auto", "fullres", "hires", "lowres"] = "auto"
    """``auto``: the sharpest image available whose spot is at least ``size`` px, else the sharpest."""


@dataclass(frozen=True)
class ExpressionEncoderConfig:
    """GNN over the spatial graph (torch-geometric layers picked by name)."""

    layer: Literal["gcn", "sage", "gat"] = "sage"
    hidden_dim: int = 128
    out_dim: int = 64
    n_layers: int = 2
    dropout: float = 0.1
    n_components: int = 50
    """Input of the expression encoders: this many principal components of the reference-scaled
    log-normalised expression (:class:`omib_st.pp.Projection`, fitted at fit time)."""
    target_hops: int = 1
    """The expression target: the spot's counts summed with those of its neighbours up to this
    many graph hops away (0 = the spot's own counts)."""


@dataclass(frozen=True)
class ImageEncoderConfig:
    """CNN over H&E patches (any timm backbone by name)."""

    backbone: str = "resnet18"
    pretrained: bool = False
    """Hub weights cannot be downloaded offline: give ``weights`` (a local file) instead."""
    weights: str | None = None
    out_dim: int = 64
    freeze: bool | Literal["auto"] = "auto"
    """Freeze the backbone (e.g. pretrained ``weights``); only its projection trains. ``auto``:
    frozen when training runs on a CPU (the fast path: with ``cache_features`` the backbone runs
    once per spot), trained on a GPU (:func:`omib_st.model.image_target.frozen_backbone`)."""
    cache_features: bool = True
    """With a frozen backbone: compute the backbone features of the training spots once and train
    on them (host memory, float16; see :class:`omib_st.model.feature_cache.FeatureCache`)."""
    target: Literal[
        "thumbnail", "descriptors", "cnn", "context", "cnn+context", "thumbnail+cnn+context",
        "descriptors+cnn+context", "thumbnail+descriptors", "thumbnail+cnn", "descriptors+cnn",
        "thumbnail+descriptors+cnn",
    ] = "thumbnail"
    """What the image part of the likelihood predicts of each spot (:mod:`omib_st.model.image_target`):
    the patch's 8×8 ``thumbnail``; morphology ``descriptors`` (stain, nuclei, texture of the spot
    and its context, after Reinhard normalisation, z-scored on the training spots, computed once
    per spot); ``cnn`` / ``context``: principal components of the frozen backbone's features of
    the spot patch / of 2- and 3-diameter context patches. ``thumbnail`` was chosen by
    leave-one-section-out on her2st B4, C2–C6 (image only): the morphology targets scored lower
    there (docs/benchmarks.md, "Real H&E")."""
    target_dim: int = 64
    """Principal components kept of each CNN target block (``cnn``, ``context``); more than
    ``omib.latent_dim``, so the bottleneck cannot pass them all and the error measures how
    typical a spot is, not only how well a linear map is learnt."""
    target_whiten: bool = False
    """Scale every principal component of a CNN target block to unit variance (else one scale
    per block, so the components keep their share of the variance)."""
    model_kwargs: dict[str, Any] | None = None
    """Extra ``timm.create_model`` arguments of the backbone (e.g. ``init_values: 1.0e-5`` for
    UNI given as a bare weights file)."""
    mean: tuple[float, ...] | None = None
    """Input normalisation overriding the backbone's timm data config (``std`` too)."""
    std: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ScoringConfig:
    """Turning scores into labels."""

    combine: Literal["max", "mean"] = "max"
    """How the modalities' robust z-scores make one score: ``max`` (abnormal in any view) or
    ``mean``."""
    threshold: Literal["quantile", "mixture", "otsu", "multiotsu"] = "multiotsu"
    """How the scores of a sample become labels. ``multiotsu``: the lowest three-class
    multi-Otsu threshold on the sample's own scores (flags every spot above the lowest class,
    a lesion's less abnormal margin included); ``otsu``: Otsu's two-class threshold (flags
    less, only the clearly separated part). Both follow a section whose scores are shifted as
    a whole, and both always flag part of a section, an all-normal one too. ``quantile``: the
    ``quantile`` of the held-out normal reference spots' scores (smoothed on their own
    sections, like the sample's), for samples that may hold no anomaly. ``mixture``: a
    two-component Gaussian mixture on the sample's scores. The default was chosen by nested
    leave-one-patient-out on her2st (docs/benchmarks.md)."""
    quantile: float = 0.90
    """For ``threshold: quantile``: the expected false-positive rate on normal tissue is 1 − q."""
    prior_anomaly_fraction: float = 0.1
    """Prior weight of the anomalous component for ``mixture``."""
    depth_adjust: bool = False
    """Judge each spot's evidence against normal reference spots of the same sequencing depth (a
    robust line in log library size fitted on held-out reference spots)."""
    smoothing: float = 0.75
    """Share of each spot's score replaced by the mean over its graph neighbours (0 = off):
    tissue regions span several spots, single-spot noise does not. Chosen by nested
    leave-one-patient-out on her2st (docs/benchmarks.md)."""
    self_trim: float = 0.2
    """Self-referenced mode: fraction of highest-scoring spots removed before refitting."""


@dataclass(frozen=True)
class DetectorConfig:
    """Everything :class:`omib_st.model.OmibDetector` needs; saved with every model."""

    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    patch: PatchConfig = field(default_factory=PatchConfig)
    expression: ExpressionEncoderConfig = field(default_factory=ExpressionEncoderConfig)
    image: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    omib: OMIBConfig = field(default_factory=OMIBConfig)
    mi: MIConfig = field(default_factory=MIConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)


_POSITIVE = {
    "latent_dim", "fused_dim", "n_tokens", "n_heads", "n_layers", "hidden_dim", "steps",
    "batch_size", "lr", "n_neighbors", "n_rings", "n_top_genes", "target_sum", "size", "scale",
    "out_dim", "devices", "num_nodes", "r_max", "max_spots", "n_components", "target_dim",
}  # fmt: skip
_FRACTIONS = {
    "dropout", "r_momentum", "ema_momentum", "eval_fraction", "val_fraction", "quantile",
    "prior_anomaly_fraction", "smoothing", "self_trim", "thin_quantile",
}  # fmt: skip
_NON_NEGATIVE = {
    "warmup_epochs", "max_epochs", "min_epochs", "target_hops", "weight_decay", "patience", "num_workers", "trb_weight",
    "reconstruction_weight", "r_min", "min_spots", "beta_scale",
}  # fmt: skip


def _check_value(path: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    shown = short(value)
    if name in _POSITIVE and value <= 0:
        raise OmibError(f"config {path} = {shown} must be > 0", "give a positive value")
    if name in _FRACTIONS and not 0 <= value < 1:
        raise OmibError(f"config {path} = {shown} must be in [0, 1)", "give a fraction")
    if name in _NON_NEGATIVE and value < 0:
        raise OmibError(f"config {path} = {shown} must be >= 0", "give a non-negative value")
    if name == "seed" and not 0 <= value < 2**32:
        raise OmibError(
            f"config {path} = {shown} is not a seed (0 to 4294967295)", "give a non-negative seed"
        )


_FIX = "fix the value in the configuration (--config YAML)"


def _coerce(path: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against the annotation ``hint``; return it (ints widened to float)."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            allowed = ", ".join(repr(a) for a in typing.get_args(hint))
            raise OmibError(
                f"config {path} = {short(value)} is not allowed", f"use one of {allowed}"
            )
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                return _coerce(path, option, value)
            except OmibError as err:
                errors.append(str(err))
        raise OmibError(f"config {path} = {short(value)} has the wrong type", f"expected {hint}")
    if origin is tuple:  # tuple[float, ...]: a list of numbers (YAML has no tuples)
        if not isinstance(value, list | tuple) or not value:
            raise OmibError(f"config {path} = {short(value)} must be a list of numbers", _FIX)
        return tuple(_coerce(f"{path}[{i}]", typing.get_args(hint)[0], v) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise OmibError(f"config {path} = {short(value)} must be a mapping of names", _FIX)
        return dict(value)
    if hint is type(None):
        if value is not None:
            raise OmibError(f"config {path} = {short(value)} must be null", _FIX)
        return None
    if hint is bool:
        if not isinstance(value, bool):
            raise OmibError(f"config {path} = {short(value)} must be true or false", _FIX)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OmibError(f"config {path} = {short(value)} must be an integer", _FIX)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OmibError(f"config {path} = {short(value)} must be a number", _FIX)
        if not math.isfinite(value):
            raise OmibError(f"config {path} = {short(value)} must be a finite number", _FIX)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise OmibError(f"config {path} = {short(value)} must be a string", _FIX)
        return value
    return value


def from_dict(cls: type, data: dict[str, Any] | None, _path: str = "") -> Any:
    """Build the dataclass ``cls`` from a nested mapping, refusing unknown keys and bad values."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise OmibError(
            f"config section {_path or '<root>'} must be a mapping, got {short(data)}",
            "write it as 'key: value' lines (see the defaults in omib_st.config)",
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(str(key) for key in set(data) - set(fields))
    if unknown:
        where = _path or "<root>"
        raise OmibError(
            f"unknown config key(s) {short_name(', '.join(unknown))} in {where}",
            f"valid keys are {', '.join(fields)}",
        )
    values = {}
    for name, value in data.items():
        path = f"{_path}.{name}" if _path else name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = from_dict(hint, value, path)
        else:
            values[name] = _coerce(path, hint, value)
            _check_value(path, name, values[name])
    return cls(**values)


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config (writes to h5ad, YAML and JSON)."""
    return dataclasses.asdict(config)


def replace(config: Any, **changes: Any) -> Any:
    """Return ``config`` with dotted-path overrides, e.g. ``replace(c, **{"train.seed": 1})``."""
    nested: dict[str, Any] = {}
    for key, value in changes.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[head] = value
    updates = {}
    for key, value in nested.items():
        current = getattr(config, key) if hasattr(config, key) else None
        if isinstance(value, dict) and dataclasses.is_dataclass(current):
            updates[key] = replace(current, **value)
        else:
            updates[key] = value
    merged = {**to_dict(config)}
    for key, value in updates.items():
        merged[key] = to_dict(value) if dataclasses.is_dataclass(value) else value
    return from_dict(type(config), merged)


def load_config(source: str | Path | dict[str, Any] | None = None) -> DetectorConfig:
    """Detector configuration from a YAML file, a mapping, or the defaults (``None``)."""
    if source is None or isinstance(source, dict):
        return from_dict(DetectorConfig, source)
    from omib_st.io.safety import load_yaml, read_text

    path = Path(source)
    if not path.is_file():
        raise OmibError(f"config file {path} does not exist", "check the --config path")
    fix = "fix the file; only plain YAML (no tags) is read"
    text = read_text(path, "config file", fix, max_bytes=CONFIG_MAX_BYTES)
    data = load_yaml(text, f"config file {path}", fix)
    return from_dict(DetectorConfig, {} if data is None else data)


CONFIG_MAX_BYTES = 1 << 20
"""Largest config file read (a full configuration is about 2 kB)."""

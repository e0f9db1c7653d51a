"""Settings of the tissue detector: preprocessing, the spatial graph, H&E patches, the two
encoders, scoring, and :class:`DetectorConfig`, which gathers them with the core's sections."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from omib_st.config.core import MIConfig, OMIBConfig, TrainConfig
from omib_st.config.rules import (
    Section,
    fraction,
    non_negative,
    open_fraction,
    positive,
)
from omib_st.errors import OmibError, short

ImageBlock = Literal["thumbnail", "descriptors", "cnn", "context"]
"""A part of the image target (:mod:`omib_st.model.image_target`)."""
IMAGE_BLOCKS: tuple[str, ...] = typing.get_args(ImageBlock)


@dataclass(frozen=True)
class GraphConfig(Section):
    """Spatial neighbour graph on ``obsm["spatial"]``."""

    section = "graph"

    method: Literal["knn", "ring"] = "ring"
    """``ring``: neighbours within ``n_rings`` lattice rings (hex Visium, square ST); ``knn``: k nearest."""
    n_neighbors: int = positive(6)
    n_rings: int = positive(1)


@dataclass(frozen=True)
class PreprocessConfig(Section):
    """Reference-aware expression preprocessing."""

    section = "preprocess"

    n_top_genes: int = positive(3000)
    target_sum: float = positive(1e4)
    min_spots: int = non_negative(3)
    """Genes detected in fewer reference spots are dropped before HVG selection."""
    thin_quantile: float | None = open_fraction(None)
    """Thin every spot deeper than this quantile of the reference spots' library sizes (the
    normal ones; a supervised fit's labelled ones) to that depth first (binomial thinning; the
    depth is fixed at fit time and saved with the model), genes chosen on the thinned counts;
    None = off: the likelihood takes each spot's library size as it is."""


@dataclass(frozen=True)
class PatchConfig(Section):
    """H&E patches around each spot."""

    section = "patch"

    size: int = positive(64)
    """Side of the resampled patch in pixels."""
    scale: float = positive(1.0)
    """Patch side in multiples of the spot diameter."""
    resolution: Literal["auto", "fullres", "hires", "lowres"] = "auto"
    """``auto``: the sharpest image available whose spot is at least ``size`` px, else the sharpest."""


@dataclass(frozen=True)
class ExpressionEncoderConfig(Section):
    """GNN over the spatial graph (torch-geometric layers picked by name)."""

    section = "expression"

    layer: Literal["gcn", "sage", "gat"] = "sage"
    hidden_dim: int = positive(128)
    out_dim: int = positive(64)
    n_layers: int | Literal["auto"] = positive("auto")
    """Message-passing layers (hops of neighbourhood); ``auto``: 2 for a one-class model, 1 for
    a supervised one (:data:`MODE_DEFAULTS`)."""
    dropout: float = fraction(0.1)
    n_components: int = positive(50)
    """Input of the expression encoders: this many principal components of the reference-scaled
    log-normalised expression (:class:`omib_st.pp.Projection`, fitted at fit time)."""
    scaling: Literal["reference", "section"] = "reference"
    """How genes are scaled before the projection: ``reference`` (each gene z-scored with the
    training spots' mean and sd) or ``section`` (each section first z-scored on its own spots,
    which removes a section-wide shift such as a patient's batch effect, and also the section's
    own mix of tissue: a section that is mostly tumour is centred on tumour)."""
    target_hops: int = non_negative(1)
    """The expression target: the spot's counts summed with those of its neighbours up to this
    many graph hops away (0 = the spot's own counts)."""


@dataclass(frozen=True)
class ImageEncoderConfig(Section):
    """CNN over H&E patches (any timm backbone by name)."""

    section = "image"

    backbone: str = "resnet18"
    pretrained: bool = False
    """Hub weights cannot be downloaded offline: give ``weights`` (a local file) instead."""
    weights: str | None = None
    out_dim: int = positive(64)
    freeze: bool | Literal["auto"] = "auto"
    """Freeze the backbone (e.g. pretrained ``weights``); only its projection trains. ``auto``:
    frozen when training runs on a CPU (the fast path: with ``cache_features`` the backbone runs
    once per spot), trained on a GPU (:func:`omib_st.model.image_target.frozen_backbone`)."""
    cache_features: bool = True
    """With a frozen backbone: compute the backbone features of the training spots once and train
    on them (host memory, float16; see :class:`omib_st.model.feature_cache.FeatureCache`)."""
    stain: Literal["reinhard", "none"] = "reinhard"
    """Stain normalisation of every patch the model reads (CNN input and target alike):
    ``reinhard`` maps each section's LAB statistics (of 256 spot patches spread over it) onto
    those pooled over the reference sections at fit, saved with the model, so a section stained
    or scanned darker is not read as anomalous; ``none`` uses the patches as they are. Chosen
    for that robustness on her2st's real H&E, at a measured AUC cost (docs/benchmarks.md,
    "Real H&E")."""
    target: str = "thumbnail"
    """What the image part of the likelihood predicts of each spot (:mod:`omib_st.model.image_target`):
    one or more blocks joined by ``+`` in the order of :data:`IMAGE_BLOCKS` (:attr:`blocks`
    gives them as a tuple): the patch's colour ``thumbnail``; morphology ``descriptors`` (stain,
    nuclei, texture of the spot and its context, after Reinhard normalisation, z-scored on the
    training spots, computed once per spot); ``cnn`` / ``context``: principal components of the
    frozen backbone's features of the spot patch / of 2- and 3-diameter context patches.
    ``thumbnail`` was chosen by leave-one-section-out on her2st (docs/benchmarks.md, "Real H&E")."""
    thumbnail: int = positive(64)
    """Side in pixels of the patch's colour thumbnail (at most ``patch.size``; 64 = the whole
    default patch): the ``thumbnail`` target, and the input of the image-only model's
    ``thumbnail`` view. 64 was chosen on her2st's real H&E, leave-one-section-out jointly with
    ``scoring.image_smoothing``, among the sides that keep a 4,000-spot CPU ``detect`` within five
    minutes (docs/benchmarks.md, "Real H&E"); models saved before the setting used 8."""
    target_dim: int = positive(64)
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
    """One positive value per channel (as many as ``mean`` when both are given)."""

    @property
    def blocks(self) -> tuple[ImageBlock, ...]:
        """The blocks of ``target``: ``"descriptors+cnn"`` → ``("descriptors", "cnn")``."""
        return tuple(self.target.split("+"))  # type: ignore[return-value]

    def check(self) -> None:
        blocks = self.target.split("+") if isinstance(self.target, str) else []
        order = [IMAGE_BLOCKS.index(b) for b in blocks if b in IMAGE_BLOCKS]
        if not blocks or len(order) != len(blocks) or order != sorted(set(order)):
            raise OmibError(
                f"config image.target = {short(self.target)} is not a '+'-joined list of "
                f"{', '.join(IMAGE_BLOCKS)} (each once, in that order)",
                "use e.g. 'thumbnail' or 'descriptors+cnn'",
            )
        if self.std is not None and not all(s > 0 for s in self.std):
            raise OmibError(
                f"config image.std = {short(self.std)} has a value that is not > 0",
                "give one positive standard deviation per channel",
            )
        if self.mean is not None and self.std is not None and len(self.mean) != len(self.std):
            raise OmibError(
                f"config image.mean has {len(self.mean)} values but image.std {len(self.std)}",
                "give one value per channel in both",
            )


@dataclass(frozen=True)
class ScoringConfig(Section):
    """Turning scores into labels."""

    section = "scoring"

    combine: Literal["max", "mean"] = "mean"
    """How the modalities' robust z-scores make one score: their ``mean``, or their ``max``
    (abnormal in any one view scores high, a weak modality's noise included). The default was
    chosen on real H&E, leave-one-patient-out (docs/benchmarks.md, issue 14). One modality's
    evidence (expression only) is the same under both."""
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
    quantile: float = open_fraction(0.90)
    """For ``threshold: quantile``: the expected false-positive rate on normal tissue is 1 − q."""
    prior_anomaly_fraction: float = open_fraction(0.1)
    """Prior weight of the anomalous component for ``mixture``."""
    depth_adjust: bool = False
    """Judge each spot's evidence against normal reference spots of the same sequencing depth (a
    robust line in log library size fitted on held-out reference spots)."""
    smoothing: float = fraction(0.75)
    """Share of each spot's expression evidence (its robust z-score; a supervised model's
    log-odds) replaced by the mean over its graph neighbours (0 = off): tissue regions span
    several spots, single-spot noise does not. Chosen by nested leave-one-patient-out on her2st
    (docs/benchmarks.md)."""
    image_smoothing: float = fraction(0.25)
    """The same for the image evidence, before the modalities are combined. Chosen by
    leave-one-patient-out on real H&E (docs/benchmarks.md, issue 14)."""
    expression_smoothing: float = fraction(0.5)
    """Supervised models: share of each spot's log-odds (after ``smoothing``) replaced by the mean
    over its ``expression_neighbors`` nearest spots in the section's own expression space
    (:func:`~omib_st.pp.expression_neighbors`), so a spot is also judged by the spots of its
    section that look like it, wherever they lie (0 = off; one-class models ignore it). It uses
    the scored section's own expression, never labels. Both values were chosen by
    leave-one-patient-out on her2st (docs/benchmarks.md, issue 15)."""
    expression_neighbors: int = positive(20)
    supervised_threshold: Literal["decision", "mixture", "otsu", "multiotsu"] = "multiotsu"
    """Supervised models: how the (smoothed) probabilities of a sample become labels.
    ``multiotsu``, ``otsu``, ``mixture``: the rule of ``threshold`` of that name, cut on the
    sample's own log-odds, so a section whose probabilities are shifted as a whole (a new
    patient) is still split; like the one-class rules, they always flag part of a section.
    ``decision``: p > 0.5, the class-weighted classifier's own decision, for samples that may
    hold no tumour. One-class models ignore it. The default was chosen by nested
    leave-one-patient-out on her2st (docs/benchmarks.md, issue 15)."""
    self_trim: float = fraction(0.2)
    """Self-referenced mode: fraction of highest-scoring spots removed before refitting."""

    def smoothing_of(self, part: str) -> float:
        """The smoothing weight of an evidence part: ``image_smoothing`` for ``image``, else
        ``smoothing``."""
        return self.image_smoothing if part == "image" else self.smoothing


@dataclass(frozen=True)
class SupervisedConfig(Section):
    """Settings read only by a supervised fit (``fit(..., label_key=...)``)."""

    section = "supervised"

    members: int = positive(5)
    """Modules of the deep ensemble: each is trained alike on the same spots, from the seeds
    ``train.seed``, ``train.seed + 1``, …, and the score is their mean log-odds. A single
    model's transfer to a new patient depends on its seed (docs/benchmarks.md, issue 15)."""
    keep_best: bool = True
    """Keep each module's weights from the main-stage epoch with the lowest validation task loss
    (the fused head's class-weighted cross-entropy on the held-out labelled spots), not the last
    epoch's; needs ``train.val_fraction`` > 0."""


MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "expression.n_layers": {"one_class": 2, "supervised": 1},
}
"""What an ``auto`` setting becomes in each mode of the detector. One GNN layer for a supervised
model was chosen by leave-one-patient-out on her2st (docs/benchmarks.md, issue 15); one-class
models keep the two layers they were benchmarked with."""


@dataclass(frozen=True)
class DetectorConfig(Section):
    """Everything :class:`omib_st.model.OmibDetector` needs; saved with every model (its ``auto``
    settings resolved, :meth:`for_mode`)."""

    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    patch: PatchConfig = field(default_factory=PatchConfig)
    expression: ExpressionEncoderConfig = field(default_factory=ExpressionEncoderConfig)
    image: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    omib: OMIBConfig = field(default_factory=OMIBConfig)
    mi: MIConfig = field(default_factory=MIConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)

    def for_mode(self, mode: str) -> DetectorConfig:
        """This configuration with every ``auto`` setting of :data:`MODE_DEFAULTS` replaced by
        its value in ``mode`` (``"one_class"`` or ``"supervised"``)."""
        sections = {}
        for path, values in MODE_DEFAULTS.items():
            section, name = path.split(".")
            part = sections.get(section, getattr(self, section))
            if getattr(part, name) == "auto":
                sections[section] = dataclasses.replace(part, **{name: values[mode]})
        return dataclasses.replace(self, **sections) if sections else self

    def check(self) -> None:
        if not self.omib.omf:
            raise OmibError(
                "the detector scores the fused head, which omib.omf: false removes",
                "keep omib.omf: true (the setting is for the classification benchmarks)",
            )
        if self.image.thumbnail > self.patch.size:
            raise OmibError(
                f"config image.thumbnail = {self.image.thumbnail} is larger than patch.size = "
                f"{self.patch.size}",
                "give image.thumbnail <= patch.size (the thumbnail averages the patch's pixels)",
            )

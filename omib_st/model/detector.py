"""The tissue anomaly detector: one-class OMIB over expression (GNN) and H&E patches (CNN)."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData
from scipy import sparse

from omib_st import __version__
from omib_st.config import DetectorConfig, from_dict, to_dict
from omib_st.errors import OmibError
from omib_st.model.feature_cache import FeatureCache
from omib_st.model.image_target import (
    ImageTarget,
    backbone_note,
    fit_image_targets,
    frozen_backbone,
    restore_image_target,
    score_image_targets,
)
from omib_st.model.inference import predict
from omib_st.model.supervised import (
    IGNORED,
    ONE_CLASS,
    SUPERVISED,
    THRESHOLD,
    class_counts,
    class_weights,
    positive_probability,
    spot_classes,
)
from omib_st.model.tissue_data import (
    THUMBNAIL,
    Section,
    TissueDataset,
    has_image,
    prepare_section,
    require_image,
)
from omib_st.module import OMIB, Classification, Likelihood
from omib_st.nn import MLP, GraphEncoder, ImageEncoder
from omib_st.pp import GeneAlignment, Projection, select_genes, thinning_depth
from omib_st.scoring import (
    combine,
    mixture_threshold,
    otsu_threshold,
    quantile_threshold,
    robust_stats,
    smooth_scores,
)
from omib_st.train import FitResult, fit, make_loader, resolve_accelerator

WEIGHTS, META, CONFIG = "weights.pt", "model.json", "config.yaml"
FORMAT_VERSION = 3
"""3: the likelihood task and the expression projection (2: checksummed model.json and
config.yaml, score statistics with a depth slope)."""
MIN_TRAIN_SPOTS = 4
"""Fewest training spots: the β estimate (MINE) needs two to train on and two held out."""


@dataclass
class DetectionResult:
    """Per-spot output of :meth:`OmibDetector.score`."""

    scores: np.ndarray
    """Anomaly score, higher = more anomalous (robust z-score units against normal reference spots)."""
    labels: np.ndarray
    """Boolean labels from the label-free threshold."""
    xi: np.ndarray
    """Fused representation ξ (μ path), ``n_spots × fused_dim``."""
    parts: dict[str, np.ndarray]
    """Per modality, the negative log-likelihood of the spot's target under the fused head
    (before standardisation)."""
    threshold: float
    alignment: GeneAlignment
    info: dict[str, Any] = field(default_factory=dict)


class OmibDetector:
    """Fit on normal reference tissue, score spots of new sections.

    Modalities: ``expression`` (a GNN over the spot's neighbourhood) and ``image`` (a timm CNN
    over its H&E patch). OMIB needs two modalities, so a single-modality model fuses two views of
    it: expression-only uses ``expression`` and ``spot`` (an MLP on the spot's own profile),
    image-only uses ``image`` and ``thumbnail`` (an MLP on the patch's 8×8 thumbnail).

    The task (:class:`~omib_st.module.Likelihood`) is to predict the spot's own data: the counts
    of its neighbourhood under a negative binomial with the observed library size, and the
    image target under a Gaussian. The score of a spot is that negative log-likelihood under the
    fused head, per modality, as robust z-scores against held-out normal reference spots,
    combined (``scoring.combine``) and smoothed over the spatial graph.

    Supervised mode (``fit(..., label_key=..., positive=[...])``, :mod:`omib_st.model.supervised`):
    annotated spots train OMIB's two-class classification task (class-weighted cross-entropy)
    on the same encoders and data handling; the score is the fused head's probability of the
    positive class and the label is probability > 0.5. :attr:`mode` says which.

    Parameters
    ----------
    config
        :class:`~omib_st.config.DetectorConfig`; the defaults are the benchmarked settings.
    """

    def __init__(self, config: DetectorConfig | None = None):
        self.config = config or DetectorConfig()
        self.genes: list[str] = []
        self.use_image = False
        self.use_expression = True
        self.module: OMIB | None = None
        self.reference_stats: dict[str, tuple[float, float, float]] = {}
        self.thin_to: float | None = None
        """UMIs that deeper spots are thinned to (``preprocess.thin_quantile``), fixed at fit."""
        self.threshold = float("nan")
        self.projection: Projection | None = None
        self.calibration: dict[str, np.ndarray] = {}
        """Held-out normal reference spots and their neighbours: combined scores, graph (CSR
        arrays) and the held-out positions, from which the threshold is taken."""
        self.training: dict[str, Any] = {}
        self.mode = ONE_CLASS
        """``"one_class"`` (trained on normal spots) or ``"supervised"`` (on labelled spots)."""
        self._cache: FeatureCache | None = None
        self.image_target = ImageTarget()
        """The image modality's target (:mod:`omib_st.model.image_target`), fitted at fit."""

    # ------------------------------------------------------------------ model
    @property
    def modalities(self) -> list[str]:
        if not self.use_expression:
            return ["image", "thumbnail"]
        return ["expression", "image"] if self.use_image else ["expression", "spot"]

    def _build(self, *, initial_weights: bool = True) -> OMIB:
        """The untrained module; ``initial_weights=False`` skips the backbone's starting weights
        (``image.pretrained`` / ``image.weights``), which a loaded model replaces anyway."""
        c, e = self.config, self.config.expression
        n_inputs, thumbnail = self.projection.n_components, 3 * THUMBNAIL * THUMBNAIL
        builders = {
            "expression": lambda: GraphEncoder(
                n_inputs, e.out_dim, hidden_dim=e.hidden_dim, n_layers=e.n_layers, layer=e.layer,
                dropout=e.dropout,
            ),
            "spot": lambda: MLP(n_inputs, e.out_dim, (e.hidden_dim,), dropout=e.dropout),
            "image": lambda: ImageEncoder(
                c.image.backbone, c.image.out_dim,
                freeze=frozen_backbone(c.image.freeze, self._device()),
                pretrained=c.image.pretrained and initial_weights,
                weights=c.image.weights if initial_weights else None,
                model_kwargs=c.image.model_kwargs, mean=c.image.mean, std=c.image.std,
            ),
            "thumbnail": lambda: MLP(thumbnail, c.image.out_dim, (e.hidden_dim,), dropout=e.dropout),
        }  # fmt: skip
        parts = {}
        if self.use_expression:
            parts["expression"] = ("nb", len(self.genes))
        if self.use_image:
            parts["image"] = ("gaussian", self.image_target.width)
        # supervised: the weights are placeholders, set by fit() or loaded with the state dict
        task = Classification(2, torch.ones(2)) if self.mode == SUPERVISED else Likelihood(parts)
        with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's RNG is untouched
            torch.manual_seed(c.train.seed)
            encoders = {view: builders[view]() for view in self.modalities}
            return OMIB(encoders, task, c.omib)

    def _dataset(
        self,
        sections: Sequence[Section],
        spots: np.ndarray | None = None,
        labels: np.ndarray | None = None,
    ) -> TissueDataset:
        expression = self.config.expression
        return TissueDataset(
            sections, spots, views=self.modalities, n_hops=expression.n_layers, cache=self._cache,
            labels=labels,
        )  # fmt: skip

    def _loader(self, dataset: TissueDataset, shuffle: bool, order: np.ndarray | None = None):
        train = self.config.train
        return make_loader(
            dataset, train.batch_size, shuffle=shuffle, seed=train.seed,
            num_workers=train.num_workers, collate_fn=dataset.collate, order=order,
            pin_memory=self._device().type == "cuda",
        )  # fmt: skip

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        references: AnnData | Sequence[AnnData],
        *,
        normal_key: str | None = None,
        normal_values: Sequence[Any] | None = None,
        use_image: bool | None = None,
        use_expression: bool = True,
        layer: str | None = None,
        library_id: str | None = None,
        resume: bool = False,
        label_key: str | None = None,
        positive: Sequence[Any] | None = None,
        ignore: Sequence[Any] | None = None,
    ) -> OmibDetector:
        """Train on the (normal spots of the) reference sections, or, with ``label_key``, on
        their labelled spots (supervised mode).

        Parameters
        ----------
        references
            One or more sections of normal tissue, raw counts in ``X`` (or ``layers[layer]``).
        normal_key, normal_values
            Train only on spots whose ``obs[normal_key]`` is in ``normal_values``; the graph is
            still built on the whole section, so their neighbourhoods are complete.
        use_image
            Use the H&E modality; default: when every reference has an image.
        use_expression
            Use the expression modality; False makes an image-only model (the single-modality
            comparison of the benchmarks).
        resume
            Continue an interrupted fit from ``config.train.checkpoint_dir``.
        label_key, positive, ignore
            Supervised mode (:mod:`omib_st.model.supervised`): spots whose ``obs[label_key]`` is
            in ``positive`` are the anomalous class, spots in ``ignore`` or with a missing label
            are left out of training (they stay in the graph), every other label is normal.
            The classification task is trained with class-weighted cross-entropy (weights
            ``n / (2 n_class)``); :meth:`score` then gives the probability of the positive class
            and labels spots above 0.5. Not combinable with ``normal_key``.
        """
        refs = [references] if isinstance(references, AnnData) else list(references)
        if not refs:
            raise OmibError("no reference section was given", "pass at least one AnnData")
        supervised = label_key is not None
        if supervised and normal_key is not None:
            raise OmibError("label_key (--label-key) and normal_key (--normal-key) were both given",
                            "use --label-key for supervised training or --normal-key for one-class")  # fmt: skip
        if not supervised and (positive or ignore):
            raise OmibError("positive/ignore values were given without a label column",
                            "add --label-key COL (label_key=...)")  # fmt: skip
        classes = spot_classes(refs, label_key, positive, ignore) if supervised else None
        self.mode = SUPERVISED if supervised else ONE_CLASS
        self.use_image = all(has_image(r) for r in refs) if use_image is None else use_image
        self.use_expression = use_expression
        if not (self.use_image or self.use_expression):
            raise OmibError(
                "an image-only model needs H&E images in every reference",
                "add the images or keep the expression modality",
            )
        c = self.config
        if not c.omib.omf:
            raise OmibError(
                "the detector scores the fused head, which omib.omf: false removes",
                "keep omib.omf: true (the setting is for the classification benchmarks)",
            )
        if not c.train.val_fraction and not supervised:
            warnings.warn(
                "omib-st: train.val_fraction is 0, so the score statistics and the threshold "
                "come from the training spots themselves (optimistic: more spots are flagged)",
                UserWarning, stacklevel=2,
            )  # fmt: skip
        if supervised:
            masks = [k != IGNORED for k in classes]
        else:
            masks = [_normal_mask(r, normal_key, normal_values) for r in refs]
        if c.train.max_spots is not None:
            masks = _subsample(masks, c.train.max_spots, c.train.seed)
        normal_refs = [r[m] for r, m in zip(refs, masks)]
        self.genes = select_genes(normal_refs, n_top_genes=c.preprocess.n_top_genes,
                                  min_spots=c.preprocess.min_spots, layer=layer)  # fmt: skip
        q = c.preprocess.thin_quantile
        self.thin_to = None if q is None else thinning_depth(normal_refs, q, layer)
        sections = [prepare_section(r, self.genes, c, use_image=self.use_image, layer=layer,
                                    library_id=library_id, thin_to=self.thin_to) for r in refs]  # fmt: skip
        spots = np.flatnonzero(np.concatenate(masks))
        rng = np.random.default_rng(c.train.seed)
        shuffled = rng.permutation(spots)
        n_val = max(1, int(round(c.train.val_fraction * len(spots)))) if c.train.val_fraction else 0
        if len(spots) - n_val < MIN_TRAIN_SPOTS:
            raise OmibError(
                f"only {len(spots)} {'labelled' if supervised else 'normal'} reference spots "
                f"({len(spots) - n_val} left for "
                f"training after validation; at least {MIN_TRAIN_SPOTS} needed)",
                "give more reference spots",
            )
        train_spots, val_spots = np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])
        self._project(sections, train_spots)
        self.image_target = ImageTarget(c.image.target, c.image.target_dim, c.image.target_whiten)
        self.module = self._build()
        labels = np.concatenate(classes) if supervised else None
        if supervised:
            self.module.task.class_weight.copy_(class_weights(labels[train_spots]))
        if self.use_expression and not supervised:
            target = sparse.vstack([s.target for s in sections], format="csr")[train_spots]
            self.module.task.set_dispersion("expression", torch.from_numpy(target.toarray()))
        self._cache = None
        if self.use_image:  # the image target, once per spot (and the frozen backbone's cache)
            self._cache = fit_image_targets(self, refs, sections, train_spots,
                                            val_spots if n_val else train_spots,
                                            library_id=library_id)  # fmt: skip
        train_loader = self._loader(self._dataset(sections, train_spots, labels), shuffle=True)
        val_loader = (
            self._loader(self._dataset(sections, val_spots, labels), shuffle=False)
            if n_val
            else None
        )
        run_id = _run_id(c, self.genes, self.modalities, refs, train_spots, val_spots, labels)
        result: FitResult = fit(
            self.module, train_loader, val_loader, config=c.train, mi=c.mi, resume=resume,
            run_id=run_id,
        )  # fmt: skip
        if supervised:  # the probability needs no reference statistics; the threshold is fixed
            self.reference_stats, self.calibration, self.threshold = {}, {}, THRESHOLD
        else:
            self._calibrate(sections, val_spots if n_val else train_spots)
        cache_bytes = self._cache.nbytes if self._cache is not None else 0
        self._cache = None  # the cache is for the fit's spots only
        bound = result.bound.to_dict() if result.bound else {}
        frozen = self.use_image and frozen_backbone(c.image.freeze, self._device())
        self.training = {
            "n_reference_sections": len(refs), "n_train_spots": int(len(train_spots)),
            "n_val_spots": int(n_val), "epochs": int(result.epochs), "stopped_early": result.stopped_early,
            "bound": bound, "r": {m: float(v) for m, v in zip(self.modalities, self.module.weights.r)},
            "feature_cache_bytes": int(cache_bytes), "train_seconds": round(result.seconds, 3),
            "image_frozen": bool(frozen),
            "image_backbone": backbone_note(frozen, c.image.freeze == "auto") if self.use_image else None,
            "image_target": self.image_target.kind if self.use_image else None,
        }  # fmt: skip
        if supervised:
            negative, positive_ = class_counts(labels[train_spots])
            self.training.update({
                "n_train_positive": positive_, "n_train_negative": negative,
                "class_weights": [float(w) for w in self.module.task.class_weight],
                "label_key": str(label_key), "positive": [str(v) for v in positive],
                "ignore": [str(v) for v in (ignore or [])],
            })  # fmt: skip
        return self

    def _project(self, sections: Sequence[Section], train_spots: np.ndarray) -> None:
        """Fit the expression projection on the training spots and give every section its
        encoder input (:attr:`Section.features`)."""
        expression = sparse.vstack([s.expression for s in sections], format="csr")
        self.projection = Projection.fit(
            expression[train_spots], self.config.expression.n_components, seed=self.config.train.seed
        )
        for section in sections:
            section.features = self.projection(section.expression)

    def _calibrate(self, sections: Sequence[Section], held_out: np.ndarray) -> None:
        """Score statistics and threshold from the held-out normal reference spots, on the same
        statistic the target gets: robust z-scores of each part, combined, then smoothed over
        the spot's own section graph (its neighbours scored too)."""
        c = self.config
        full = self._dataset(sections)
        needed = np.union1d(held_out, full.graph[held_out].indices)
        dataset = self._dataset(sections, needed)
        parts, _ = self._evidence(dataset)
        where = np.searchsorted(needed, held_out)
        depth = self._depth(dataset)
        self.reference_stats = robust_stats(
            {k: v[where] for k, v in parts.items()}, None if depth is None else depth[where],
            seed=c.train.seed,
        )  # fmt: skip
        graph = full.graph[needed][:, needed]
        self.calibration = {
            "scores": combine(parts, self.reference_stats, c.scoring.combine, depth),
            "indptr": graph.indptr, "indices": graph.indices, "held_out": where,
        }  # fmt: skip
        self.threshold = self.reference_threshold()

    def reference_threshold(self) -> float:
        """The ``scoring.quantile`` of the held-out reference spots' scores, smoothed with the
        current ``scoring.smoothing`` over their own sections (so a changed smoothing stays
        calibrated)."""
        cal = self.calibration
        n = len(cal["scores"])
        graph = sparse.csr_matrix((np.ones(len(cal["indices"])), cal["indices"], cal["indptr"]),
                                  shape=(n, n))  # fmt: skip
        smoothed = smooth_scores(cal["scores"], graph, self.config.scoring.smoothing)
        return quantile_threshold(smoothed[cal["held_out"]], self.config.scoring.quantile)

    def _threshold(self, scores: np.ndarray) -> float:
        """The ``scoring.threshold`` rule's cut for a target's (smoothed) scores."""
        scoring = self.config.scoring
        if scoring.threshold == "mixture":
            return mixture_threshold(scores, scoring.prior_anomaly_fraction, seed=self.config.train.seed)
        if scoring.threshold == "otsu":
            return otsu_threshold(scores)
        return self.reference_threshold()

    # ------------------------------------------------------------------ score
    def _device(self) -> torch.device:
        device = torch.device(resolve_accelerator(self.config.train.device))
        if device.type == "cuda":  # this process's GPU under DDP
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return device

    def _evidence(self, dataset: TissueDataset) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-modality negative log-likelihood under the fused head and ξ, for every spot of
        ``dataset`` (in item order)."""
        task = self.module.task

        def read(output, batch):
            return {**task.evidence(output.prediction, batch["target"]), _XI: output.xi}

        parts = predict(self.module, dataset, partial(self._loader, shuffle=False), self._device(),
                        self.config.train.precision, read)  # fmt: skip
        return parts, parts.pop(_XI)

    def _depth(self, dataset: TissueDataset) -> np.ndarray | None:
        """The covariate of depth-aware scoring for the spots of ``dataset`` (None when off)."""
        return dataset.depth[dataset.spots] if self.config.scoring.depth_adjust else None

    def _check_fitted(self) -> None:
        if self.module is None:
            raise OmibError("the detector is not fitted", "call fit() or load a saved model first")

    def score(
        self, adata: AnnData, *, layer: str | None = None, library_id: str | None = None
    ) -> DetectionResult:
        """Anomaly scores, labels and ξ for every spot of ``adata`` (which is not modified)."""
        self._check_fitted()
        c = self.config
        if self.use_image:
            require_image(adata)
        section = prepare_section(
            adata, self.genes, c, use_image=self.use_image, layer=layer, library_id=library_id,
            thin_to=self.thin_to,
        )  # fmt: skip
        section.features = self.projection(section.expression)
        if self.use_image:
            self._cache = score_image_targets(self, adata, section, library_id=library_id)
        try:
            dataset = self._dataset([section])
        finally:
            self._cache = None  # held by the dataset: the target section's features
        if self.mode == SUPERVISED:
            return self._score_supervised(section, dataset)
        parts, xi = self._evidence(dataset)
        combined = combine(parts, self.reference_stats, c.scoring.combine, self._depth(dataset))
        scores = smooth_scores(combined, section.graph, c.scoring.smoothing)
        threshold = self._threshold(scores)
        info = {"image_used": self.use_image, "genes_missing": section.alignment.n_missing}
        if self.use_image:
            if self.training.get("image_backbone"):  # models before issue 14 do not record it
                info["image_backbone"] = str(self.training["image_backbone"])
            info["image_target"] = self.image_target.kind
        if self.thin_to is not None:
            info["thin_to"] = self.thin_to
        if self.use_image:
            info["image_resolution"] = section.patches.resolution
        return DetectionResult(scores.astype(np.float32), scores > threshold, xi.astype(np.float32),
                               parts, float(threshold), section.alignment, info)  # fmt: skip

    def _score_supervised(self, section: Section, dataset: TissueDataset) -> DetectionResult:
        """Supervised mode: score = the fused head's positive-class probability (not smoothed),
        label = probability > 0.5; ``parts = {"probability": ...}``."""
        probability, xi = positive_probability(self, dataset)
        info: dict[str, Any] = {"image_used": self.use_image,
                                "genes_missing": section.alignment.n_missing}  # fmt: skip
        if self.thin_to is not None:
            info["thin_to"] = self.thin_to
        if self.use_image:
            info["image_resolution"] = section.patches.resolution
        return DetectionResult(probability.astype(np.float32), probability > THRESHOLD,
                               xi.astype(np.float32), {"probability": probability}, THRESHOLD,
                               section.alignment, info)  # fmt: skip

    # ------------------------------------------------------------------ persistence
    def metadata(self) -> dict[str, Any]:
        """Everything besides the weights that a saved model needs (JSON-serialisable)."""
        return {
            "omib_st_version": __version__, "format_version": FORMAT_VERSION, "mode": self.mode,
            "genes": self.genes,
            "use_image": self.use_image, "use_expression": self.use_expression,
            "modalities": self.modalities,
            "reference_stats": {k: list(v) for k, v in self.reference_stats.items()},
            "threshold": self.threshold, "training": self.training, "thin_to": self.thin_to,
        }  # fmt: skip

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the model folder atomically: ``weights.pt`` (state dict and the reference spots' ξ),
        ``model.json`` (genes, modalities, score statistics, checksums), ``config.yaml``."""
        import yaml

        from omib_st.io import atomic_path

        self._check_fitted()
        path = Path(path)
        if path.exists() and not force:
            raise OmibError(f"{path} already exists", "choose another --out or pass --force")
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            state = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
            torch.save(
                {
                    "module": state,
                    "projection": {
                        k: torch.from_numpy(v) for k, v in self.projection.state().items()
                    },
                    "calibration": {
                        k: torch.from_numpy(np.asarray(v)) for k, v in self.calibration.items()
                    },
                    "image_target": self.image_target.state(),
                },
                tmp / WEIGHTS,
            )
            (tmp / CONFIG).write_text(yaml.safe_dump(to_dict(self.config), sort_keys=False))
            meta = self.metadata()
            meta["weights_sha256"] = _file_sha256(tmp / WEIGHTS)
            meta["config_sha256"] = _file_sha256(tmp / CONFIG)
            meta["sha256"] = _meta_sha256(meta)
            (tmp / META).write_text(json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> OmibDetector:
        """Load a model folder written by :meth:`save`.

        Treats the folder as untrusted: every file is checked against its checksum, files that
        link out of the folder are refused, ``config.yaml`` is read with ``yaml.safe_load`` and
        ``weights.pt`` with ``torch.load(weights_only=True)``, and no path named inside the
        files (``image.weights``, ``train.checkpoint_dir``) is opened.
        """
        import yaml

        path = Path(path)
        for name in (WEIGHTS, META, CONFIG):
            file = path / name
            if not file.is_file():
                raise OmibError(
                    f"{path} is not an omib-st model folder (no {name})",
                    "give the --out folder of 'omib-st fit'",
                )
            if not file.resolve().is_relative_to(path.resolve()):
                raise OmibError(
                    f"{file} links to {file.resolve()}, outside the model folder",
                    "copy the real file into the folder; links out of a model folder are not followed",
                )
        try:
            meta = json.loads((path / META).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise OmibError(f"{path / META} is not valid JSON", "re-run 'omib-st fit'") from None
        if not isinstance(meta, dict):
            raise OmibError(f"{path / META} is not a model description", "re-run 'omib-st fit'")
        if meta.get("format_version") != FORMAT_VERSION:
            raise OmibError(
                f"{path} was saved in model format {meta.get('format_version')} by omib-st "
                f"{meta.get('omib_st_version')}; this is format {FORMAT_VERSION} (omib-st {__version__})",
                "refit the model with this version",
            )
        for name, key in ((META, "sha256"), (WEIGHTS, "weights_sha256"), (CONFIG, "config_sha256")):
            digest = _meta_sha256(meta) if name == META else _file_sha256(path / name)
            if digest != meta.get(key):
                raise OmibError(
                    f"{path / name} does not match its checksum in {META} (edited or corrupt)",
                    "refit the model; the files of a model folder must not be edited",
                )
        try:
            config = from_dict(DetectorConfig, yaml.safe_load((path / CONFIG).read_text()))
        except yaml.YAMLError as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"{path / CONFIG} is not plain YAML ({first})", "refit the model"
            ) from None
        detector = cls(config)
        try:
            detector.genes, detector.use_image = (
                [str(g) for g in meta["genes"]],
                bool(meta["use_image"]),
            )
            detector.use_expression = bool(meta.get("use_expression", True))
            detector.mode = str(meta.get("mode", ONE_CLASS))  # models before issue 15: one-class
            if detector.mode not in (ONE_CLASS, SUPERVISED):
                raise ValueError(f"unknown mode {detector.mode!r}")
            detector.reference_stats = {
                k: tuple(float(v) for v in stats) for k, stats in meta["reference_stats"].items()
            }
            detector.threshold, detector.training = float(meta["threshold"]), dict(meta["training"])
            thin_to = meta.get("thin_to")
            detector.thin_to = None if thin_to is None else float(thin_to)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise OmibError(
                f"{path / META} is incomplete ({type(err).__name__}: {err})", "refit the model"
            ) from None
        try:
            saved = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
        except Exception as err:  # refused pickle content, or not a torch file at all
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"{path / WEIGHTS} cannot be loaded as plain tensors ({type(err).__name__}: "
                f"{first[:200]})",
                "refit the model; only tensors are ever read from a model folder",
            ) from None
        try:
            detector.projection = Projection(
                **{k: saved["projection"][k].numpy() for k in ("mean", "scale", "components")}
            )
            calibrated = (
                ("scores", "indptr", "indices", "held_out") if detector.mode == ONE_CLASS else ()
            )
            detector.calibration = {k: saved["calibration"][k].numpy() for k in calibrated}
            detector.image_target = restore_image_target(detector, saved.get("image_target"))
            detector.module = detector._build(initial_weights=False)
            detector.module.load_state_dict(saved["module"])
        except (KeyError, TypeError, AttributeError, RuntimeError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"{path / WEIGHTS} does not fit {META} and {CONFIG} ({type(err).__name__}: "
                f"{first[:200]})",
                "refit the model",
            ) from None
        from omib_st.model.checks import check_finite_model

        check_finite_model(detector, path)  # NaN weights or statistics would score NaN
        return detector


_XI = "_xi"
"""Key of ξ among the evidence parts while they are collected."""
_HARDWARE = ("device", "devices", "num_nodes", "strategy", "precision", "num_workers",
             "progress_bar", "checkpoint_dir")  # fmt: skip


def _run_id(config, genes, modalities, refs, train_spots, val_spots, labels=None) -> str:
    """What a checkpoint must match to be resumed: settings (but not hardware), genes, the
    reference spots by name, the train/validation split and (supervised) the spots' classes."""
    settings = to_dict(config)
    settings["train"] = {k: v for k, v in settings["train"].items() if k not in _HARDWARE}
    digest = hashlib.sha256(json.dumps([settings, genes, modalities], sort_keys=True).encode())
    for ref in refs:
        digest.update("\0".join(map(str, ref.obs_names)).encode())
    digest.update(np.asarray(train_spots, dtype=np.int64).tobytes())
    digest.update(np.asarray(val_spots, dtype=np.int64).tobytes())
    if labels is not None:
        digest.update(b"labels" + np.asarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _meta_sha256(meta: dict[str, Any]) -> str:
    """Checksum of model.json's content (every key but ``sha256`` itself, canonical JSON)."""
    rest = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _normal_mask(adata: AnnData, key: str | None, values: Sequence[Any] | None) -> np.ndarray:
    if key is None:
        return np.ones(adata.n_obs, dtype=bool)
    if key not in adata.obs:
        raise OmibError(f'obs["{key}"] not found (columns: {", ".join(map(str, adata.obs.columns[:8]))})',
                        "give an existing column as --normal-key")  # fmt: skip
    if not values:
        raise OmibError(f"no normal values given for obs['{key}']", "pass --normal-values")
    mask = adata.obs[key].astype(str).isin([str(v) for v in values]).to_numpy()
    if not mask.any():
        found = ", ".join(map(str, adata.obs[key].astype(str).unique()[:8]))
        raise OmibError(
            f"no spot has obs['{key}'] in {list(values)} (values: {found})", "check --normal-values"
        )
    return mask


def _subsample(masks: list[np.ndarray], max_spots: int, seed: int) -> list[np.ndarray]:
    """The masks restricted to at most ``max_spots`` of their spots, drawn at random (seeded)."""
    chosen = np.flatnonzero(np.concatenate(masks))
    if len(chosen) <= max_spots:
        return masks
    keep = np.zeros(sum(len(m) for m in masks), dtype=bool)
    keep[np.random.default_rng([seed, max_spots]).choice(chosen, max_spots, replace=False)] = True
    return np.split(keep, np.cumsum([len(m) for m in masks])[:-1])

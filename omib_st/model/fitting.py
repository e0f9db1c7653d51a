"""The steps of :meth:`OmibDetector.fit <omib_st.model.OmibDetector.fit>`, in order.

:func:`start_fit` checks the arguments and settings and chooses the mode and modalities;
:func:`prepare_data` chooses the genes and thinning depth, prepares the sections, splits the
reference spots and fits the expression projection; :func:`build_model` builds the module and
the image target; :func:`train_model` runs the two-stage schedule; :func:`fit_record` describes
the fit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData
from scipy import sparse

from omib_st.config import to_dict
from omib_st.errors import OmibError
from omib_st.model.image_hooks import fit_image_targets
from omib_st.model.image_target import ImageTarget, backbone_note, frozen_backbone
from omib_st.model.reference import split_spots
from omib_st.model.supervised import (
    ONE_CLASS,
    SUPERVISED,
    class_counts,
    class_weights,
    spot_classes,
)
from omib_st.model.tissue_data import Section, has_image, normalise_stain, prepare_section
from omib_st.pp import Projection, select_genes, thinning_depth
from omib_st.train import BestState, FitResult, fit

_HARDWARE = (
    "device",
    "devices",
    "num_nodes",
    "strategy",
    "precision",
    "num_workers",
    "progress_bar",
    "checkpoint_dir",
)
"""Training settings that do not change the result, so a checkpoint resumes across them."""


@dataclass
class FitData:
    """The prepared reference sections and the spots a fit trains and calibrates on."""

    refs: list[AnnData]
    sections: list[Section]
    train_spots: np.ndarray
    val_spots: np.ndarray
    """Held-out spots (global indices over the concatenated sections); empty when
    ``train.val_fraction`` is 0."""
    labels: np.ndarray | None = None
    """Supervised mode: every spot's class (global order); None in one-class mode."""

    @property
    def held_out(self) -> np.ndarray:
        """The spots that calibrate the scores: the held-out ones, else the training ones."""
        return self.val_spots if len(self.val_spots) else self.train_spots


def start_fit(
    detector: Any,
    references: AnnData | Sequence[AnnData],
    *,
    normal_key: str | None,
    use_image: bool | None,
    use_expression: bool,
    label_key: str | None,
    positive: Sequence[Any] | None,
    ignore: Sequence[Any] | None,
) -> tuple[list[AnnData], list[np.ndarray] | None]:
    """Check the arguments and settings, set the detector's mode (which resolves its ``auto``
    settings) and modalities, and return the reference sections and (supervised) each spot's
    class."""
    refs = [references] if isinstance(references, AnnData) else list(references)
    if not refs:
        raise OmibError("no reference section was given", "pass at least one AnnData")
    supervised = label_key is not None
    if supervised and normal_key is not None:
        raise OmibError(
            "label_key (--label-key) and normal_key (--normal-key) were both given",
            "use --label-key for supervised training or --normal-key for one-class",
        )
    if not supervised and (positive or ignore):
        raise OmibError(
            "positive/ignore values were given without a label column",
            "add --label-key COL (label_key=...)",
        )
    classes = spot_classes(refs, label_key, positive, ignore) if supervised else None
    detector.mode = SUPERVISED if supervised else ONE_CLASS
    detector.use_image = all(has_image(r) for r in refs) if use_image is None else use_image
    detector.use_expression = use_expression
    if not (detector.use_image or detector.use_expression):
        raise OmibError(
            "an image-only model needs H&E images in every reference",
            "add the images or keep the expression modality",
        )
    _warn_without_held_out(detector.config, supervised)
    return refs, classes


def _warn_without_held_out(config: Any, supervised: bool) -> None:
    """Warn about a fit without held-out spots (settings the detector cannot score with, such
    as ``omib.omf: false``, are refused by :class:`~omib_st.config.DetectorConfig`)."""
    if not config.train.val_fraction and not supervised:
        warnings.warn(  # stacklevel 4: the caller of OmibDetector.fit
            "omib-st: train.val_fraction is 0, so the score statistics and the threshold "
            "come from the training spots themselves (optimistic: more spots are flagged)",
            UserWarning,
            stacklevel=4,
        )


def prepare_data(
    detector: Any,
    refs: list[AnnData],
    masks: list[np.ndarray],
    classes: list[np.ndarray] | None,
    *,
    layer: str | None,
    library_id: str | None,
) -> FitData:
    """Thinning depth and genes (chosen on the thinned counts) from the masked spots, every
    reference section prepared (its patches stain-normalised onto the reference's,
    ``image.stain``), the masked spots split into training and held-out spots, and the
    projection fitted."""
    c = detector.config
    normal_refs = [r[m] for r, m in zip(refs, masks)]
    q = c.preprocess.thin_quantile
    detector.thin_to = None if q is None else thinning_depth(normal_refs, q, layer)
    detector.genes = select_genes(
        normal_refs,
        n_top_genes=c.preprocess.n_top_genes,
        min_spots=c.preprocess.min_spots,
        layer=layer,
        thin_to=detector.thin_to,
        seed=c.train.seed,
    )
    sections = [
        prepare_section(
            r,
            detector.genes,
            c,
            use_image=detector.use_image,
            layer=layer,
            library_id=library_id,
            thin_to=detector.thin_to,
        )
        for r in refs
    ]
    detector.stain = None
    if detector.use_image and c.image.stain == "reinhard":
        detector.stain = normalise_stain(sections)
    what = "normal" if classes is None else "labelled"
    train_spots, val_spots = split_spots(masks, c.train.seed, c.train.val_fraction, what)
    project(detector, sections, train_spots)
    labels = None if classes is None else np.concatenate(classes)
    return FitData(refs, sections, train_spots, val_spots, labels)


def project(detector: Any, sections: Sequence[Section], train_spots: np.ndarray) -> None:
    """Fit the expression projection on the training spots and give every section its
    encoder input (:attr:`Section.features`) in place of its expression."""
    detector.projection = Projection.fit(
        [s.expression for s in sections],
        detector.config.expression.n_components,
        seed=detector.config.train.seed,
        spots=train_spots,
        per_section=detector.config.expression.scaling == "section",
    )
    for section in sections:
        section.features, section.expression = detector.projection(section.expression), None


def build_model(detector: Any, data: FitData, *, library_id: str | None) -> None:
    """The untrained module (a supervised fit: ``supervised.members`` modules seeded
    ``train.seed``, ``train.seed + 1``, …) with its task's class weights or dispersions, and the
    image target (with the frozen backbone's feature cache in ``detector._cache``)."""
    c = detector.config
    detector.image_target = ImageTarget.of(c.image)
    supervised = data.labels is not None
    n_members = c.supervised.members if supervised else 1
    detector.members = [detector._build(seed=c.train.seed + k) for k in range(n_members)]
    if supervised:
        weights = class_weights(data.labels[data.train_spots])
        for module in detector.members:
            module.task.class_weight.copy_(weights)
    elif detector.use_expression:
        target = sparse.vstack([s.target for s in data.sections], format="csr")[data.train_spots]
        detector.module.task.set_dispersion("expression", torch.from_numpy(target.toarray()))
    detector._cache = None
    if detector.use_image:  # the image target, once per spot (and the frozen backbone's cache)
        detector._cache = fit_image_targets(
            detector,
            data.refs,
            data.sections,
            data.train_spots,
            data.held_out,
            library_id=library_id,
        )


def train_model(detector: Any, data: FitData, *, resume: bool) -> list[FitResult]:
    """The two-stage schedule of every module on the training spots, validated on the held-out
    ones. Module k trains with seed ``train.seed + k`` and, in an ensemble, checkpoints to
    ``train.checkpoint_dir/member<k>``; with ``supervised.keep_best`` each supervised module
    ends with the weights of its best validation epoch."""
    c = detector.config
    train_set = detector._dataset(data.sections, data.train_spots, data.labels)
    val_loader = None
    if len(data.val_spots):
        val_set = detector._dataset(data.sections, data.val_spots, data.labels)
        val_loader = detector._loader(val_set, shuffle=False)
    key = run_id(
        c,
        detector.genes,
        detector.modalities,
        data.refs,
        data.train_spots,
        data.val_spots,
        data.labels,
    )
    ensemble = len(detector.members) > 1
    keep_best = data.labels is not None and c.supervised.keep_best and val_loader is not None
    results = []
    for k, module in enumerate(detector.members):
        train = c.train
        if ensemble:
            folder = train.checkpoint_dir and str(Path(train.checkpoint_dir) / f"member{k}")
            train = dataclasses.replace(train, seed=train.seed + k, checkpoint_dir=folder)
        best = BestState() if keep_best else None
        results.append(
            fit(
                module,
                detector._loader(train_set, shuffle=True, seed=train.seed),
                val_loader,
                config=train,
                mi=c.mi,
                resume=resume,
                run_id=f"{key}-member{k}" if ensemble else key,
                callbacks=[best] if best else None,
            )
        )
        if best:
            best.restore(module)
            results[-1].best_epoch = best.epoch
    return results


def fit_record(
    detector: Any,
    data: FitData,
    results: list[FitResult],
    supervision: dict[str, Any],
) -> dict[str, Any]:
    """The fit's record (``detector.training``, saved in ``model.json``): the first module's
    training, and the time of all; ``supervision`` holds ``label_key``, ``positive`` and
    ``ignore`` of a supervised fit."""
    result = results[0]
    c = detector.config
    cache = detector._cache
    frozen = detector.use_image and frozen_backbone(c.image.freeze, detector._device())
    image = detector.use_image
    training = {
        "n_reference_sections": len(data.refs),
        "n_train_spots": int(len(data.train_spots)),
        "n_val_spots": int(len(data.val_spots)),
        "epochs": int(result.epochs),
        "stopped_early": result.stopped_early,
        "bound": result.bound.to_dict() if result.bound else {},
        "r": {m: float(v) for m, v in zip(detector.modalities, detector.module.weights.r)},
        "feature_cache_bytes": int(cache.nbytes if cache is not None else 0),
        "train_seconds": round(sum(r.seconds for r in results), 3),
        "device": detector._device().type,
        "image_frozen": bool(frozen),
        "image_backbone": backbone_note(frozen, c.image.freeze == "auto") if image else None,
        "image_target": detector.image_target.kind if image else None,
    }
    if data.labels is not None:
        negative, positive = class_counts(data.labels[data.train_spots])
        training.update(
            {
                "n_train_positive": positive,
                "n_train_negative": negative,
                "class_weights": [float(w) for w in detector.module.task.class_weight],
                "members": len(results),
                "member_epochs": [int(r.epochs) for r in results],
                "member_best_epochs": [r.best_epoch for r in results],
                "label_key": str(supervision["label_key"]),
                "positive": [str(v) for v in supervision["positive"]],
                "ignore": [str(v) for v in (supervision["ignore"] or [])],
            }
        )
    return training


def run_id(config, genes, modalities, refs, train_spots, val_spots, labels=None) -> str:
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

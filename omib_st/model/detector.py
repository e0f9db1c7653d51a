"""The tissue anomaly detector: one-class OMIB over expression (GNN) and H&E patches (CNN).

:class:`OmibDetector` is a façade: each step lives in its own module of :mod:`omib_st.model`
(``reference``, ``fitting``, ``encoders``, ``calibration``, ``score``, ``persistence``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData

from omib_st.config import DetectorConfig
from omib_st.errors import OmibError
from omib_st.model.calibration import calibrate, reference_threshold
from omib_st.model.encoders import build_module
from omib_st.model.feature_cache import FeatureCache
from omib_st.model.fitting import build_model, fit_record, prepare_data, start_fit, train_model
from omib_st.model.image_target import ImageTarget
from omib_st.model.persistence import load_model, model_metadata, save_model
from omib_st.model.reference import reference_masks
from omib_st.model.score import DetectionResult, one_class_result, prepare_target, supervised_result
from omib_st.model.supervised import ONE_CLASS, SUPERVISED, THRESHOLD
from omib_st.model.tissue_data import Section
from omib_st.model.tissue_dataset import TissueDataset
from omib_st.module import OMIB
from omib_st.pp import Projection
from omib_st.pp.stain import LabStats
from omib_st.train import make_loader, resolve_accelerator

__all__ = ["DetectionResult", "OmibDetector"]


class OmibDetector:
    """Fit on normal reference tissue, score spots of new sections.

    Modalities: ``expression`` (a GNN over the spot's neighbourhood) and ``image`` (a timm CNN
    over its H&E patch). OMIB needs two modalities, so a single-modality model fuses two views of
    it: expression-only uses ``expression`` and ``spot`` (an MLP on the spot's own profile),
    image-only uses ``image`` and ``thumbnail`` (an MLP on the patch's colour thumbnail).

    The task (:class:`~omib_st.module.Likelihood`) is to predict the spot's own data: the counts
    of its neighbourhood under a negative binomial with the observed library size, and the
    image target under a Gaussian. The score of a spot is that negative log-likelihood under the
    fused head, per modality, as robust z-scores against held-out normal reference spots,
    smoothed over the spatial graph (each modality with its own weight) and combined
    (``scoring.combine``).

    Supervised mode (``fit(..., label_key=..., positive=[...])``, :mod:`omib_st.model.supervised`):
    annotated spots train OMIB's two-class classification task (class-weighted cross-entropy)
    on the same encoders and data handling; the score is the fused head's probability of the
    positive class (the mean log-odds of a deep ensemble of ``supervised.members`` modules) and
    the label is probability > 0.5. :attr:`mode` says which.

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
        self.members: list[OMIB] = []
        """The trained modules: one, or a supervised fit's ensemble (``supervised.members``)."""
        self.reference_stats: dict[str, tuple[float, float, float]] = {}
        self.thin_to: float | None = None
        """UMIs that deeper spots are thinned to (``preprocess.thin_quantile``), fixed at fit."""
        self.threshold = float("nan")
        self.projection: Projection | None = None
        self.calibration: dict[str, np.ndarray] = {}
        """Held-out normal reference spots and their neighbours: combined scores, graph (CSR
        arrays) and the held-out positions (:mod:`omib_st.model.calibration`)."""
        self.training: dict[str, Any] = {}
        self.mode = ONE_CLASS
        """``"one_class"`` (trained on normal spots) or ``"supervised"`` (on labelled spots)."""
        self._cache: FeatureCache | None = None
        self.image_target = ImageTarget()
        """The image modality's target (:mod:`omib_st.model.image_target`), fitted at fit."""
        self.stain: LabStats | None = None
        """The reference's stain, onto which every section's patches are normalised
        (``image.stain: reinhard``), fixed at fit; None = patches as they are."""

    @property
    def config(self) -> DetectorConfig:
        """The settings as given, their ``auto`` values resolved for :attr:`mode`
        (:meth:`DetectorConfig.for_mode <omib_st.config.DetectorConfig.for_mode>`)."""
        return self._settings.for_mode(self.mode)

    @config.setter
    def config(self, config: DetectorConfig) -> None:
        self._settings = config

    @property
    def module(self) -> OMIB | None:
        """The (first) trained module: the image branch and the fit record read it."""
        return self.members[0] if self.members else None

    @module.setter
    def module(self, module: OMIB | None) -> None:
        self.members = [] if module is None else [module]

    @property
    def modalities(self) -> list[str]:
        """The two views OMIB fuses (see the class description)."""
        if not self.use_expression:
            return ["image", "thumbnail"]
        return ["expression", "image"] if self.use_image else ["expression", "spot"]

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
        their labelled spots (supervised mode); the steps are in :mod:`omib_st.model.fitting`.

        ``references``: sections of normal tissue, raw counts in ``X`` (or ``layers[layer]``).
        ``normal_key``, ``normal_values``: train only on spots whose ``obs[normal_key]`` is in
        ``normal_values`` (the graph still covers the whole section). ``use_image``: default,
        when every reference has an image; ``use_expression=False`` makes an image-only model.
        ``resume``: continue an interrupted fit from ``config.train.checkpoint_dir``.
        ``label_key``, ``positive``, ``ignore``: supervised mode (:mod:`omib_st.model.supervised`):
        ``obs[label_key]`` in ``positive`` is the anomalous class, in ``ignore`` (or missing) is
        left out of training, any other label is normal; not combinable with ``normal_key``.
        """
        refs, classes = start_fit(
            self,
            references,
            normal_key=normal_key,
            use_image=use_image,
            use_expression=use_expression,
            label_key=label_key,
            positive=positive,
            ignore=ignore,
        )
        train = self.config.train
        masks = reference_masks(
            refs, classes, normal_key, normal_values, max_spots=train.max_spots, seed=train.seed
        )
        data = prepare_data(self, refs, masks, classes, layer=layer, library_id=library_id)
        build_model(self, data, library_id=library_id)
        results = train_model(self, data, resume=resume)
        if data.labels is None:
            self.reference_stats, self.calibration = calibrate(self, data.sections, data.held_out)
            self.threshold = self.reference_threshold()
        else:  # the probability needs no reference statistics; the threshold is fixed
            self.reference_stats, self.calibration, self.threshold = {}, {}, THRESHOLD
        supervision = {"label_key": label_key, "positive": positive, "ignore": ignore}
        self.training = fit_record(self, data, results, supervision)
        self._cache = None  # the cache is for the fit's spots only
        return self

    def reference_threshold(self) -> float:
        """The ``scoring.quantile`` of the held-out reference spots' scores, smoothed with the
        current ``scoring`` settings (:func:`omib_st.model.calibration.reference_threshold`)."""
        return reference_threshold(
            self.calibration, self.config.scoring, list(self.reference_stats)
        )

    def score(
        self, adata: AnnData, *, layer: str | None = None, library_id: str | None = None
    ) -> DetectionResult:
        """Anomaly scores, labels and ξ for every spot of ``adata`` (which is not modified)."""
        self._check_fitted()
        section, dataset = prepare_target(self, adata, layer=layer, library_id=library_id)
        if self.mode == SUPERVISED:
            return supervised_result(self, section, dataset)
        return one_class_result(self, section, dataset)

    def metadata(self) -> dict[str, Any]:
        """Everything besides the weights that a saved model needs (JSON-serialisable)."""
        return model_metadata(self)

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the model folder atomically: ``weights.pt`` (state dict, projection,
        calibration, image target), ``model.json`` (genes, modalities, score statistics,
        checksums), ``config.yaml`` (:mod:`omib_st.model.persistence`)."""
        self._check_fitted()
        return save_model(self, path, force=force)

    @classmethod
    def load(cls, path: str | Path) -> OmibDetector:
        """Load a model folder written by :meth:`save`.

        Treats the folder as untrusted: every file is checked against its checksum, files that
        link out of the folder are refused, ``config.yaml`` is read with ``yaml.safe_load`` and
        ``weights.pt`` with ``torch.load(weights_only=True)``, and no path named inside the
        files (``image.weights``, ``train.checkpoint_dir``) is opened.
        """
        return load_model(cls, path)

    # ------------------------------------------------------------------ plumbing
    def _build(self, *, initial_weights: bool = True, seed: int | None = None) -> OMIB:
        """The untrained module (:func:`omib_st.model.encoders.build_module`)."""
        return build_module(self, initial_weights=initial_weights, seed=seed)

    def _dataset(
        self,
        sections: Sequence[Section],
        spots: np.ndarray | None = None,
        labels: np.ndarray | None = None,
    ) -> TissueDataset:
        """Spots of ``sections`` as this model's batches (its views, hops and feature cache)."""
        return TissueDataset(
            sections,
            spots,
            views=self.modalities,
            n_hops=self.config.expression.n_layers,
            cache=self._cache,
            labels=labels,
            thumbnail=self.config.image.thumbnail,
        )

    def _loader(
        self,
        dataset: TissueDataset,
        shuffle: bool,
        order: np.ndarray | None = None,
        seed: int | None = None,
    ):
        """A loader over ``dataset`` with the training settings (batch size, seed, workers)."""
        train = self.config.train
        return make_loader(
            dataset,
            train.batch_size,
            shuffle=shuffle,
            seed=train.seed if seed is None else seed,
            num_workers=train.num_workers,
            collate_fn=dataset.collate,
            order=order,
            pin_memory=self._device().type == "cuda",
        )

    def _device(self) -> torch.device:
        """The device to train and score on (this process's GPU under DDP)."""
        device = torch.device(resolve_accelerator(self.config.train.device))
        if device.type == "cuda":
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return device

    def _check_fitted(self) -> None:
        if self.module is None:
            raise OmibError("the detector is not fitted", "call fit() or load a saved model first")

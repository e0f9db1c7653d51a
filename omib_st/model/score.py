"""Scoring a target section with a fitted detector, and the result it returns.

One-class: each spot's negative log-likelihood per modality under the fused head, as robust
z-scores against the reference, combined, smoothed over the spatial graph and cut by the
``scoring.threshold`` rule (:mod:`omib_st.model.calibration`). Supervised: the fused head's
positive-class probability, smoothed, cut by the ``scoring.supervised_threshold`` rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.model.calibration import (
    depth_covariate,
    spot_scores,
    supervised_threshold,
    target_threshold,
)
from omib_st.model.image_hooks import score_image_targets
from omib_st.model.inference import evidence
from omib_st.model.supervised import SUPERVISED, positive_probability
from omib_st.model.tissue_data import Section, normalise_stain, prepare_section, require_image
from omib_st.model.tissue_dataset import TissueDataset
from omib_st.pp import GeneAlignment, expression_neighbors
from omib_st.scoring import smooth_probability, zscores


@dataclass
class DetectionResult:
    """Per-spot output of :meth:`OmibDetector.score <omib_st.model.OmibDetector.score>`."""

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


def prepare_target(
    detector: Any, adata: AnnData, *, layer: str | None, library_id: str | None
) -> tuple[Section, TissueDataset]:
    """The target section prepared as the reference sections were (its patches normalised onto
    the reference's stain), and its dataset."""
    if detector.use_image:
        require_image(adata)
    section = prepare_section(
        adata,
        detector.genes,
        detector.config,
        use_image=detector.use_image,
        layer=layer,
        library_id=library_id,
        thin_to=detector.thin_to,
        projection=detector.projection,
    )
    scoring = detector.config.scoring
    if detector.mode == SUPERVISED and scoring.expression_smoothing:
        section.expression_graph = expression_neighbors(
            adata, scoring.expression_neighbors, layer=layer
        )
    if detector.stain is not None:
        normalise_stain([section], detector.stain)
    if detector.use_image:
        detector._cache = score_image_targets(detector, adata, section, library_id=library_id)
    try:
        return section, detector._dataset([section])
    finally:
        detector._cache = None  # held by the dataset: the target section's features


def one_class_result(detector: Any, section: Section, dataset: TissueDataset) -> DetectionResult:
    """Scores, labels and ξ of a one-class model."""
    c = detector.config
    parts, xi = evidence(detector, dataset)
    stats = detector.reference_stats
    z = zscores(parts, stats, depth_covariate(detector, dataset))
    scores = spot_scores(z, section.graph, c.scoring)
    threshold = target_threshold(scores, detector.calibration, c.scoring, c.train.seed, list(stats))
    return DetectionResult(
        scores.astype(np.float32),
        scores > threshold,
        xi.astype(np.float32),
        parts,
        float(threshold),
        section.alignment,
        _info(detector, section, one_class=True),
    )


def supervised_result(detector: Any, section: Section, dataset: TissueDataset) -> DetectionResult:
    """Supervised mode: score = the fused head's positive-class probability (the ensemble's mean
    log-odds), smoothed in log-odds over the spatial graph (``scoring.smoothing``, as the
    one-class score) and then over the section's expression graph
    (``scoring.expression_smoothing``), label = score > the ``scoring.supervised_threshold``
    rule's cut; ``parts = {"probability": the unsmoothed probability}``."""
    raw, xi = positive_probability(detector, dataset)
    scoring = detector.config.scoring
    probability = smooth_probability(raw, section.graph, scoring.smoothing)
    if section.expression_graph is not None:
        probability = smooth_probability(
            probability, section.expression_graph, scoring.expression_smoothing
        )
    threshold = supervised_threshold(probability, scoring, detector.config.train.seed)
    return DetectionResult(
        probability.astype(np.float32),
        probability > threshold,
        xi.astype(np.float32),
        {"probability": raw},
        threshold,
        section.alignment,
        _info(detector, section, one_class=False),
    )


def _info(detector: Any, section: Section, *, one_class: bool) -> dict[str, Any]:
    """What the result reports of how the section was scored (``DetectionResult.info``)."""
    info: dict[str, Any] = {
        "image_used": detector.use_image,
        "genes_missing": section.alignment.n_missing,
    }
    if one_class and detector.use_image:
        if detector.training.get("image_backbone"):  # models before issue 14 do not record it
            info["image_backbone"] = str(detector.training["image_backbone"])
        info["image_target"] = detector.image_target.kind
    if not one_class:
        info["members"] = len(detector.members)
    if detector.thin_to is not None:
        info["thin_to"] = detector.thin_to
    if detector.use_image:
        info["image_resolution"] = section.patches.resolution
        info["image_stain"] = "reinhard" if detector.stain is not None else "none"
    return info

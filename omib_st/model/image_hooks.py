"""The image target in the detector's fit, score and load: computed once per spot, and restored.

Each hook takes the :class:`~omib_st.model.OmibDetector` whose image target it fits, applies or
restores; the target itself is :class:`~omib_st.model.image_target.ImageTarget`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from anndata import AnnData
from scipy import sparse

from omib_st.model.feature_cache import FeatureCache
from omib_st.model.image_blocks import CNN_BLOCKS
from omib_st.model.image_target import ImageTarget, fixed_network, frozen_backbone
from omib_st.model.tissue_dataset import TissueDataset


def compute_targets(
    target: ImageTarget,
    adatas: Sequence[AnnData],
    sections: Sequence,
    spots: np.ndarray,
    *,
    encoder: torch.nn.Module | None,
    cache: bool,
    library_id: str | None = None,
    fit_rows: np.ndarray | None = None,
) -> FeatureCache | None:
    """Set ``section.image_target`` for every section (rows of ``spots``, global indices over the
    concatenated sections; other rows stay zero) and, with ``cache``, return the
    :class:`~omib_st.model.feature_cache.FeatureCache` of ``spots`` from the same pass (``encoder``
    frozen). With ``fit_rows`` (global indices, a subset of ``spots``), first fit the target's
    statistics on them (the training spots)."""
    offsets = np.concatenate([[0], np.cumsum([s.n_spots for s in sections])])
    spots = np.unique(np.asarray(spots, dtype=np.int64))
    section_of = np.searchsorted(offsets, spots, side="right") - 1
    if fit_rows is not None:
        fit_rows = np.asarray(fit_rows, dtype=np.int64)
        fit_of = np.searchsorted(offsets, fit_rows, side="right") - 1
        rows = [fit_rows[fit_of == k] - offsets[k] for k in range(len(sections))]
        target.fit_stain([s.patches for s in sections], rows)
    raws = []
    for k, (adata, section) in enumerate(zip(adatas, sections)):
        local = spots[section_of == k] - offsets[k]
        raws.append(
            target.raw(
                adata,
                section.patches,
                local,
                encoder=encoder,
                features=cache,
                library_id=library_id,
            )
        )
    keys = set().union(*(r.keys() for r in raws)) if raws else set()
    raw = {key: np.concatenate([r[key] for r in raws if key in r]) for key in keys}
    if fit_rows is not None:
        target.fit({k: v[np.searchsorted(spots, fit_rows)] for k, v in raw.items()})
    values = target.transform(raw)
    for k, section in enumerate(sections):
        full = np.zeros((section.n_spots, values.shape[1]), dtype=np.float32)
        where = section_of == k
        full[spots[where] - offsets[k]] = values[where]
        section.image_target = full
    if not cache:
        return None
    features = torch.from_numpy(raw["features"]).half()
    return FeatureCache(spots, features, torch.from_numpy(raw["thumbnail"]).half())


def fit_image_targets(
    detector: Any,
    adatas: Sequence[AnnData],
    sections: Sequence,
    train_spots: np.ndarray,
    held_out: np.ndarray,
    *,
    library_id: str | None = None,
) -> FeatureCache | None:
    """At fit (module built, before training): fit ``detector.image_target`` on the training
    spots and set every section's target for the spots that training and calibration read
    (training, held-out and the held-out spots' graph neighbours). Returns the frozen backbone's
    feature cache of those spots, or None."""
    c = detector.config
    encoder = detector.module.encoders["image"]
    frozen = frozen_backbone(c.image.freeze, detector._device())
    graph = sparse.block_diag([s.graph for s in sections], format="csr")
    spots = np.union1d(np.union1d(train_spots, held_out), graph[held_out].indices)
    cache = frozen and c.image.cache_features
    target = ImageTarget.of(c.image)
    detector.image_target = target
    if target.needs_patches_only:  # the original thumbnail target: from the batch's patches
        if not cache:
            return None
        dataset = TissueDataset(sections, views=("image",), thumbnail=c.image.thumbnail)
        return FeatureCache.build(
            dataset, encoder, spots, batch_size=c.train.batch_size, device=detector._device()
        )
    if set(CNN_BLOCKS) & set(target.blocks) and not frozen:
        target.network = fixed_network(encoder)
    return compute_targets(
        target,
        adatas,
        sections,
        spots,
        encoder=encoder,
        cache=cache,
        library_id=library_id,
        fit_rows=train_spots,
    )


def score_image_targets(
    detector: Any, adata: AnnData, section: Any, *, library_id: str | None = None
) -> FeatureCache | None:
    """At scoring: the section's image target (every spot) and, with a frozen backbone, its
    feature cache from the same pass (so the backbone runs once per spot). Returns the cache or
    None."""
    c = detector.config
    target = detector.image_target
    frozen = bool(detector.training.get("image_frozen", frozen_backbone(c.image.freeze, "cpu")))
    cache = frozen and c.image.cache_features
    if target.needs_patches_only:
        return None
    encoder = detector.module.encoders["image"]
    return compute_targets(
        target,
        [adata],
        [section],
        np.arange(section.n_spots),
        encoder=encoder,
        cache=cache,
        library_id=library_id,
    )


def restore_image_target(detector: Any, state: dict[str, torch.Tensor] | None) -> ImageTarget:
    """The image target of a loaded model from its saved tensors (``weights.pt``'s
    ``image_target``); a model saved before image targets existed predicts the thumbnail."""
    c = detector.config
    if not detector.use_image:
        return ImageTarget()
    if state is None:
        return ImageTarget.of(c.image, "thumbnail")
    target = ImageTarget.of(c.image, detector.training.get("image_target"))
    network = None
    if any(k.startswith("network.") for k in state):
        from omib_st.nn import ImageEncoder

        network = ImageEncoder(
            c.image.backbone,
            c.image.out_dim,
            pretrained=False,
            model_kwargs=c.image.model_kwargs,
            mean=c.image.mean,
            std=c.image.std,
        )
    target.load_state(state, network)
    return target

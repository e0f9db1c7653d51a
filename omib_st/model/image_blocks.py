"""Raw blocks of the image target for the spots of one section, before normalisation.

Each block is a per-spot feature vector computed from H&E patches
(:mod:`omib_st.model.image_target` lists them and normalises them): the patch's thumbnail,
fixed-network features of the patch (``cnn``) and of wider context patches (``context``), and
morphology descriptors of the stain-normalised patch and its context (``descriptors``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from anndata import AnnData

from omib_st.config import ImageEncoderConfig
from omib_st.errors import OmibError

CNN_BLOCKS = ("cnn", "context")
CONTEXT_SCALES = (2.0, 3.0)
"""Context patches of the ``context`` block, in spot diameters (each cut at the patch size)."""
CONTEXT = 3.0
"""Context patch side in spot diameters for the ``descriptors`` block (cut at the patch size)."""
BATCH = 256
"""Spots whose patches are cut and encoded at once."""


@dataclass
class _Section:
    """What every batch of one section's raw pass reads."""

    blocks: list[str]
    extractor: Any
    encoder: torch.nn.Module | None
    network: torch.nn.Module | None
    features: bool
    thumbnail: int
    wider: list[Any] = field(default_factory=list)
    context: Any = None
    transform: Callable[[np.ndarray], np.ndarray] | None = None


def raw_blocks(
    blocks: list[str],
    stats: dict[str, np.ndarray],
    network: torch.nn.Module | None,
    adata: AnnData,
    extractor: Any,
    spots: np.ndarray,
    *,
    encoder: torch.nn.Module | None,
    features: bool = False,
    thumbnail: int = ImageEncoderConfig.thumbnail,
    library_id: str | None = None,
) -> dict[str, np.ndarray]:
    """Raw ``blocks`` of ``spots`` of one section (``extractor``: its spot
    :class:`~omib_st.pp.PatchExtractor`): ``{block: float32 [len(spots), D]}``, plus
    ``"features"`` (``encoder``'s, for the feature cache) with ``features``; the ``thumbnail``
    block is ``thumbnail`` pixels a side. The CNN blocks come from ``network``, or ``encoder``
    (frozen) when there is none. Context patches are normalised as ``extractor``'s; when those
    are not (``image.stain: none``), ``stats`` holds the ``descriptors`` block's own Reinhard
    target."""
    spots = np.asarray(spots, dtype=np.int64)
    section = _Section(list(blocks), extractor, encoder, None, features, thumbnail)
    if "descriptors" in blocks:
        section.context = _context(adata, extractor, CONTEXT, library_id)
        if extractor.stain is None and "lab_mean" in stats:
            section.transform = _stain_transform(stats, extractor.lab_stats())
    section.network = network if network is not None else encoder
    if "context" in blocks:
        section.wider = [_context(adata, extractor, s, library_id) for s in CONTEXT_SCALES]
    if set(CNN_BLOCKS) & set(blocks) and section.network is None:
        raise OmibError("the image target's cnn block has no network", "report this bug")
    out: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(spots), BATCH):
        for key, value in _batch_blocks(section, spots[start : start + BATCH]).items():
            out.setdefault(key, []).append(value)
    return {k: np.concatenate(v).astype(np.float32) for k, v in out.items()}


def _context(adata: AnnData, extractor: Any, scale: float, library_id: str | None) -> Any:
    """Patches ``scale`` times as wide as ``extractor``'s, cut at its size, stained as its."""
    from omib_st.pp.patches import PatchExtractor

    wider = PatchExtractor.from_adata(
        adata, size=extractor.size, scale=scale * extractor.scale, library_id=library_id
    )
    if extractor.stain is None:
        return wider
    source, target = extractor.stain
    return wider.normalised(target, source)


def _stain_transform(stats: dict[str, np.ndarray], source: Any) -> Callable:
    """Reinhard normalisation of patches from the section's ``source`` LAB statistics onto the
    training spots' (``stats``)."""
    from omib_st.pp.stain import LabStats, reinhard

    target = LabStats(stats["lab_mean"], stats["lab_std"])

    def transform(patches):
        return reinhard(patches, target=target, source=source)

    return transform


def _batch_blocks(section: _Section, batch: np.ndarray) -> dict[str, np.ndarray]:
    """The raw blocks of one batch of spots."""
    from omib_st.model.tissue_data import thumbnails
    from omib_st.pp.morphology import morphology_descriptors

    blocks, out = section.blocks, {}
    patches = section.extractor[batch]
    tensor = torch.from_numpy(np.ascontiguousarray(patches))
    if "thumbnail" in blocks or section.features:
        out["thumbnail"] = thumbnails(tensor, section.thumbnail).numpy()
    with torch.no_grad():
        own = features_of(section.encoder, tensor) if section.features else None
        if own is not None:
            out["features"] = own
        if "cnn" in blocks:
            fixed = own if own is not None and section.network is section.encoder else None
            out["cnn"] = fixed if fixed is not None else features_of(section.network, tensor)
        if "context" in blocks:
            out["context"] = np.concatenate(
                [
                    features_of(section.network, torch.from_numpy(np.ascontiguousarray(ex[batch])))
                    for ex in section.wider
                ],
                axis=1,
            )
    if "descriptors" in blocks:
        same = section.transform or (lambda x: x)
        spot = morphology_descriptors(same(patches))
        around = morphology_descriptors(same(section.context[batch]))
        out["descriptors"] = np.concatenate([spot, around], axis=1)
    return out


def n_descriptors() -> int:
    """Width of the ``descriptors`` block: the descriptors of the spot patch and of its context."""
    from omib_st.pp.morphology import DESCRIPTOR_NAMES

    return 2 * len(DESCRIPTOR_NAMES)


def features_of(encoder: torch.nn.Module, patches: torch.Tensor) -> np.ndarray:
    """Backbone features of uint8 patches, in eval mode on the encoder's own device."""
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        return encoder.features(patches.to(device)).float().cpu().numpy()
    finally:
        encoder.train(was_training)

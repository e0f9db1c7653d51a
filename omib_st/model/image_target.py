"""The image modality's target: what the likelihood task asks every head to predict of a spot's H&E.

Blocks are named in ``image.target`` (joined by ``+``); all but ``thumbnail`` are computed
**once per spot** (at fit for the spots training and calibration read, at scoring for the
target section), never per epoch (:mod:`omib_st.model.image_hooks`):

| block         | raw features per spot (:mod:`omib_st.model.image_blocks`) | made comparable by          |
|---------------|---------------------------------------------------------|-----------------------------|
| ``thumbnail`` | the patch's colour thumbnail (``image.thumbnail`` pixels a side, 3 × side² values in [0, 1]); with a frozen backbone it is cached with the features, else cut from each batch's patches | nothing (the original target) |
| ``descriptors`` | :func:`omib_st.pp.morphology.morphology_descriptors` of the spot patch and of a ``CONTEXT``-diameter context patch, stain-normalised (``image.stain``; with ``none``, the block maps the section onto the training spots' LAB statistics itself) | z-scores with the training spots' mean and sd, clipped to ± ``CLIP`` |
| ``cnn``       | pooled features of the fixed image backbone on the spot patch | the first ``image.target_dim`` principal components of the training spots (one scale per block, or whitened with ``image.target_whiten``) |
| ``context``   | the same on context patches of ``CONTEXT_SCALES`` diameters | as ``cnn`` |

Every statistic (the block's own Reinhard LAB target, means, sds, principal axes) comes from the
training spots only and is saved with the model (:meth:`ImageTarget.state`), so a loaded model computes
the same target for the same spot. The default is ``thumbnail`` (docs/benchmarks.md, "Real
H&E", compares the blocks).

The CPU fast path (:func:`frozen_backbone`): with ``image.freeze: auto`` (the default) the
backbone is frozen and its features cached when training runs on a CPU, and trained on a GPU.
A ``cnn`` / ``context`` block needs a fixed network: the frozen backbone itself when it is
frozen, otherwise a frozen copy of the backbone as initialised (saved with the model).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from anndata import AnnData

from omib_st.config import ImageEncoderConfig
from omib_st.errors import OmibError
from omib_st.model.image_blocks import CNN_BLOCKS, n_descriptors, raw_blocks
from omib_st.pp.patches import STAIN_SAMPLE

BLOCKS = ("thumbnail", "descriptors", "cnn", "context")
CLIP = 8.0
"""Descriptor z-scores are clipped to ± this (a few descriptors have heavy tails)."""


def blocks_of(kind: str) -> list[str]:
    """``"descriptors+cnn"`` → ``["descriptors", "cnn"]`` (unknown names are an error)."""
    blocks = [b.strip() for b in kind.split("+") if b.strip()]
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown or not blocks or len(set(blocks)) != len(blocks):
        raise OmibError(
            f"image.target {kind!r} is not a '+'-joined list of {', '.join(BLOCKS)}",
            "use e.g. 'descriptors+cnn' or 'thumbnail'",
        )
    return blocks


def frozen_backbone(freeze: bool | str, device: torch.device | str) -> bool:
    """Whether the image backbone is frozen: ``image.freeze`` itself, or with ``"auto"``, frozen
    on a CPU (the fast path: features computed once and cached) and trained on a GPU."""
    if freeze == "auto":
        return torch.device(device).type == "cpu"
    return bool(freeze)


def backbone_note(frozen: bool, auto: bool) -> str:
    """How the image backbone was used, for the model's record and the command's output."""
    if not frozen:
        return "trained"
    return "frozen, features cached (CPU fast path: image.freeze auto)" if auto else "frozen"


def fixed_network(encoder: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of an image encoder as it is now (the ``cnn`` block's network when the
    model's own backbone trains)."""
    return copy.deepcopy(encoder).eval().requires_grad_(False)


@dataclass
class ImageTarget:
    """The fitted image target of a model: which blocks, and the statistics that normalise them."""

    kind: str = "thumbnail"
    dim: int = 64
    """Principal components kept of each CNN block (``cnn``, ``context``)."""
    whiten: bool = False
    """Scale each principal component to unit variance (else one scale for the block)."""
    thumbnail: int = ImageEncoderConfig.thumbnail
    """Side of the ``thumbnail`` block in pixels."""
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    network: torch.nn.Module | None = None
    """The ``cnn`` block's fixed network when the model's backbone trains (else None: the
    frozen backbone itself)."""

    @classmethod
    def of(cls, image: ImageEncoderConfig, kind: str | None = None) -> ImageTarget:
        """The unfitted target under the ``image`` settings (``kind`` in place of ``image.target``)."""
        return cls(kind or image.target, image.target_dim, image.target_whiten, image.thumbnail)

    @property
    def blocks(self) -> list[str]:
        return blocks_of(self.kind)

    @property
    def width(self) -> int:
        """Width of the target (the likelihood's ``image`` part)."""
        widths = {"thumbnail": 3 * self.thumbnail**2, "descriptors": n_descriptors()}
        for block in CNN_BLOCKS:
            widths[block] = self.dim
        return sum(widths[b] for b in self.blocks)

    @property
    def needs_patches_only(self) -> bool:
        return self.blocks == ["thumbnail"]

    # ------------------------------------------------------------------ raw features
    def raw(
        self, adata: AnnData, extractor, spots: np.ndarray, **options: Any
    ) -> dict[str, np.ndarray]:
        """Raw blocks of ``spots`` of one section: :func:`~omib_st.model.image_blocks.raw_blocks`
        (same keyword ``options``) with this target's blocks, Reinhard statistics and fixed
        network."""
        return raw_blocks(
            self.blocks,
            self.stats,
            self.network,
            adata,
            extractor,
            spots,
            thumbnail=self.thumbnail,
            **options,
        )

    # ------------------------------------------------------------------ statistics
    def fit_stain(self, extractors: Sequence, spots: Sequence[np.ndarray]) -> None:
        """The ``descriptors`` block's own Reinhard target when the patches are not normalised
        (``image.stain: none``): LAB statistics pooled over a seeded sample of each reference
        section's training spots (colour only)."""
        if "descriptors" not in self.blocks or any(e.stain is not None for e in extractors):
            return
        from omib_st.pp.stain import lab_stats

        rng = np.random.default_rng(0)
        pooled = []
        for extractor, rows in zip(extractors, spots):
            if len(rows):
                sample = np.sort(rng.permutation(rows)[:STAIN_SAMPLE])
                pooled.append(extractor[sample])
        stats = lab_stats(np.concatenate(pooled))
        self.stats["lab_mean"] = stats.mean.astype(np.float64)
        self.stats["lab_std"] = stats.std.astype(np.float64)

    def fit(self, raw: dict[str, np.ndarray]) -> None:
        """Normalising statistics from the training spots' raw blocks."""
        if "descriptors" in self.blocks:
            x = raw["descriptors"].astype(np.float64)
            self.stats["descriptors_mean"] = x.mean(axis=0)
            sd = x.std(axis=0)
            self.stats["descriptors_scale"] = np.where(sd > 1e-8, sd, 1.0)
        for block in CNN_BLOCKS:
            if block in self.blocks:
                self._fit_components(block, raw[block].astype(np.float64))

    def _fit_components(self, block: str, x: np.ndarray) -> None:
        """The block's leading principal axes over the training spots, scaled."""
        mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        k = min(self.dim, len(s))
        sd = s[:k] / np.sqrt(max(len(x) - 1, 1))
        # whitened: every component at unit variance; else one scale for all (the first
        # component's sd), so the components keep their share of the variance
        scale = np.where(sd > 1e-8, sd, 1.0) if self.whiten else max(sd[0], 1e-8)
        components = np.zeros((x.shape[1], self.dim))  # fewer spots than dim: zero columns
        components[:, :k] = vt[:k].T / scale
        self.stats[f"{block}_mean"] = mean
        self.stats[f"{block}_components"] = components

    def transform(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        """The target, float32 ``[n, width]``, from raw blocks."""
        parts = []
        for block in self.blocks:
            x = raw[block].astype(np.float64)
            if block == "descriptors":
                mean, scale = self.stats["descriptors_mean"], self.stats["descriptors_scale"]
                x = np.clip((x - mean) / scale, -CLIP, CLIP)
            elif block in CNN_BLOCKS:
                x = (x - self.stats[f"{block}_mean"]) @ self.stats[f"{block}_components"]
            parts.append(x)
        return np.nan_to_num(np.concatenate(parts, axis=1)).astype(np.float32)

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict[str, torch.Tensor]:
        """Tensors to save with the model (statistics, and the fixed network's weights)."""
        state = {f"stats.{k}": torch.from_numpy(np.asarray(v)) for k, v in self.stats.items()}
        if self.network is not None:
            network = self.network.state_dict()
            state.update({f"network.{k}": v.detach().cpu() for k, v in network.items()})
        return state

    def load_state(self, state: dict[str, torch.Tensor], network: torch.nn.Module | None) -> None:
        """Restore the statistics and, into ``network``, the fixed network's weights."""
        self.stats = {k[6:]: v.numpy() for k, v in state.items() if k.startswith("stats.")}
        weights = {k[8:]: v for k, v in state.items() if k.startswith("network.")}
        self.network = None
        if weights:
            if network is None:
                raise OmibError(
                    "the saved image target has a network the model cannot rebuild",
                    "refit the model",
                )
            network.load_state_dict(weights)
            self.network = network.eval().requires_grad_(False)

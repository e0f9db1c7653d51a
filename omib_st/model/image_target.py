"""The image modality's target: what the likelihood task asks every head to predict of a spot's H&E.

Blocks are named in ``image.target`` (joined by ``+``); all but ``thumbnail`` are computed
**once per spot** (at fit for the spots training and calibration read, at scoring for the
target section), never per epoch:

| block         | raw features per spot                                   | made comparable by          |
|---------------|---------------------------------------------------------|-----------------------------|
| ``thumbnail`` | the patch's 8 × 8 colour thumbnail (192 values in [0, 1]); with a frozen backbone it is cached with the features, else cut from each batch's patches | nothing (the original target) |
| ``descriptors`` | :func:`omib_st.pp.morphology.morphology_descriptors` of the spot patch and of a ``CONTEXT``-diameter context patch (78 values), after Reinhard normalisation of the section onto the training spots' LAB statistics | z-scores with the training spots' mean and sd, clipped to ± ``CLIP`` |
| ``cnn``       | pooled features of the fixed image backbone on the spot patch | the first ``image.target_dim`` principal components of the training spots (one scale per block, or whitened with ``image.target_whiten``) |
| ``context``   | the same on context patches of :data:`CONTEXT_SCALES` diameters | as ``cnn`` |

Every statistic (the Reinhard LAB target, means, sds, principal axes) comes from the training
spots only and is saved with the model (:meth:`ImageTarget.state`), so a loaded model computes
the same target for the same spot. The default, ``thumbnail``, was chosen by measurement on
her2st B4, C2–C6 (docs/benchmarks.md, "Real H&E"); the morphology blocks scored lower there.

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

from omib_st.errors import OmibError

BLOCKS = ("thumbnail", "descriptors", "cnn", "context")
CNN_BLOCKS = ("cnn", "context")
CONTEXT_SCALES = (2.0, 3.0)
"""Context patches of the ``context`` block, in spot diameters (each cut at the patch size)."""
CONTEXT = 3.0
"""Context patch side in spot diameters for the ``descriptors`` block (cut at the patch size)."""
CLIP = 8.0
"""Descriptor z-scores are clipped to ± this (a few descriptors have heavy tails)."""
STAIN_SAMPLE = 256
"""Spot patches per section whose LAB statistics make the section's Reinhard source (and, for
reference sections, the pooled target)."""
BATCH = 256


def blocks_of(kind: str) -> list[str]:
    """``"descriptors+cnn"`` → ``["descriptors", "cnn"]`` (unknown names are an error)."""
    blocks = [b.strip() for b in kind.split("+") if b.strip()]
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown or not blocks or len(set(blocks)) != len(blocks):
        raise OmibError(f"image.target {kind!r} is not a '+'-joined list of {', '.join(BLOCKS)}",
                        "use e.g. 'descriptors+cnn' or 'thumbnail'")  # fmt: skip
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


@dataclass
class ImageTarget:
    """The fitted image target of a model: which blocks, and the statistics that normalise them."""

    kind: str = "thumbnail"
    dim: int = 64
    """Principal components kept of each CNN block (``cnn``, ``context``)."""
    whiten: bool = False
    """Scale each principal component to unit variance (else one scale for the block)."""
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    network: torch.nn.Module | None = None
    """The ``cnn`` block's fixed network when the model's backbone trains (else None: the
    frozen backbone itself)."""

    @property
    def blocks(self) -> list[str]:
        return blocks_of(self.kind)

    @property
    def width(self) -> int:
        """Width of the target (the likelihood's ``image`` part)."""
        from omib_st.model.tissue_data import THUMBNAIL

        widths = {"thumbnail": 3 * THUMBNAIL * THUMBNAIL, "descriptors": _n_descriptors()}
        for block in CNN_BLOCKS:
            widths[block] = self.dim
        return sum(widths[b] for b in self.blocks)

    @property
    def needs_patches_only(self) -> bool:
        return self.blocks == ["thumbnail"]

    # ------------------------------------------------------------------ raw features
    def stain_source(self, adata: AnnData, extractor) -> Any:
        """LAB statistics of a seeded sample of the section's spot patches (its Reinhard source)."""
        from omib_st.pp.stain import lab_stats

        rng = np.random.default_rng(0)
        n = len(extractor)
        sample = np.sort(rng.permutation(n)[: min(n, STAIN_SAMPLE)])
        return lab_stats(extractor[sample])

    def raw(
        self,
        adata: AnnData,
        extractor,
        spots: np.ndarray,
        *,
        encoder: torch.nn.Module | None,
        features: bool = False,
        device: torch.device | str = "cpu",
        library_id: str | None = None,
        source: Any = None,
    ) -> dict[str, np.ndarray]:
        """Raw blocks of ``spots`` of one section (``extractor``: its spot
        :class:`~omib_st.pp.PatchExtractor`): ``{block: float32 [len(spots), D]}``, plus
        ``"features"`` (``encoder``'s, for the feature cache) with ``features``. The ``cnn`` block
        comes from :attr:`network`, or ``encoder`` (frozen) when there is none."""
        from omib_st.model.tissue_data import thumbnails
        from omib_st.pp.morphology import morphology_descriptors
        from omib_st.pp.patches import PatchExtractor
        from omib_st.pp.stain import LabStats, reinhard

        blocks = self.blocks
        spots = np.asarray(spots, dtype=np.int64)
        context = None
        transform = None
        if "descriptors" in blocks:
            context = PatchExtractor.from_adata(
                adata, size=extractor.size, scale=CONTEXT * extractor.scale, library_id=library_id
            )
            target = LabStats(self.stats["lab_mean"], self.stats["lab_std"])
            source = source or self.stain_source(adata, extractor)

            def transform(patches):
                return reinhard(patches, target=target, source=source)

        network = self.network if self.network is not None else encoder
        wider = [PatchExtractor.from_adata(adata, size=extractor.size, scale=scale * extractor.scale,
                                           library_id=library_id)
                 for scale in CONTEXT_SCALES] if "context" in blocks else []  # fmt: skip
        if set(CNN_BLOCKS) & set(blocks) and network is None:
            raise OmibError("the image target's cnn block has no network", "report this bug")
        out: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(spots), BATCH):
            batch = spots[start : start + BATCH]
            patches = extractor[batch]
            tensor = torch.from_numpy(np.ascontiguousarray(patches))
            if "thumbnail" in blocks or features:
                out.setdefault("thumbnail", []).append(thumbnails(tensor).numpy())
            with torch.no_grad():
                own = _features(encoder, tensor, device) if features else None
                if own is not None:
                    out.setdefault("features", []).append(own)
                if "cnn" in blocks:
                    fixed = own if own is not None and network is encoder else None
                    out.setdefault("cnn", []).append(
                        fixed if fixed is not None else _features(network, tensor, device)
                    )
            if "context" in blocks:
                with torch.no_grad():
                    out.setdefault("context", []).append(np.concatenate(
                        [_features(network, torch.from_numpy(np.ascontiguousarray(ex[batch])))
                         for ex in wider], axis=1))  # fmt: skip
            if "descriptors" in blocks:
                spot = morphology_descriptors(transform(patches))
                around = morphology_descriptors(transform(context[batch]))
                out.setdefault("descriptors", []).append(np.concatenate([spot, around], axis=1))
        return {k: np.concatenate(v).astype(np.float32) for k, v in out.items()}

    # ------------------------------------------------------------------ statistics
    def fit_stain(self, adatas: Sequence[AnnData], extractors: Sequence, spots: Sequence[np.ndarray]) -> None:
        """The Reinhard target: LAB statistics pooled over a seeded sample of each reference
        section's training spots (colour only)."""
        if "descriptors" not in self.blocks:
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
            if block not in self.blocks:
                continue
            x = raw[block].astype(np.float64)
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
                x = np.clip((x - self.stats["descriptors_mean"]) / self.stats["descriptors_scale"],
                            -CLIP, CLIP)  # fmt: skip
            elif block in CNN_BLOCKS:
                x = (x - self.stats[f"{block}_mean"]) @ self.stats[f"{block}_components"]
            parts.append(x)
        return np.nan_to_num(np.concatenate(parts, axis=1)).astype(np.float32)

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict[str, torch.Tensor]:
        """Tensors to save with the model (statistics, and the fixed network's weights)."""
        state = {f"stats.{k}": torch.from_numpy(np.asarray(v)) for k, v in self.stats.items()}
        if self.network is not None:
            state.update({f"network.{k}": v.detach().cpu() for k, v in self.network.state_dict().items()})
        return state

    def load_state(self, state: dict[str, torch.Tensor], network: torch.nn.Module | None) -> None:
        self.stats = {k[6:]: v.numpy() for k, v in state.items() if k.startswith("stats.")}
        weights = {k[8:]: v for k, v in state.items() if k.startswith("network.")}
        self.network = None
        if weights:
            if network is None:
                raise OmibError("the saved image target has a network the model cannot rebuild",
                                "refit the model")  # fmt: skip
            network.load_state_dict(weights)
            self.network = network.eval().requires_grad_(False)


def _n_descriptors() -> int:
    from omib_st.pp.morphology import DESCRIPTOR_NAMES

    return 2 * len(DESCRIPTOR_NAMES)


def _features(encoder: torch.nn.Module, patches: torch.Tensor, device=None) -> np.ndarray:
    """Backbone features of uint8 patches on the encoder's own device (``device`` unused: kept
    for symmetry with the callers)."""
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        return encoder.features(patches.to(device)).float().cpu().numpy()
    finally:
        encoder.train(was_training)


def fixed_network(encoder: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of an image encoder as it is now (the ``cnn`` block's network when the
    model's own backbone trains)."""
    return copy.deepcopy(encoder).eval().requires_grad_(False)


def compute_targets(
    target: ImageTarget,
    adatas: Sequence[AnnData],
    sections: Sequence,
    spots: np.ndarray,
    *,
    encoder: torch.nn.Module | None,
    cache: bool,
    device: torch.device | str = "cpu",
    library_id: str | None = None,
    fit_rows: np.ndarray | None = None,
):
    """Set ``section.image_target`` for every section (rows of ``spots``, global indices over the
    concatenated sections; other rows stay zero) and, with ``cache``, return the
    :class:`~omib_st.model.feature_cache.FeatureCache` of ``spots`` from the same pass (``encoder``
    frozen). With ``fit_rows`` (global indices, a subset of ``spots``), first fit the target's
    statistics on them (the training spots)."""
    from omib_st.model.feature_cache import FeatureCache

    sizes = np.array([s.n_spots for s in sections])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    spots = np.unique(np.asarray(spots, dtype=np.int64))
    section_of = np.searchsorted(offsets, spots, side="right") - 1
    if fit_rows is not None:
        fit_rows = np.asarray(fit_rows, dtype=np.int64)
        fit_of = np.searchsorted(offsets, fit_rows, side="right") - 1
        target.fit_stain(adatas, [s.patches for s in sections],
                         [fit_rows[fit_of == k] - offsets[k] for k in range(len(sections))])  # fmt: skip
    raws: list[dict[str, np.ndarray]] = []
    for k, (adata, section) in enumerate(zip(adatas, sections)):
        local = spots[section_of == k] - offsets[k]
        raws.append(target.raw(adata, section.patches, local, encoder=encoder, features=cache,
                               device=device, library_id=library_id))  # fmt: skip
    keys = set().union(*(r.keys() for r in raws)) if raws else set()
    raw = {key: np.concatenate([r[key] for r in raws if key in r]) for key in keys}
    if fit_rows is not None:
        rows = np.searchsorted(spots, fit_rows)
        target.fit({k: v[rows] for k, v in raw.items()})
    values = target.transform(raw)
    for k, section in enumerate(sections):
        full = np.zeros((section.n_spots, values.shape[1]), dtype=np.float32)
        where = section_of == k
        full[spots[where] - offsets[k]] = values[where]
        section.image_target = full
    if not cache:
        return None
    return FeatureCache(spots, torch.from_numpy(raw["features"]).half(),
                        torch.from_numpy(raw["thumbnail"]).half())  # fmt: skip


# ---------------------------------------------------------------------- detector hooks
def fit_image_targets(
    detector,
    adatas: Sequence[AnnData],
    sections: Sequence,
    train_spots: np.ndarray,
    held_out: np.ndarray,
    *,
    library_id: str | None = None,
):
    """At fit (:class:`~omib_st.model.OmibDetector`, module built, before training): fit
    ``detector.image_target`` on the training spots and set every section's target for the spots
    that training and calibration read (training, held-out and the held-out spots' graph
    neighbours). Returns the frozen backbone's feature cache of those spots, or None."""
    from scipy import sparse

    from omib_st.model.feature_cache import FeatureCache

    c = detector.config
    encoder = detector.module.encoders["image"]
    frozen = frozen_backbone(c.image.freeze, detector._device())
    graph = sparse.block_diag([s.graph for s in sections], format="csr")
    spots = np.union1d(np.union1d(train_spots, held_out), graph[held_out].indices)
    cache = frozen and c.image.cache_features
    target = ImageTarget(c.image.target, c.image.target_dim, c.image.target_whiten)
    detector.image_target = target
    if target.needs_patches_only:  # the original thumbnail target: from the batch's patches
        if not cache:
            return None
        from omib_st.model.tissue_data import TissueDataset

        dataset = TissueDataset(sections, views=("image",))
        return FeatureCache.build(dataset, encoder, spots, batch_size=c.train.batch_size,
                                  device=detector._device())  # fmt: skip
    if set(CNN_BLOCKS) & set(target.blocks) and not frozen:
        target.network = fixed_network(encoder)
    return compute_targets(target, adatas, sections, spots, encoder=encoder, cache=cache,
                           library_id=library_id, fit_rows=train_spots)  # fmt: skip


def score_image_targets(detector, adata: AnnData, section, *, library_id: str | None = None):
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
    return compute_targets(target, [adata], [section], np.arange(section.n_spots),
                           encoder=encoder, cache=cache, library_id=library_id)  # fmt: skip


def restore_image_target(detector, state: dict[str, torch.Tensor] | None) -> ImageTarget:
    """The image target of a loaded model from its saved tensors (``weights.pt``'s
    ``image_target``); a model saved before image targets existed predicts the thumbnail."""
    c = detector.config
    if not detector.use_image or state is None:
        return ImageTarget()
    target = ImageTarget(str(detector.training.get("image_target") or c.image.target),
                         c.image.target_dim, c.image.target_whiten)
    network = None
    if any(k.startswith("network.") for k in state):
        from omib_st.nn import ImageEncoder

        network = ImageEncoder(c.image.backbone, c.image.out_dim, pretrained=False,
                               model_kwargs=c.image.model_kwargs, mean=c.image.mean,
                               std=c.image.std)  # fmt: skip
    target.load_state(state, network)
    return target

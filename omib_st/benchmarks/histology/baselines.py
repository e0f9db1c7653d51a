"""Image-only kNN baselines: colour histograms, morphology descriptors, random-CNN features.

Every baseline sees the H&E only. Features are computed once per section (the CNN's once per
section and seed: its random initialisation is the seed's only effect besides the split), then
z-scored with the mean and sd of the reference fitting spots. Score: mean Euclidean distance to
the :data:`KNN_K` nearest reference spots. The reference is the normal spots of the fold's
reference sections, split 90 / 10 into fitting and held-out spots by the detector's rule
(:func:`omib_st.model.reference.split_reference`); the label-free threshold is the
``scoring.quantile`` of the held-out spots' scores, as for the detector.

- ``knn_color``: per-channel RGB histograms (:data:`COLOUR_BINS` bins) of the spot patch;
- ``knn_descriptors``: :func:`omib_st.pp.morphology.spot_descriptors`, spot and context;
- ``knn_cnn``: pooled features of a randomly initialised ``resnet18`` (timm, seeded, never
  pretrained) on the spot patch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.benchmarks.her2st.splits import Fold
from omib_st.benchmarks.histology.data import is_normal
from omib_st.config import DetectorConfig
from omib_st.model.reference import split_reference

BASELINES = {"knn_color": "color", "knn_descriptors": "descriptors", "knn_cnn": "cnn"}
"""Baseline → the per-section features it uses."""
SEEDED = ("cnn",)
"""Features that depend on the seed."""
KNN_K = 10
SPOT_SIZE = 64
"""Side (px) of the spot patch every baseline starts from (the detector's default)."""
CONTEXT = 3.0
"""Context patch side in spot diameters (descriptors; cut at ``SPOT_SIZE`` px too)."""
COLOUR_BINS = 16
CNN_BACKBONE = "resnet18"
BATCH = 128

Transform = Callable[[np.ndarray], np.ndarray]


def colour_histograms(patches: np.ndarray, bins: int = COLOUR_BINS) -> np.ndarray:
    """Per-channel histograms of uint8 ``[B, 3, H, W]`` patches as fractions: ``[B, 3 × bins]``."""
    patches = np.asarray(patches)
    n, channels = patches.shape[:2]
    codes = (patches.reshape(n, channels, -1).astype(np.int64) * bins) // 256
    codes += (np.arange(n * channels) * bins).reshape(n, channels, 1)
    counts = np.bincount(codes.ravel(), minlength=n * channels * bins)
    return (counts.reshape(n, channels * bins) / patches[0, 0].size).astype(np.float32)


def random_cnn(seed: int, backbone: str = CNN_BACKBONE):
    """A randomly initialised timm backbone in eval mode, seeded without touching the global
    torch RNG state (:func:`torch.random.fork_rng`)."""
    import torch

    from omib_st.nn import ImageEncoder

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ImageEncoder(backbone, out_dim=1, pretrained=False).eval()


def cnn_features(patches: np.ndarray, encoder) -> np.ndarray:
    """Pooled backbone features of uint8 patches (``encoder``: :func:`random_cnn`)."""
    import torch

    with torch.inference_mode():
        return encoder.features(torch.from_numpy(np.ascontiguousarray(patches))).numpy()


def section_image(adata: AnnData) -> np.ndarray:
    """The full-resolution image of a section (``metadata["source_image_path"]``), decoded once
    so that several feature passes share it."""
    from omib_st.io.image import read_image
    from omib_st.io.library import get_library_id

    entry = adata.uns["spatial"][get_library_id(adata, None)]
    return read_image(entry["metadata"]["source_image_path"])[0]


def section_features(
    adata: AnnData,
    kind: str,
    *,
    seed: int = 0,
    transform: Transform | None = None,
    image: np.ndarray | None = None,
) -> np.ndarray:
    """float32 ``[n_spots, D]`` features of one section (``kind`` a value of
    :data:`BASELINES`); ``transform`` maps each uint8 patch batch first (stain perturbation);
    ``image``: the full-resolution image when already decoded (:func:`section_image`), for the
    colour and CNN features."""
    from omib_st.pp import PatchExtractor
    from omib_st.pp.morphology import spot_descriptors

    if kind == "descriptors":  # each patch from the smallest image sharp enough (not ``image``)
        return spot_descriptors(adata, size=SPOT_SIZE, context=CONTEXT, transform=transform)
    if kind not in ("color", "cnn"):
        raise ValueError(
            f"unknown features {kind!r}; choose from {sorted(set(BASELINES.values()))}"
        )
    extractor = PatchExtractor.from_adata(adata, size=SPOT_SIZE, image=image)
    encoder = random_cnn(seed) if kind == "cnn" else None
    blocks = []
    for start in range(0, len(extractor), BATCH):
        patches = extractor[np.arange(start, min(start + BATCH, len(extractor)))]
        patches = transform(patches) if transform else patches
        blocks.append(cnn_features(patches, encoder) if encoder else colour_histograms(patches))
    return np.concatenate(blocks).astype(np.float32)


def knn_scores(reference: np.ndarray, *queries: np.ndarray, k: int = KNN_K) -> list[np.ndarray]:
    """Mean distance of each query row to its ``k`` nearest ``reference`` rows, after z-scoring
    every column with the reference's mean and sd (constant columns dropped)."""
    from sklearn.neighbors import NearestNeighbors

    mean, sd = reference.mean(axis=0), reference.std(axis=0)
    keep = sd > 1e-8

    def z(x):
        return ((x - mean) / np.where(keep, sd, 1))[:, keep]

    nn = NearestNeighbors(n_neighbors=min(k, len(reference))).fit(z(reference))
    return [nn.kneighbors(z(q))[0].mean(axis=1) for q in queries]


def reference_features(
    features: Mapping[str, np.ndarray], sections: Mapping[str, AnnData], fold: Fold
) -> np.ndarray:
    """Features of the normal spots of the fold's reference sections, stacked."""
    return np.concatenate([features[s][is_normal(sections[s])] for s in fold.references])


def run_baseline(
    features: Mapping[str, np.ndarray],
    sections: Mapping[str, AnnData],
    fold: Fold,
    *,
    seed: int,
    config: DetectorConfig | None = None,
) -> dict[str, Any]:
    """Scores of the target, labels at the label-free threshold, the threshold and seconds
    (feature time not included: features are shared by every fold)."""
    from omib_st.scoring import quantile_threshold

    config = config or DetectorConfig()
    start = time.perf_counter()
    reference = reference_features(features, sections, fold)
    fit, held_out = split_reference(len(reference), seed, config.train.val_fraction)
    held_out = held_out if len(held_out) else fit
    scores, held = knn_scores(reference[fit], features[fold.target], reference[held_out])
    threshold = quantile_threshold(held, config.scoring.quantile)
    return {
        "scores": scores,
        "labels": scores > threshold,
        "threshold": threshold,
        "seconds": time.perf_counter() - start,
    }

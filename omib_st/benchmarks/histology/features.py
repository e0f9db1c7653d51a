"""The baselines' per-section features: spot patches, the Reinhard stain target, and a store
that computes each section's features once and keeps them (in memory and on disk)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from anndata import AnnData

from omib_st.benchmarks.histology import baselines as bl
from omib_st.benchmarks.histology.data import A1
from omib_st.benchmarks.histology.methods import BASELINE_METHODS, split_method
from omib_st.benchmarks.reporting import write_text
from omib_st.io.atomic import atomic_path

STAIN_SAMPLE = 100
"""Spot patches per section pooled into the Reinhard target (drawn with a fixed seed)."""


def spot_patches(adata: AnnData, image: np.ndarray | None = None) -> np.ndarray:
    """Every spot patch of a section at the baselines' size, uint8 ``[n, 3, H, W]``."""
    from omib_st.pp import PatchExtractor

    extractor = PatchExtractor.from_adata(adata, size=bl.SPOT_SIZE, image=image)
    return extractor[np.arange(adata.n_obs)]


def stain_target(sections: dict[str, AnnData]):
    """Reinhard target: LAB statistics pooled over :data:`STAIN_SAMPLE` spot patches of each
    section except A1 (colour only; no label is used)."""
    from omib_st.pp.stain import lab_stats

    rng = np.random.default_rng(0)
    pooled = []
    for name, adata in sections.items():
        if name != A1:
            patches = spot_patches(adata)
            pooled.append(patches[np.sort(rng.permutation(len(patches))[:STAIN_SAMPLE])])
    return lab_stats(np.concatenate(pooled))


class FeatureStore:
    """Per-section features of the baselines, computed on first use and kept (in memory, and
    as ``<folder>/<kind><stain>/<section>[_seed<k>].npy`` when ``folder`` is given)."""

    def __init__(self, sections: dict[str, AnnData], folder: str | os.PathLike | None = None):
        self.sections, self.folder = sections, None if folder is None else Path(folder)
        self._cache: dict[tuple, np.ndarray] = {}
        self._target = None
        self._image: tuple[str, np.ndarray] | None = None  # the last section's decoded image

    def path(self, kind: str, stain: str, section: str, seed: int) -> Path | None:
        if self.folder is None:
            return None
        suffix = f"_seed{seed}" if kind in bl.SEEDED else ""
        return self.folder / f"{kind}{stain}" / f"{section}{suffix}.npy"

    def get(self, kind: str, stain: str, section: str, seed: int) -> np.ndarray:
        key = (kind, stain, section, seed if kind in bl.SEEDED else 0)
        if key in self._cache:
            return self._cache[key]
        path = self.path(kind, stain, section, seed)
        if path is not None and path.is_file():
            features = np.load(path)
        else:
            features = bl.section_features(
                self.sections[section],
                kind,
                seed=seed,
                transform=self.transform(section, stain),
                image=self.image(section),
            )
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    np.save(tmp, features)
        self._cache[key] = features
        return features

    def precompute(self, methods: Sequence[str], seeds: Sequence[int]) -> None:
        """Features of every baseline of ``methods``, section by section (each image decoded
        once)."""
        needs = list(dict.fromkeys(split_method(m) for m in methods if m in BASELINE_METHODS))
        for section in self.sections:
            for kind, stain in needs:
                for seed in seeds if kind in bl.SEEDED else seeds[:1]:
                    self.get(kind, stain, section, seed)

    def image(self, section: str) -> np.ndarray:
        """The section's full-resolution image, decoded once for consecutive uses."""
        if self._image is None or self._image[0] != section:
            self._image = (section, bl.section_image(self.sections[section]))
        return self._image[1]

    def transform(self, section: str, stain: str) -> Callable | None:
        """Reinhard normalisation of ``section`` onto :func:`stain_target` (its own source
        statistics from all its spot patches), or None."""
        if not stain:
            return None
        from omib_st.pp.stain import lab_stats, reinhard

        source = lab_stats(spot_patches(self.sections[section], self.image(section)))
        return partial(reinhard, target=self.stain_target(), source=source)

    def stain_target(self):
        """:func:`stain_target` of the sections, computed once (kept as
        ``<folder>/stain_target.json``)."""
        from omib_st.pp.stain import LabStats

        path = None if self.folder is None else self.folder / "stain_target.json"
        if self._target is None and path is not None and path.is_file():
            saved = json.loads(path.read_text())
            self._target = LabStats(np.array(saved["mean"]), np.array(saved["std"]))
        if self._target is None:
            self._target = stain_target(self.sections)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                saved = {"mean": self._target.mean.tolist(), "std": self._target.std.tolist()}
                write_text(path, json.dumps(saved))
        return self._target

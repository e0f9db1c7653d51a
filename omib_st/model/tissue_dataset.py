"""Spots of one or more prepared sections as OMIB batches: k-hop expression subgraphs, H&E
patches (or cached features) and the likelihood's targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy import sparse
from torch.utils.data import Dataset

from omib_st.config import ImageEncoderConfig
from omib_st.model.tissue_data import Section, thumbnails
from omib_st.pp.subgraph import k_hop_subgraph

VIEWS = ("expression", "spot", "image", "thumbnail")
"""What a batch can carry: the expression subgraph, the spot's own features, the uint8 H&E
patch, and the patch's colour thumbnail (also the image's target)."""


class TissueDataset(Dataset):
    """Item i is a spot (global index over the concatenated sections); :meth:`collate` builds
    ``{"inputs": {view: ...}, "target": {"expression" | "image": ...}}`` for the chosen
    ``views`` (see :data:`VIEWS`): the likelihood task's target parts.

    The expression input is the ``n_hops``-hop subgraph around the batch's spots (the GNN's
    receptive field), gathered from the CSR graph at a cost proportional to the subgraph, so
    time and memory per batch do not grow with the section. With a frozen-feature ``cache``
    (:class:`~omib_st.model.feature_cache.FeatureCache`), the image input is the cached backbone
    features instead of the patch.

    With ``labels`` (one integer class per spot of the concatenated sections), the target is
    the batch's classes, ``LongTensor [B]`` (the supervised mode's classification task), instead
    of the likelihood's parts.
    """

    def __init__(
        self,
        sections: Sequence[Section],
        spots: np.ndarray | None = None,
        *,
        views: Sequence[str] = ("expression", "image"),
        n_hops: int = 2,
        cache: Any = None,
        labels: np.ndarray | None = None,
        thumbnail: int = ImageEncoderConfig.thumbnail,
    ):
        self.sections = list(sections)
        sizes = np.array([s.n_spots for s in self.sections])
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.section_of = np.repeat(np.arange(len(sizes)), sizes)
        if len(self.sections) == 1:  # no copy of a (possibly huge) single section
            self.features = torch.from_numpy(self.sections[0].features)
            self.target = self.sections[0].target.tocsr()
            graph = self.sections[0].graph.tocsr()
        else:
            self.features = torch.from_numpy(np.concatenate([s.features for s in self.sections]))
            self.target = sparse.vstack([s.target for s in self.sections], format="csr")
            graph = sparse.block_diag([s.graph for s in self.sections], format="csr")
        self.graph = graph if graph.has_sorted_indices else graph.sorted_indices()
        self.depth = np.concatenate([s.depth for s in self.sections])
        targets = [s.image_target for s in self.sections]
        self.image_target = None
        if all(t is not None for t in targets) and targets:
            self.image_target = torch.from_numpy(
                targets[0] if len(targets) == 1 else np.concatenate(targets)
            )
        self.views = tuple(views)
        self.spots = np.arange(self.offsets[-1]) if spots is None else np.asarray(spots)
        self.n_hops = n_hops
        self.cache = cache
        self.thumbnail = thumbnail
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)
        if self.labels is not None and len(self.labels) != self.offsets[-1]:
            raise ValueError(f"{len(self.labels)} labels for {self.offsets[-1]} spots")

    def __len__(self) -> int:
        return len(self.spots)

    def __getitem__(self, i: int) -> int:
        return int(self.spots[i])

    def __getitems__(self, indices: list[int]) -> np.ndarray:
        """A whole batch of spots at once (the DataLoader's batched fetch: no per-spot call)."""
        return self.spots[np.asarray(indices, dtype=np.int64)]

    def spatial_order(self) -> np.ndarray:
        """A permutation of the items that puts spatially close spots next to each other
        (Z-order of the spot centres within each section), so consecutive batches are compact
        tiles whose k-hop halos overlap: far fewer subgraph nodes than batches of scattered spots.
        Identity when a section has no coordinates."""
        coords = [s.coords for s in self.sections]
        if any(c is None for c in coords):
            return np.arange(len(self.spots))
        keys = np.concatenate([_z_order(c) for c in coords])[self.spots]
        return np.lexsort((keys, self.section_of[self.spots]))

    def patches(self, spots: np.ndarray) -> torch.Tensor:
        """uint8 ``[B, 3, size, size]`` patches of global spot indices."""
        out: np.ndarray | None = None
        for k in np.unique(self.section_of[spots]):
            where = np.flatnonzero(self.section_of[spots] == k)
            batch = self.sections[k].patches[spots[where] - self.offsets[k]]
            if out is None:
                out = np.empty((len(spots), *batch.shape[1:]), dtype=np.uint8)
            out[where] = batch
        return torch.from_numpy(out)

    def collate(self, spots: Sequence[int] | np.ndarray) -> dict[str, Any]:
        spots = np.asarray(spots, dtype=np.int64)
        inputs: dict[str, Any] = {}
        target: dict[str, torch.Tensor] = {}
        if "expression" in self.views:
            from torch_geometric.data import Data

            subset, edge_index, seed_position = k_hop_subgraph(self.graph, spots, self.n_hops)
            inputs["expression"] = Data(
                x=self.features[torch.from_numpy(subset)],
                edge_index=torch.from_numpy(edge_index),
                seed=torch.from_numpy(seed_position),
            )
            target["expression"] = torch.from_numpy(self.target[spots].toarray())
            if "spot" in self.views:
                inputs["spot"] = self.features[torch.from_numpy(spots)]
        if "image" in self.views:
            if self.cache is not None:
                inputs["image"], thumbnail = self.cache[spots]
            else:
                inputs["image"] = self.patches(spots)
                thumbnail = thumbnails(inputs["image"], self.thumbnail)
            target["image"] = (
                thumbnail
                if self.image_target is None
                else self.image_target[torch.from_numpy(spots)]
            )
            if "thumbnail" in self.views:
                inputs["thumbnail"] = thumbnail
        if self.labels is not None:
            return {"inputs": inputs, "target": torch.from_numpy(self.labels[spots])}
        return {"inputs": inputs, "target": target}


def _z_order(coords: np.ndarray, bits: int = 16) -> np.ndarray:
    """Morton (Z-order) keys of 2-D points on a ``2^bits`` grid over their bounding box."""
    coords = np.asarray(coords, dtype=np.float64)
    low, span = coords.min(axis=0), np.ptp(coords, axis=0)
    cells = ((coords - low) / np.where(span > 0, span, 1.0) * (2**bits - 1)).astype(np.uint64)
    keys = np.zeros(len(coords), dtype=np.uint64)
    for bit in range(bits):  # interleave the bits of x and y (16 vectorised steps)
        mask = np.uint64(1 << bit)
        keys |= ((cells[:, 0] & mask) << np.uint64(bit)) | (
            (cells[:, 1] & mask) << np.uint64(bit + 1)
        )
    return keys

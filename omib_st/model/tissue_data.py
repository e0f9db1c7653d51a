"""Spots of one or more sections as OMIB batches: k-hop expression subgraphs and H&E patches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from anndata import AnnData
from scipy import sparse
from torch.utils.data import Dataset

from omib_st.config import DetectorConfig
from omib_st.errors import OmibError
from omib_st.io import validate
from omib_st.io.validate import get_coords
from omib_st.pp import (
    GeneAlignment,
    PatchExtractor,
    check_graph_size,
    check_shared_genes,
    normalize_expression,
    spatial_graph,
)

THUMBNAIL = 8
"""Side of the downsampled patch the image branch reconstructs (the auxiliary target)."""


@dataclass
class Section:
    """One section ready for batching; ``patches`` is None when the image is not used."""

    expression: sparse.csr_matrix
    graph: sparse.csr_matrix
    patches: PatchExtractor | None
    alignment: GeneAlignment

    @property
    def n_spots(self) -> int:
        return self.expression.shape[0]


def prepare_section(
    adata: AnnData,
    genes: Sequence[str],
    config: DetectorConfig,
    *,
    use_image: bool,
    layer: str | None = None,
    library_id: str | None = None,
) -> Section:
    """Validate ``adata`` and compute its expression matrix, spatial graph and patch extractor."""
    validate(adata, layer=layer, require_image=use_image, library_id=library_id)
    expression, alignment = normalize_expression(
        adata, genes, target_sum=config.preprocess.target_sum, layer=layer
    )
    graph = spatial_graph(
        get_coords(adata), method=config.graph.method, n_neighbors=config.graph.n_neighbors,
        n_rings=config.graph.n_rings,
    )  # fmt: skip
    patches = None
    if use_image:
        patch = config.patch
        patches = PatchExtractor.from_adata(
            adata,
            size=patch.size,
            scale=patch.scale,
            resolution=patch.resolution,
            library_id=library_id,
        )
    return Section(expression, graph, patches, alignment)


def check_section(
    adata: AnnData,
    config: DetectorConfig,
    *,
    use_image: bool,
    genes: Sequence[str] | None = None,
    layer: str | None = None,
    library_id: str | None = None,
) -> None:
    """The checks of :func:`prepare_section` that are cheap, so a bad sample fails before training.

    Validates ``adata``, the graph size, the genes shared with ``genes`` and, with ``use_image``,
    that the sample has an image whose header can be read and that its spots fall on it.
    """
    if use_image:
        require_image(adata)
    validate(adata, layer=layer, require_image=use_image, library_id=library_id)
    check_graph_size(adata.n_obs, config.graph.method, config.graph.n_neighbors)
    if genes is not None:
        check_shared_genes(adata, genes)
    if use_image:
        patch = config.patch
        PatchExtractor.from_adata(
            adata, size=patch.size, scale=patch.scale, resolution=patch.resolution,
            library_id=library_id,
        )  # fmt: skip


def require_image(adata: AnnData) -> None:
    """Raise :class:`~omib_st.errors.OmibError` when a model that uses the image meets a sample
    without one."""
    if not has_image(adata):
        raise OmibError(
            "the model uses the H&E image but the sample has no image in uns['spatial']",
            "add the sample's image (Visium layout) or use expression only "
            "(use_image=False, --no-image)",
        )


def has_image(adata: AnnData) -> bool:
    """Whether ``adata`` carries an H&E image in the Visium layout."""
    libraries = adata.uns.get("spatial") or {}
    return any((entry or {}).get("images") or (entry or {}).get("metadata", {}).get("source_image_path")
               for entry in libraries.values())  # fmt: skip


class TissueDataset(Dataset):
    """Item i is a spot (global index over the concatenated sections); :meth:`collate` builds
    ``{"inputs": {"expression": Data, "image" | "spot": ...}, "reconstruction": {...}}``: the
    second view is the uint8 H&E patch, or without an image the spot's own expression profile.

    The expression input is the ``n_hops``-hop subgraph around the batch's spots (the GNN's
    receptive field), so memory is bounded by the batch, not by the section.
    """

    def __init__(
        self, sections: Sequence[Section], spots: np.ndarray | None = None, *, n_hops: int = 2
    ):
        self.sections = list(sections)
        sizes = np.array([s.n_spots for s in self.sections])
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.section_of = np.repeat(np.arange(len(sizes)), sizes)
        self.expression = sparse.vstack([s.expression for s in self.sections], format="csr")
        graph = sparse.block_diag([s.graph for s in self.sections], format="coo")
        self.edge_index = torch.from_numpy(np.vstack([graph.row, graph.col]).astype(np.int64))
        self.use_image = self.sections[0].patches is not None
        self.spots = np.arange(self.offsets[-1]) if spots is None else np.asarray(spots)
        self.n_hops = n_hops

    def __len__(self) -> int:
        return len(self.spots)

    def __getitem__(self, i: int) -> int:
        return int(self.spots[i])

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

    def collate(self, spots: list[int]) -> dict[str, Any]:
        from torch_geometric.data import Data
        from torch_geometric.utils import k_hop_subgraph

        seeds = torch.as_tensor(spots, dtype=torch.long)
        subset, edge_index, seed_position, _ = k_hop_subgraph(
            seeds, self.n_hops, self.edge_index, relabel_nodes=True, num_nodes=int(self.offsets[-1])
        )
        x = torch.from_numpy(self.expression[subset.numpy()].toarray())
        inputs: dict[str, Any] = {
            "expression": Data(x=x, edge_index=edge_index, seed=seed_position)
        }
        reconstruction = {"expression": x[seed_position]}
        if self.use_image:
            patches = self.patches(np.asarray(spots))
            inputs["image"] = patches
            thumbnail = F.adaptive_avg_pool2d(patches.float() / 255.0, THUMBNAIL)
            reconstruction["image"] = thumbnail.flatten(1)
        else:  # expression-only: the spot's own profile is the second view
            inputs["spot"] = x[seed_position]
        return {"inputs": inputs, "reconstruction": reconstruction}

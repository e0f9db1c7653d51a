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
    counts_matrix,
    gene_counts,
    normalize_expression,
    spatial_graph,
)
from omib_st.pp.subgraph import k_hop_subgraph

THUMBNAIL = 8
"""Side of the downsampled patch the image branch reconstructs (the auxiliary target)."""


def thumbnails(patches: torch.Tensor) -> torch.Tensor:
    """The image branch's reconstruction target: uint8 patches → ``[B, 3 × 8 × 8]`` in [0, 1]."""
    return F.adaptive_avg_pool2d(patches.float() / 255.0, THUMBNAIL).flatten(1)


@dataclass
class Section:
    """One section ready for batching; ``patches`` is None when the image is not used."""

    expression: sparse.csr_matrix
    """Log-normalised expression of the model's genes (the input of :attr:`features`)."""
    target: sparse.csr_matrix
    """The expression target: counts of the model's genes summed over the spot and its
    neighbours up to ``expression.target_hops`` graph hops away."""
    graph: sparse.csr_matrix
    patches: PatchExtractor | None
    alignment: GeneAlignment
    depth: np.ndarray
    """log1p of each spot's library size (all genes), the covariate of depth-aware scoring."""
    coords: np.ndarray | None = None
    """Spot centres (``obsm["spatial"]``), used to batch spots in spatial order when scoring."""
    features: np.ndarray | None = None
    """The expression encoders' input, ``spots × n_components`` (:class:`~omib_st.pp.Projection`
    of :attr:`expression`), set once the model's projection is known."""
    image_target: np.ndarray | None = None
    """The image modality's target per spot, ``spots × width``
    (:mod:`omib_st.model.image_target`), computed once; None = the patch's thumbnail."""

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
    thin_to: float | None = None,
) -> Section:
    """Validate ``adata`` and compute its expression matrix, count target, spatial graph and
    patch extractor; with ``thin_to``, deeper spots are thinned to that many UMIs first."""
    validate(adata, layer=layer, require_image=use_image, library_id=library_id)
    expression, alignment = normalize_expression(
        adata, genes, target_sum=config.preprocess.target_sum, layer=layer, thin_to=thin_to,
        seed=config.train.seed,
    )  # fmt: skip
    counts, _ = gene_counts(adata, genes, layer=layer, thin_to=thin_to, seed=config.train.seed)
    depth = np.log1p(np.asarray(counts_matrix(adata, layer).sum(axis=1), dtype=np.float64).ravel())
    graph = spatial_graph(
        get_coords(adata), method=config.graph.method, n_neighbors=config.graph.n_neighbors,
        n_rings=config.graph.n_rings,
    )  # fmt: skip
    target = neighbourhood_sum(counts, graph, config.expression.target_hops)
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
    return Section(expression, target, graph, patches, alignment, depth, get_coords(adata))


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


def neighbourhood_sum(counts: sparse.csr_matrix, graph: sparse.spmatrix, hops: int) -> sparse.csr_matrix:
    """``(A + I)^hops · counts``: each spot's counts pooled with its neighbours' (``hops`` rounds).

    The expression target: pooling over the neighbourhood removes most of a single spot's
    sampling noise, so a region whose programme differs stands out, and the pooled library size
    enters the likelihood.
    """
    walk = (graph != 0).astype(np.float32) + sparse.identity(graph.shape[0], np.float32, "csr")
    for _ in range(hops):
        counts = walk @ counts
    return sparse.csr_matrix(counts, dtype=np.float32)


VIEWS = ("expression", "spot", "image", "thumbnail")
"""What a batch can carry: the expression subgraph, the spot's own features, the uint8 H&E
patch, and the patch's 8×8 thumbnail (also the image's target)."""


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
                edge_index=torch.from_numpy(edge_index), seed=torch.from_numpy(seed_position),
            )  # fmt: skip
            target["expression"] = torch.from_numpy(self.target[spots].toarray())
            if "spot" in self.views:
                inputs["spot"] = self.features[torch.from_numpy(spots)]
        if "image" in self.views:
            if self.cache is not None:
                inputs["image"], thumbnail = self.cache[spots]
            else:
                inputs["image"] = self.patches(spots)
                thumbnail = thumbnails(inputs["image"])
            target["image"] = (
                thumbnail if self.image_target is None
                else self.image_target[torch.from_numpy(spots)]
            )  # fmt: skip
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

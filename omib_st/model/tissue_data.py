"""One section as the detector reads it: expression, count target, spatial graph and patches.

:func:`prepare_section` turns an AnnData into a :class:`Section`
(:class:`~omib_st.model.tissue_dataset.TissueDataset` batches its spots); :func:`has_image` is
the one test of whether a sample carries an H&E image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from anndata import AnnData
from scipy import sparse

from omib_st.config import DetectorConfig, GraphConfig
from omib_st.errors import OmibError
from omib_st.io import validate
from omib_st.io.validate import get_coords
from omib_st.pp import (
    GeneAlignment,
    PatchExtractor,
    Projection,
    check_graph_size,
    check_shared_genes,
    counts_matrix,
    expression_and_counts,
    spatial_graph,
)
from omib_st.pp.stain import LabStats, pooled_lab_stats


def thumbnails(patches: torch.Tensor, size: int) -> torch.Tensor:
    """The patches' colour thumbnails (``image.thumbnail``: the ``thumbnail`` target and view):
    uint8 ``[B, 3, H, W]`` → ``[B, 3 × size × size]`` in [0, 1]."""
    return F.adaptive_avg_pool2d(patches.float() / 255.0, size).flatten(1)


@dataclass
class Section:
    """One section ready for batching; ``patches`` is None when the image is not used."""

    expression: sparse.csr_matrix | None
    """Log-normalised expression of the model's genes: the input of :attr:`features`, released
    (None) once they are computed."""
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
    expression_graph: sparse.csr_matrix | None = None
    """Scoring with ``scoring.expression_smoothing``: the section's expression neighbour graph
    (:func:`~omib_st.pp.expression_neighbors`)."""

    @property
    def n_spots(self) -> int:
        return self.target.shape[0]


def prepare_section(
    adata: AnnData,
    genes: Sequence[str],
    config: DetectorConfig,
    *,
    use_image: bool,
    layer: str | None = None,
    library_id: str | None = None,
    thin_to: float | None = None,
    projection: Projection | None = None,
) -> Section:
    """Validate ``adata`` and compute its expression matrix, count target, spatial graph and
    patch extractor; with ``thin_to``, deeper spots are thinned to that many UMIs first.

    With the model's ``projection`` (scoring), the expression is projected to the section's
    :attr:`~Section.features` and not kept, so a large section's peak memory holds one of the
    two matrices, not both.
    """
    validate(adata, layer=layer, require_image=use_image, library_id=library_id)
    expression, counts, alignment = expression_and_counts(
        adata,
        genes,
        target_sum=config.preprocess.target_sum,
        layer=layer,
        thin_to=thin_to,
        seed=config.train.seed,
    )
    features = None
    if projection is not None:
        features, expression = projection(expression), None
    depth = np.log1p(np.asarray(counts_matrix(adata, layer).sum(axis=1), dtype=np.float64).ravel())
    graph = section_graph(adata, config.graph)
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
    return Section(
        expression, target, graph, patches, alignment, depth, get_coords(adata), features
    )


def normalise_stain(sections: Sequence[Section], target: LabStats | None = None) -> LabStats:
    """Reinhard-normalise every section's patches from its own stain
    (:meth:`~omib_st.pp.PatchExtractor.lab_stats`) onto ``target``, by default the stain pooled
    over these sections (at fit: the reference). Returns the target."""
    sources = [s.patches.lab_stats() for s in sections]
    target = pooled_lab_stats(sources) if target is None else target
    for section, source in zip(sections, sources):
        section.patches = section.patches.normalised(target, source)
    return target


def section_graph(adata: AnnData, graph: GraphConfig) -> sparse.csr_matrix:
    """The spatial neighbour graph of ``adata``'s spots under the ``graph`` settings."""
    return spatial_graph(
        get_coords(adata), method=graph.method, n_neighbors=graph.n_neighbors, n_rings=graph.n_rings
    )


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
            adata,
            size=patch.size,
            scale=patch.scale,
            resolution=patch.resolution,
            library_id=library_id,
        )


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
    """Whether ``adata`` carries an H&E image in the Visium layout: a library of
    ``uns["spatial"]`` with images, or with the path of its full-resolution image
    (``metadata["source_image_path"]``). The model uses the image modality, and the plot draws
    over the image, only when this holds."""
    libraries = adata.uns.get("spatial") or {}
    return any(
        (entry or {}).get("images")
        or ((entry or {}).get("metadata") or {}).get("source_image_path")
        for entry in libraries.values()
    )


def neighbourhood_sum(
    counts: sparse.csr_matrix, graph: sparse.spmatrix, hops: int
) -> sparse.csr_matrix:
    """``(A + I)^hops · counts``: each spot's counts pooled with its neighbours' (``hops`` rounds).

    The expression target: pooling over the neighbourhood removes most of a single spot's
    sampling noise, so a region whose programme differs stands out, and the pooled library size
    enters the likelihood.
    """
    walk = (graph != 0).astype(np.float32) + sparse.identity(graph.shape[0], np.float32, "csr")
    for _ in range(hops):
        counts = walk @ counts
    return sparse.csr_matrix(counts, dtype=np.float32)

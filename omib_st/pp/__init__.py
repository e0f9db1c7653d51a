"""Preprocessing: AnnData in, arrays out (genes, normalised expression, spatial graph, patches).

Nothing here imports torch; the arrays are ready to be wrapped as tensors.
"""

from omib_st.pp.counts import counts_matrix
from omib_st.pp.crop import crop_resize
from omib_st.pp.expression_graph import expression_neighbors
from omib_st.pp.genes import select_genes
from omib_st.pp.graph import check_graph_size, lattice_spacing, spatial_graph, spatial_neighbors
from omib_st.pp.morphology import DESCRIPTOR_NAMES, morphology_descriptors, spot_descriptors
from omib_st.pp.normalize import (
    GeneAlignment,
    check_shared_genes,
    expression_and_counts,
    normalize_expression,
)
from omib_st.pp.patches import PatchExtractor
from omib_st.pp.projection import Projection
from omib_st.pp.thin import thin_counts, thinning_depth

__all__ = [
    "DESCRIPTOR_NAMES",
    "GeneAlignment",
    "PatchExtractor",
    "check_graph_size",
    "check_shared_genes",
    "counts_matrix",
    "crop_resize",
    "lattice_spacing",
    "morphology_descriptors",
    "expression_and_counts",
    "expression_neighbors",
    "normalize_expression",
    "select_genes",
    "spatial_graph",
    "spatial_neighbors",
    "spot_descriptors",
    "thin_counts",
    "thinning_depth",
    "Projection",
]

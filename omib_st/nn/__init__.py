"""Building blocks of the OMIB core: tensors in, tensors out (no AnnData, no files)."""

from omib_st.nn.bottleneck import VariationalBottleneck
from omib_st.nn.concat_fusion import ConcatFusion
from omib_st.nn.cross_attention import CrossAttentionBlock, CrossAttentionFusion
from omib_st.nn.graph_encoder import GraphEncoder
from omib_st.nn.image_encoder import ImageEncoder
from omib_st.nn.kl import gaussian_kl
from omib_st.nn.mlp import MLP
from omib_st.nn.sequence_encoder import SequenceEncoder

__all__ = [
    "MLP",
    "ConcatFusion",
    "GraphEncoder",
    "ImageEncoder",
    "CrossAttentionBlock",
    "CrossAttentionFusion",
    "SequenceEncoder",
    "VariationalBottleneck",
    "gaussian_kl",
]

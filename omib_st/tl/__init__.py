"""Tools (scanpy grammar): AnnData in, results written into it."""

from omib_st.tl.detect import detect

__all__ = ["detect"]

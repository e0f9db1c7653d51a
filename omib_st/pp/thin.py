"""Binomial thinning of deep spots' counts to a common depth."""

from __future__ import annotations

import numpy as np
from scipy import sparse

_ROWS = 65_536  # rows thinned at a time


def thinning_depth(adatas, quantile: float, layer: str | None = None) -> float:
    """The ``quantile`` of the library sizes of every spot of ``adatas`` (the normal reference
    spots): the depth :func:`thin_counts` thins to under ``preprocess.thin_quantile``."""
    from omib_st.pp.normalize import counts_matrix

    depths = np.concatenate([np.asarray(counts_matrix(a, layer).sum(axis=1)).ravel() for a in adatas])
    return float(np.quantile(depths, quantile))


def thin_counts(counts: sparse.csr_matrix, depth: float, *, seed: int = 0) -> sparse.csr_matrix:
    """Counts of spots deeper than ``depth`` UMIs, each count kept with probability
    ``depth / library size`` (binomial thinning, expected library size ``depth``); shallower
    spots are unchanged.

    After thinning, shallow and deep spots carry about the same sampling noise, so a one-class
    score cannot tell them apart by depth alone (on her2st, tumour spots are up to 10× deeper than
    normal tissue). Counts must be non-negative integers; the result is a new CSR matrix.
    """
    counts = sparse.csr_matrix(counts)
    library = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    keep = np.minimum(1.0, np.divide(depth, library, out=np.ones_like(library), where=library > 0))
    rng = np.random.default_rng(seed)
    indptr = counts.indptr
    data = np.empty(len(counts.data), dtype=np.float32)
    for first in range(0, counts.shape[0], _ROWS):
        last = min(first + _ROWS, counts.shape[0])
        block = slice(indptr[first], indptr[last])
        p = np.repeat(keep[first:last], np.diff(indptr[first : last + 1]))
        data[block] = rng.binomial(np.rint(counts.data[block]).astype(np.int64), p)
    out = sparse.csr_matrix((data, counts.indices.copy(), indptr.copy()), shape=counts.shape)
    out.eliminate_zeros()
    return out

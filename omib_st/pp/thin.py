"""Binomial thinning of deep spots' counts to a common depth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import binom

from omib_st.pp.counts import counts_matrix

_ROWS = 65_536  # rows thinned at a time


def thinning_depth(adatas, quantile: float, layer: str | None = None) -> float:
    """The ``quantile`` of the library sizes of every spot of ``adatas`` (the normal reference
    spots): the depth :func:`thin_counts` thins to under ``preprocess.thin_quantile``."""
    depths = np.concatenate(
        [np.asarray(counts_matrix(a, layer).sum(axis=1)).ravel() for a in adatas]
    )
    return float(np.quantile(depths, quantile))


def thin_counts(
    counts: sparse.csr_matrix,
    depth: float,
    *,
    seed: int = 0,
    spots: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
) -> sparse.csr_matrix:
    """Counts of spots deeper than ``depth`` UMIs, each count kept with probability
    ``depth / library size`` (binomial thinning, expected library size ``depth``); shallower
    spots are unchanged.

    After thinning, shallow and deep spots carry about the same sampling noise, so a one-class
    score cannot tell them apart by depth alone (on her2st, tumour spots are often much deeper
    than normal tissue: ``docs/benchmarks.md``). The draw of each count is a function of ``seed``, its spot's and gene's names
    (``spots``, ``genes``; row and column numbers when not given), its value and its spot's depth
    only: a spot is thinned the same way whatever the order of the spots or the other spots of
    the section. Counts must be non-negative integers; the result is a new CSR matrix.
    """
    counts = sparse.csr_matrix(counts)
    n_spots, n_genes = counts.shape
    spot_keys = _keys(spots, n_spots) ^ _mix(np.uint64(seed))
    gene_keys = _keys(genes, n_genes)
    library = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    keep = np.minimum(1.0, np.divide(depth, library, out=np.ones_like(library), where=library > 0))
    indptr = counts.indptr
    data = counts.data.astype(np.float32, copy=True)
    for first in range(0, n_spots, _ROWS):
        last = min(first + _ROWS, n_spots)
        block = slice(indptr[first], indptr[last])
        rows = np.repeat(np.arange(first, last), np.diff(indptr[first : last + 1]))
        p = keep[rows]
        thinned = p < 1.0
        n = np.rint(data[block][thinned])
        key = _mix(_mix(spot_keys[rows[thinned]]) ^ gene_keys[counts.indices[block][thinned]])
        u = ((key >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53  # uniform on (0, 1)
        p = p[thinned]
        kept = (u < p).astype(np.float64)  # a count of 1: one Bernoulli draw
        many = n > 1
        kept[many] = binom.ppf(u[many], n[many], p[many])
        data[block][thinned] = kept
    out = sparse.csr_matrix((data, counts.indices.copy(), indptr.copy()), shape=counts.shape)
    out.eliminate_zeros()
    return out


def _keys(names: Sequence[str] | None, size: int) -> np.ndarray:
    """A 64-bit key per name (or per position when ``names`` is None)."""
    if names is None:
        return _mix(np.arange(size, dtype=np.uint64))
    return pd.util.hash_pandas_object(pd.Index(names).astype(str), index=False).to_numpy(np.uint64)


def _mix(x: np.ndarray | np.uint64) -> np.ndarray:
    """SplitMix64 finaliser: a well-mixed 64-bit hash of each value (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))

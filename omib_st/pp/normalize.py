"""Library-size normalisation and log1p, aligned to a fixed gene list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from anndata import AnnData
from scipy import sparse

from omib_st.errors import OmibError
from omib_st.pp.counts import counts_matrix
from omib_st.pp.thin import thin_counts

_ROWS = 65_536  # rows normalised at a time, so temporaries stay small for large sections


@dataclass(frozen=True)
class GeneAlignment:
    """How a sample's genes matched a reference gene list."""

    n_genes: int
    """Length of the reference gene list."""
    n_missing: int
    """Reference genes absent from the sample (filled with 0)."""
    missing: list[str] = field(default_factory=list)
    """Their names."""

    def summary(self) -> str:
        """One line for logs and the command line."""
        line = f"{self.n_genes - self.n_missing} of {self.n_genes} genes found in the sample"
        if self.n_missing:
            shown = ", ".join(self.missing[:5]) + (", …" if self.n_missing > 5 else "")
            line += f"; {self.n_missing} missing, set to 0 ({shown})"
        return line


def check_shared_genes(adata: AnnData, genes: Sequence[str]) -> None:
    """Raise :class:`~omib_st.errors.OmibError` when ``adata`` has none of ``genes``."""
    genes = [str(g) for g in genes]
    if not adata.var_names.isin(genes).any():
        raise OmibError(
            f"no genes shared between the sample ({adata.n_vars} genes, e.g. "
            f"{', '.join(adata.var_names[:3])}) and the reference/model ({len(genes)} genes, e.g. "
            f"{', '.join(genes[:3])})",
            "check that both use gene symbols (var_names), not Ensembl ids or other names",
        )


def normalize_expression(
    adata: AnnData,
    genes: Sequence[str],
    *,
    target_sum: float = 1e4,
    layer: str | None = None,
    thin_to: float | None = None,
    seed: int = 0,
) -> tuple[sparse.csr_matrix, GeneAlignment]:
    """Library-size normalised, log1p expression of ``adata`` on the columns ``genes``.

    Library sizes are taken over all of the sample's genes; genes of ``genes`` that the sample
    lacks are filled with 0. ``adata`` is not modified and the matrix is never densified.

    Parameters
    ----------
    adata
        Sample with raw counts.
    genes
        Gene symbols of the model or reference (compared with ``var_names``).
    target_sum
        Counts per spot after normalisation.
    layer
        Layer holding the counts; ``None`` uses ``X``.
    thin_to, seed
        Thin spots deeper than ``thin_to`` UMIs to that depth first
        (:func:`~omib_st.pp.thin_counts`, random state ``seed``).

    Returns
    -------
    ``log1p(counts / library_size × target_sum)`` as CSR float32 ``n_spots × len(genes)``, and
    the :class:`GeneAlignment`.
    """
    counts, library, alignment = _aligned_counts(adata, genes, layer, thin_to, seed)
    return _log_normalized(counts, library, target_sum), alignment


def expression_and_counts(
    adata: AnnData,
    genes: Sequence[str],
    *,
    target_sum: float = 1e4,
    layer: str | None = None,
    thin_to: float | None = None,
    seed: int = 0,
) -> tuple[sparse.csr_matrix, sparse.csr_matrix, GeneAlignment]:
    """:func:`normalize_expression` and the raw counts it came from, in one pass.

    The counts are extracted (and thinned) once. They are float32 CSR on the columns ``genes``
    and share their arrays with ``adata``'s matrix where no conversion is needed, so they are
    read-only: a large section is then held once, not three times.

    Returns
    -------
    The log-normalised expression, the counts, and the :class:`GeneAlignment`.
    """
    counts, library, alignment = _aligned_counts(adata, genes, layer, thin_to, seed)
    return (
        _log_normalized(counts, library, target_sum),
        sparse.csr_matrix(
            (counts.data.astype(np.float32, copy=False), counts.indices, counts.indptr),
            shape=counts.shape,
            copy=False,
        ),
        alignment,
    )


def _aligned_counts(
    adata: AnnData, genes: Sequence[str], layer: str | None, thin_to: float | None, seed: int
) -> tuple[sparse.csr_matrix, np.ndarray, GeneAlignment]:
    """The counts on the columns ``genes`` (may share ``adata``'s arrays), each spot's library
    size over all of the sample's genes, and how the genes matched."""
    genes = [str(g) for g in genes]
    if len(set(genes)) != len(genes):
        raise OmibError("the reference gene list has duplicates", "give each gene once")
    counts = _counts(adata, genes, layer, thin_to, seed)
    library = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    aligned, alignment = _align(counts, adata.var_names, genes)
    return aligned, library, alignment


def _log_normalized(
    counts: sparse.csr_matrix, library: np.ndarray, target_sum: float
) -> sparse.csr_matrix:
    """``log1p(counts / library × target_sum)`` in float32 with arrays of its own, computed in
    float64 a block of rows at a time."""
    scale = np.divide(target_sum, library, out=np.zeros_like(library), where=library > 0)
    indptr = counts.indptr
    data = np.empty(len(counts.data), dtype=np.float32)
    for first in range(0, counts.shape[0], _ROWS):
        last = min(first + _ROWS, counts.shape[0])
        block = slice(indptr[first], indptr[last])
        per_row = np.repeat(scale[first:last], np.diff(indptr[first : last + 1]))
        data[block] = np.log1p(counts.data[block] * per_row)
    out = sparse.csr_matrix((data, counts.indices.copy(), indptr.copy()), shape=counts.shape)
    if not data.all():
        out.eliminate_zeros()
    return out


def _counts(
    adata: AnnData, genes: list[str], layer: str | None, thin_to: float | None, seed: int
) -> sparse.csr_matrix:
    """Checked counts of ``adata`` sharing genes with ``genes``, thinned to ``thin_to``."""
    counts = counts_matrix(adata, layer)
    check_shared_genes(adata, genes)
    if thin_to is None:
        return counts
    return thin_counts(counts, thin_to, seed=seed, spots=adata.obs_names, genes=adata.var_names)


def _align(
    counts: sparse.csr_matrix, var_names, genes: list[str]
) -> tuple[sparse.csr_matrix, GeneAlignment]:
    """``counts`` with its columns moved to the positions of ``genes`` (sorted indices; may share
    ``counts``'s arrays) and how the genes matched."""
    position = var_names.get_indexer(genes)
    present = position >= 0
    columns = position[present]
    if len(columns) == counts.shape[1] and np.array_equal(columns, np.arange(len(columns))):
        selected = counts  # every gene, in order: no column selection (and no copy) needed
        if not selected.has_sorted_indices:
            selected = selected.sorted_indices()
        indices = selected.indices
    else:
        selected = counts[:, columns].tocsr()
        selected.sort_indices()
        target = np.flatnonzero(present)  # increasing, so column order stays sorted
        indices = target.astype(selected.indices.dtype)[selected.indices]
    aligned = sparse.csr_matrix(
        (selected.data, indices, selected.indptr), shape=(counts.shape[0], len(genes))
    )
    missing = [g for g, ok in zip(genes, present) if not ok]
    return aligned, GeneAlignment(n_genes=len(genes), n_missing=len(missing), missing=missing)

"""Checks of the expression matrix: raw, finite, non-negative, not all zero, plausible depth."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from anndata import AnnData
from scipy import sparse

from omib_st.io.validate.problem import examples, problem

_CHUNK = 1 << 22  # values scanned at a time, so checks on huge matrices stay memory-bounded
_LOG_MAX = 20.0  # non-integer data whose maximum is below this looks log-transformed
MAX_SPOT_COUNTS = float(2**24)
"""Most UMIs one spot may hold (~16.8 million, 100× the deepest Visium spots; beyond it float32
counts are no longer exact and normalisation hides the spot's depth)."""


def _matrix_values(matrix) -> np.ndarray:
    if sparse.issparse(matrix):
        return matrix.data
    return np.asarray(matrix).reshape(-1)


def _scan(values: np.ndarray) -> tuple[int, float, float, bool, bool]:
    """Non-finite count, min and max of the finite values, any non-integer, any non-zero."""
    n_bad, lo, hi, non_integer, any_nonzero = 0, np.inf, -np.inf, False, False
    is_float = np.issubdtype(values.dtype, np.floating)
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        if is_float:
            finite = np.isfinite(chunk)
            n_bad += int(chunk.size - finite.sum())
            chunk = chunk[finite]
            non_integer = non_integer or bool(np.any(chunk != np.round(chunk)))
        if chunk.size:
            lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
            any_nonzero = any_nonzero or bool(np.any(chunk != 0))
    return n_bad, lo, hi, non_integer, any_nonzero


def _slot_matrix(adata: AnnData, layer: str | None, slot: str) -> tuple[object, str | None]:
    """The matrix of ``X`` or ``layers[layer]``, or why there is none."""
    if layer is not None and layer not in adata.layers:
        found = ", ".join(adata.layers) or "none"
        return None, problem(
            f"{slot} not found (layers: {found})", "name an existing layer with --layer"
        )
    matrix = adata.X if layer is None else adata.layers[layer]
    if matrix is None:
        return None, problem(f"{slot} is empty (None)", "store the raw counts in X or name a layer")
    return matrix, None


def expression_problems(adata: AnnData, layer: str | None, expect_counts: bool) -> Iterator[str]:
    """Problems of the counts in ``X`` (or ``layers[layer]``); with ``expect_counts``, non-integer
    (normalised) values and absurd spot depths too."""
    slot = "X" if layer is None else f'layers["{layer}"]'
    matrix, missing = _slot_matrix(adata, layer, slot)
    if missing:
        yield missing
        return
    values = _matrix_values(matrix)
    if values.size == 0:
        if adata.n_obs and adata.n_vars:
            yield problem(f"{slot} is all zero", "check that the counts were read correctly")
        return
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(
        values.dtype, np.complexfloating
    ):
        yield problem(f"{slot} has non-numeric dtype {values.dtype}", "store numeric counts")
        return
    n_bad, lo, hi, non_integer, any_nonzero = _scan(values)
    if n_bad:
        yield problem(
            f"{slot} has {n_bad} non-finite value(s) (NaN or inf)",
            "pass raw counts without missing values",
        )
    if lo < 0:
        yield problem(
            f"{slot} has negative values (min {lo:.3g})",
            "pass raw counts, not scaled or centred data",
        )
    if not any_nonzero and not n_bad:
        yield problem(f"{slot} is all zero", "check that the counts were read correctly")
    if expect_counts and non_integer and lo >= 0:
        kind = "log-normalised" if hi <= _LOG_MAX else "normalised"
        yield problem(
            f"{slot} looks {kind} (non-integer values, max {hi:.3g})",
            "pass raw counts in X or name a layer with --layer",
        )
    elif expect_counts and not n_bad and lo >= 0 and hi > 0:
        yield from _depth_problems(adata, matrix, slot)


def _depth_problems(adata: AnnData, matrix, slot: str) -> Iterator[str]:
    """Spots holding more UMIs than any spot of a spatial assay can (e.g. 10⁹ counts)."""
    totals = np.asarray(matrix.sum(axis=1, dtype=np.float64)).ravel()
    absurd = ~(totals <= MAX_SPOT_COUNTS)
    if absurd.any():
        worst = int(np.argmax(np.where(absurd, totals, -np.inf)))
        yield problem(
            f"{slot} has {int(absurd.sum())} spot(s) with absurd counts (e.g. "
            f"{examples(adata.obs_names[[worst]])}: {totals[worst]:.3g} UMIs; at most "
            f"{MAX_SPOT_COUNTS:.3g} per spot are plausible)",
            "pass raw UMI counts; check or drop those spots",
        )

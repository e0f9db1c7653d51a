"""Choosing the genes a model uses, from the reference sections only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.pp.counts import counts_matrix
from omib_st.pp.thin import thin_counts


def select_genes(
    references: Sequence[AnnData],
    *,
    n_top_genes: int = 2000,
    min_spots: int = 3,
    layer: str | None = None,
    target_sum: float = 1e4,
    thin_to: float | None = None,
    seed: int = 0,
) -> list[str]:
    """Highly variable genes of the reference sections; the target section is never looked at.

    The genes shared by all references and detected in at least ``min_spots`` of their spots are
    ranked by scanpy's ``highly_variable_genes`` (flavor ``"seurat"``, one batch per reference
    when there are several)
    on counts normalised to ``target_sum`` per spot and log1p-transformed. ``references`` hold
    raw counts in ``X`` or ``layer``. With ``thin_to``, genes are chosen on the counts the model
    reads: every spot deeper than ``thin_to`` thinned to it first (:func:`~omib_st.pp.thin_counts`
    with ``seed``, the draws of :func:`~omib_st.pp.normalize_expression`). Returns the
    ``n_top_genes`` best (all of them when fewer remain), in the order of the first reference's
    ``var_names``.
    """
    merged = _shared_detected_genes(references, min_spots, layer, thin_to, seed)
    if merged.n_vars <= n_top_genes:
        return list(merged.var_names)
    return _highly_variable(merged, n_top_genes, target_sum, batched=len(references) > 1)


def _shared_detected_genes(
    references: Sequence[AnnData],
    min_spots: int,
    layer: str | None,
    thin_to: float | None,
    seed: int,
) -> AnnData:
    """The references' spots stacked (``obs["reference"]``: their index; thinned to ``thin_to``),
    keeping the genes they share that are detected in at least ``min_spots`` spots."""
    import anndata as ad

    if not references:
        raise OmibError("no reference sections given", "pass at least one reference AnnData")
    common = pd.Index(references[0].var_names)
    for ref in references[1:]:
        common = common.intersection(ref.var_names, sort=False)
    if common.empty:
        raise OmibError(
            "the reference sections share no gene",
            "check that they all use gene symbols (var_names)",
        )
    parts = []
    for i, ref in enumerate(references):
        counts = counts_matrix(ref, layer)
        if thin_to is not None:  # on all genes: the library size is the spot's
            counts = thin_counts(
                counts, thin_to, seed=seed, spots=ref.obs_names, genes=ref.var_names
            )
        counts = counts[:, ref.var_names.get_indexer(common)]
        parts.append(ad.AnnData(counts.astype(np.float32), obs=pd.DataFrame(index=ref.obs_names)))
        parts[-1].obs["reference"] = str(i)
    merged = ad.concat(parts, index_unique="-")
    merged.var_names = common
    detected = np.asarray((merged.X > 0).sum(axis=0)).ravel()
    merged = merged[:, detected >= min_spots].copy()
    if merged.n_vars == 0:
        raise OmibError(
            f"no gene is detected in at least {min_spots} reference spots",
            "lower min_spots or check the reference counts",
        )
    return merged


def _highly_variable(
    merged: AnnData, n_top_genes: int, target_sum: float, batched: bool
) -> list[str]:
    """Exactly ``n_top_genes`` highly variable genes of ``merged`` (modified in place), in its
    gene order."""
    import scanpy as sc

    sc.pp.normalize_total(merged, target_sum=target_sum)
    sc.pp.log1p(merged)
    sc.pp.highly_variable_genes(
        merged,
        flavor="seurat",
        n_top_genes=n_top_genes,
        batch_key="reference" if batched else None,
    )
    # scanpy can return a few more than n_top_genes on ties: keep exactly the top n_top_genes.
    var = merged.var.assign(position=np.arange(merged.n_vars))
    keys = ["highly_variable_nbatches", "dispersions_norm"] if batched else ["dispersions_norm"]
    ranked = var[var["highly_variable"]].sort_values(keys, ascending=False, kind="stable")
    return list(merged.var_names[np.sort(ranked["position"].to_numpy()[:n_top_genes])])

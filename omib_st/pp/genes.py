"""Choosing the genes a model uses, from the reference sections only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.pp.counts import counts_matrix


def select_genes(
    references: Sequence[AnnData],
    *,
    n_top_genes: int = 2000,
    min_spots: int = 3,
    layer: str | None = None,
    target_sum: float = 1e4,
) -> list[str]:
    """Highly variable genes of the reference sections.

    Genes are intersected across references, genes detected in fewer than ``min_spots``
    reference spots are dropped, and the remaining ones are ranked by scanpy's
    ``highly_variable_genes`` (flavor ``"seurat"``) on library-size normalised, log1p data, with
    one batch per reference when there are several. The target section is never looked at.

    Parameters
    ----------
    references
        Sections with raw counts (normal tissue for one-class training).
    n_top_genes
        Genes to keep; all remaining genes are kept when there are fewer.
    min_spots
        Minimum number of reference spots in which a gene must be detected.
    layer
        Layer holding the counts; ``None`` uses ``X``.
    target_sum
        Counts per spot after normalisation.

    Returns
    -------
    Gene symbols, in the order of the first reference's ``var_names``.
    """
    import anndata as ad
    import scanpy as sc

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
        counts = counts_matrix(ref, layer)[:, ref.var_names.get_indexer(common)]
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
    if merged.n_vars <= n_top_genes:
        return list(merged.var_names)
    sc.pp.normalize_total(merged, target_sum=target_sum)
    sc.pp.log1p(merged)
    sc.pp.highly_variable_genes(
        merged,
        flavor="seurat",
        n_top_genes=n_top_genes,
        batch_key="reference" if len(references) > 1 else None,
    )
    # scanpy can return a few more than n_top_genes on ties: keep exactly the top n_top_genes.
    var = merged.var.assign(position=np.arange(merged.n_vars))
    keys = (
        ["highly_variable_nbatches", "dispersions_norm"]
        if len(references) > 1
        else ["dispersions_norm"]
    )
    ranked = var[var["highly_variable"]].sort_values(keys, ascending=False, kind="stable")
    return list(merged.var_names[np.sort(ranked["position"].to_numpy()[:n_top_genes])])

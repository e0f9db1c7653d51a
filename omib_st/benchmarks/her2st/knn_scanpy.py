"""The strong kNN baseline of issue 13, exactly as specified (its own genes and normalisation).

1. Reference = the normal spots of the reference sections, concatenated on the genes they
   share with each other and with the target.
2. ``sc.pp.normalize_total(target_sum=1e4)`` and ``sc.pp.log1p`` on reference and target
   separately (no thinning).
3. 3,000 highly variable genes (``sc.pp.highly_variable_genes``, default flavour) chosen on the
   reference.
4. Each gene z-scored with the reference mean and standard deviation (+1e-6).
5. PCA with 50 components (``random_state=0``) fitted on the reference.
6. Score = mean Euclidean distance to the 10 nearest reference spots.
7. Smoothed score = the mean of the scores of the spot and every spot within 1.6 × the
   section's median nearest-neighbour spacing.

Own threshold (not part of the recipe; added so the baseline has one, on the same statistic as
its score): the 0.95 quantile of the reference's normal spots' scores, each computed leaving
the spot itself out of its neighbours and smoothed on its own section like the target's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from anndata import AnnData

N_GENES, N_COMPONENTS, K, RADIUS = 3000, 50, 10, 1.6
QUANTILE = 0.95


def radius_smooth(scores: np.ndarray, coords: np.ndarray, factor: float = RADIUS) -> np.ndarray:
    """Mean of each spot's score and the scores of every spot within ``factor`` × the median
    nearest-neighbour spacing."""
    from scipy.spatial import cKDTree

    tree = cKDTree(coords)
    spacing = np.median(tree.query(coords, 2)[0][:, 1])
    neighbours = tree.query_ball_point(coords, factor * spacing)
    return np.array([scores[n].mean() for n in neighbours])


def knn_scanpy(
    references: Sequence[AnnData], target: AnnData, normal: Sequence[np.ndarray]
) -> dict[str, dict[str, Any]]:
    """``{"knn_scanpy": result, "knn_scanpy_smooth": result}`` with ``scores`` (target),
    ``labels`` and ``threshold``; ``normal[i]`` marks the normal spots of ``references[i]``."""
    import anndata as ad
    from sklearn.neighbors import NearestNeighbors

    from omib_st.io.validate import get_coords

    reference = ad.concat([r[m] for r, m in zip(references, normal)], join="inner")
    embed, z_ref = recipe_embedding(reference, target)
    index = NearestNeighbors(n_neighbors=K + 1).fit(z_ref)
    raw = index.kneighbors(embed(target), K)[0].mean(axis=1)
    smoothed = radius_smooth(raw, get_coords(target))
    # Own threshold: every reference section scored as a target, its normal spots leaving
    # themselves out (their nearest neighbour at distance 0 is dropped).
    held_out, first = [], 0
    for ref, mask in zip(references, normal):
        section = index.kneighbors(embed(ref), K)[0].mean(axis=1)
        own = index.kneighbors(z_ref[first : first + mask.sum()], K + 1)[0][:, 1:].mean(axis=1)
        section[mask] = own
        first += mask.sum()
        held_out.append((section[mask], radius_smooth(section, get_coords(ref))[mask]))
    out = {}
    for name, scores, column in (("knn_scanpy", raw, 0), ("knn_scanpy_smooth", smoothed, 1)):
        threshold = float(np.quantile(np.concatenate([h[column] for h in held_out]), QUANTILE))
        out[name] = {"scores": scores, "labels": scores > threshold, "threshold": threshold}
    return out


def recipe_embedding(
    train: AnnData, target: AnnData
) -> tuple[Callable[[AnnData], np.ndarray], np.ndarray]:
    """Steps 2–5 of the recipe fitted on the ``train`` spots (on the genes they share with
    ``target``): the embedding of any section, and the training spots' own embedding."""
    import anndata as ad
    import scanpy as sc
    from sklearn.decomposition import PCA

    genes = train.var_names.intersection(target.var_names, sort=False)

    def log_normalised(adata: AnnData) -> Any:
        aligned = ad.AnnData(_aligned_counts(adata, genes))
        sc.pp.normalize_total(aligned, target_sum=1e4)
        sc.pp.log1p(aligned)
        return aligned.X

    fitted = ad.AnnData(log_normalised(train))
    sc.pp.highly_variable_genes(fitted, n_top_genes=N_GENES)
    hvg = fitted.var["highly_variable"].to_numpy()
    x_train = _dense(fitted.X[:, hvg])
    mean, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    pca = PCA(N_COMPONENTS, random_state=0).fit((x_train - mean) / sd)

    def embed(adata: AnnData) -> np.ndarray:
        return pca.transform((_dense(log_normalised(adata)[:, hvg]) - mean) / sd)

    return embed, pca.transform((x_train - mean) / sd)


def _aligned_counts(adata: AnnData, genes) -> Any:
    """Counts of ``adata`` on ``genes`` (absent genes are 0), float32 CSR."""
    from scipy import sparse

    position = adata.var_names.get_indexer(genes)
    present = np.flatnonzero(position >= 0)
    select = sparse.csr_matrix(
        (np.ones(len(present), np.float32), (position[present], present)),
        shape=(adata.n_vars, len(genes)),
    )
    return sparse.csr_matrix(sparse.csr_matrix(adata.X, dtype=np.float32) @ select)


def _dense(x: Any) -> np.ndarray:
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)

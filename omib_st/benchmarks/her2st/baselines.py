"""Classical one-class baselines on the detector's genes, normalisation and held-out split.

Every baseline sees exactly what the detector sees: the genes of :func:`omib_st.pp.select_genes`
on the normal reference spots, :func:`omib_st.pp.normalize_expression` (library size → log1p,
after the same depth thinning when ``preprocess.thin_quantile`` is set),
the same 90 / 10 split of normal reference spots into fitting and held-out spots (same seed,
same rule), and the same label-free threshold (the ``scoring.quantile`` of the held-out
reference spots' scores). Features: PCA (``N_COMPONENTS``, centred, fitted on the reference
fitting spots) of the log-normalised expression.

- ``knn``: mean Euclidean distance to the ``KNN_K`` nearest reference spots in PCA space;
- ``iforest``: Isolation Forest (``IFOREST_TREES`` trees) in PCA space, score = −score_samples;
- ``lof``: Local Outlier Factor (``novelty=True``, ``LOF_NEIGHBORS``) in PCA space, −score_samples;
- ``pca_error``: squared error of reconstructing the expression from the reference PCA.

``<name>_smooth``: the same scores smoothed over the target's spatial graph (the detector's graph
and :func:`omib_st.scoring.smooth_scores`) with weight ``SMOOTHING``, fixed a priori; the
threshold stays the one of the unsmoothed held-out scores, as in the detector's own smoothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.config import DetectorConfig
from omib_st.model.reference import split_reference

BASELINES = ("knn", "iforest", "lof", "pca_error")
SMOOTH = "_smooth"
SMOOTHING = 0.5
"""Share of a spot's score replaced by its neighbours' mean in the ``_smooth`` variants."""
N_COMPONENTS = 50
KNN_K = 10
IFOREST_TREES = 200
LOF_NEIGHBORS = 20


@dataclass
class Prepared:
    """Features of one fold: reference fitting / held-out spots and the target, in PCA space."""

    x_fit: np.ndarray
    x_held_out: np.ndarray
    x_target: np.ndarray
    graph: Any
    """Target's spatial graph (CSR), the one the detector builds."""
    seconds: float
    """Time spent on genes, normalisation and the graph (charged to every baseline)."""


def prepare(
    references: Sequence[AnnData],
    target: AnnData,
    *,
    normal_key: str,
    normal_values: Sequence[Any],
    config: DetectorConfig,
    seed: int,
) -> Prepared:
    """Genes on the normal reference spots, log-normalised expression, held-out split, graph."""
    from scipy import sparse

    from omib_st.model.tissue_data import section_graph
    from omib_st.pp import normalize_expression, select_genes, thinning_depth

    start = time.perf_counter()
    masks = [
        r.obs[normal_key].astype(str).isin([str(v) for v in normal_values]).to_numpy()
        for r in references
    ]
    pre = config.preprocess
    normal = [r[m] for r, m in zip(references, masks)]
    q = pre.thin_quantile  # the detector's rule
    thin_to = None if q is None else thinning_depth(normal, q)
    genes = select_genes(
        normal,
        n_top_genes=pre.n_top_genes,
        min_spots=pre.min_spots,
        thin_to=thin_to,
        seed=config.train.seed,
    )

    def normalised(adata):
        return normalize_expression(
            adata, genes, target_sum=pre.target_sum, thin_to=thin_to, seed=config.train.seed
        )[0]

    reference = sparse.vstack([normalised(r)[m] for r, m in zip(references, masks)]).toarray()
    x_target = normalised(target).toarray()
    fit, held_out = split_reference(len(reference), seed, config.train.val_fraction)
    if not len(held_out):
        held_out = fit
    graph = section_graph(target, config.graph)
    return Prepared(
        reference[fit], reference[held_out], x_target, graph, time.perf_counter() - start
    )


def score_baseline(
    name: str, prepared: Prepared, *, seed: int, knn_k: int = KNN_K
) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores (higher = more anomalous) of the target and of the held-out reference spots."""
    from sklearn.decomposition import PCA

    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {list(BASELINES)}")
    x_fit = prepared.x_fit
    n_components = min(N_COMPONENTS, x_fit.shape[0] - 1, x_fit.shape[1])
    pca = PCA(n_components, svd_solver="full").fit(x_fit)
    evaluate = (prepared.x_target, prepared.x_held_out)
    if name == "pca_error":
        return tuple(
            ((x - pca.inverse_transform(pca.transform(x))) ** 2).sum(axis=1) for x in evaluate
        )
    z_fit, z_eval = pca.transform(x_fit), [pca.transform(x) for x in evaluate]
    if name == "knn":
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=min(knn_k, len(z_fit))).fit(z_fit)
        return tuple(nn.kneighbors(z)[0].mean(axis=1) for z in z_eval)
    if name == "iforest":
        from sklearn.ensemble import IsolationForest

        forest = IsolationForest(n_estimators=IFOREST_TREES, random_state=seed).fit(z_fit)
        return tuple(-forest.score_samples(z) for z in z_eval)
    from sklearn.neighbors import LocalOutlierFactor

    lof = LocalOutlierFactor(n_neighbors=min(LOF_NEIGHBORS, len(z_fit) - 1), novelty=True)
    lof.fit(z_fit)
    return tuple(-lof.score_samples(z) for z in z_eval)


def run_baseline(
    name: str, prepared: Prepared, *, config: DetectorConfig, seed: int
) -> dict[str, dict[str, Any]]:
    """``{name: result, name + "_smooth": result}``; a result holds ``scores`` (target),
    ``labels`` (own threshold), ``threshold`` and ``seconds`` (preparation included)."""
    from omib_st.scoring import quantile_threshold, smooth_scores

    start = time.perf_counter()
    scores, held_out = score_baseline(name, prepared, seed=seed)
    threshold = quantile_threshold(held_out, config.scoring.quantile)
    seconds = prepared.seconds + time.perf_counter() - start
    start = time.perf_counter()
    smoothed = smooth_scores(scores, prepared.graph, SMOOTHING)
    smooth_seconds = seconds + time.perf_counter() - start
    return {
        name: {
            "scores": scores,
            "labels": scores > threshold,
            "threshold": threshold,
            "seconds": seconds,
        },
        name + SMOOTH: {
            "scores": smoothed,
            "labels": smoothed > threshold,
            "threshold": threshold,
            "seconds": smooth_seconds,
        },
    }

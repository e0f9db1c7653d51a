"""Synthetic counts: negative binomial expression with domain and lesion gene programmes."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from omib_st.datasets.fields import Fields, eval_fields

_COUNT_CHUNK = 20_000  # spots whose dense counts are drawn at once
_THETA = 5.0  # NB dispersion: variance = mean + mean² / theta


def gene_programmes(tissue: np.random.Generator, n_genes: int, n_domains: int) -> np.ndarray:
    """Each gene's programme: ``"domain_<k>"``, ``"lesion"`` or ``"none"`` (object array)."""
    n_prog = max(1, min(20, n_genes // (n_domains + 2)))
    programme = np.full(n_genes, "none", dtype=object)
    order = tissue.permutation(n_genes)
    for k in range(n_domains):
        programme[order[k * n_prog : (k + 1) * n_prog]] = f"domain_{k}"
    programme[order[n_domains * n_prog : (n_domains + 1) * n_prog]] = "lesion"
    return programme


def synthetic_counts(
    rng: np.random.Generator,
    domain: np.ndarray,
    lesion: np.ndarray,
    n_genes: int,
    n_domains: int,
    xy: np.ndarray,
    fields_library: Fields,
    tissue_seed: int,
    library_size: float = 3000.0,
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Negative binomial counts with domain and lesion programmes; returns CSR counts (float32)
    and the programmes.

    The programmes and baseline expression come from ``tissue_seed`` alone, so sections of the
    same tissue share them and differ only in layout, library sizes and noise. Large sections
    are drawn in chunks of spots, so memory stays bounded.
    """
    tissue = np.random.default_rng(tissue_seed)
    programme = gene_programmes(tissue, n_genes, n_domains)
    log_base = tissue.normal(0.0, 1.2, n_genes)
    trend = eval_fields(fields_library, xy[:, 0], xy[:, 1])[:, 0]
    library = np.exp(np.log(library_size) + 0.15 * trend + rng.normal(0, 0.3, len(domain)))
    shifted = np.isin(lesion, ("both", "expression"))
    chunks = []
    for start in range(0, len(domain), _COUNT_CHUNK):
        part = slice(start, start + _COUNT_CHUNK)
        log_mu = np.tile(log_base, (len(domain[part]), 1))
        for k in range(n_domains):
            log_mu[np.ix_(domain[part] == k, programme == f"domain_{k}")] += 1.6
        log_mu[np.ix_(shifted[part], programme == "lesion")] += 2.0
        # A few domain genes go down in lesions, so the shift is not a pure gain.
        log_mu[np.ix_(shifted[part], programme == "domain_0")] -= 0.7
        proportions = np.exp(log_mu)
        proportions /= proportions.sum(axis=1, keepdims=True)
        mean = proportions * library[part, None]
        draws = rng.poisson(rng.gamma(_THETA, mean / _THETA))
        chunks.append(sparse.csr_matrix(draws, dtype=np.float32))
    return sparse.vstack(chunks, format="csr") if len(chunks) > 1 else chunks[0], programme

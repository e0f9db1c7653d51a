"""The expression encoders' input: reference-scaled principal components, fitted once per model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

_ROWS = 65_536  # rows projected at a time, so the dense temporaries stay small


@dataclass(frozen=True)
class Projection:
    """z-score each gene with the reference mean and standard deviation, then project onto the
    reference's leading principal components.

    Fitted on the training spots (log-normalised), saved with the model, and applied to every
    section, so the GNN reads ``n_components`` numbers per spot instead of every gene. With
    ``per_section``, each section is first z-scored gene by gene over its own spots (a
    section-wide shift of expression, such as a patient's batch effect, is removed before the
    reference scaling).
    """

    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    """``n_components × n_genes``."""
    per_section: bool = False

    @classmethod
    def fit(
        cls,
        expression: sparse.spmatrix | np.ndarray | list[sparse.spmatrix | np.ndarray],
        n_components: int,
        seed: int = 0,
        *,
        spots: np.ndarray | None = None,
        per_section: bool = False,
    ) -> Projection:
        """Fit on ``expression`` (spots × genes, log-normalised): one matrix, or one per section
        with ``spots`` the training rows of their concatenation (default: every row)."""
        from sklearn.decomposition import PCA

        sections = expression if isinstance(expression, list) else [expression]
        if spots is None:
            spots = np.arange(sum(x.shape[0] for x in sections))
        starts = np.cumsum([0] + [x.shape[0] for x in sections])
        blocks = []
        for section, start, stop in zip(sections, starts[:-1], starts[1:]):
            rows = spots[(spots >= start) & (spots < stop)] - start
            block = _dense(section[rows])
            if per_section:
                own_mean, own_scale = _moments(section)
                block = (block - own_mean) / own_scale
            blocks.append(block)
        x = np.vstack(blocks)
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        n = min(n_components, x.shape[0] - 1, x.shape[1])
        pca = PCA(n, random_state=seed).fit((x - mean) / scale)
        return cls(
            mean.astype(np.float32),
            scale.astype(np.float32),
            pca.components_.astype(np.float32),
            per_section,
        )

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    def __call__(self, expression: sparse.spmatrix | np.ndarray) -> np.ndarray:
        """``spots × n_components`` float32 coordinates of ``expression`` (one whole section)."""
        out = np.empty((expression.shape[0], self.n_components), dtype=np.float32)
        mean, scale = self.mean, self.scale
        if self.per_section:  # ((x − m_s) / s_s − m) / s = (x − (m_s + m · s_s)) / (s_s · s)
            own_mean, own_scale = _moments(expression)
            mean, scale = own_mean + self.mean * own_scale, own_scale * self.scale
        weights = (self.components / scale).T  # (x − m) / s · Cᵀ = x · (C / s)ᵀ − (m / s) · Cᵀ
        offset = (mean / scale) @ self.components.T
        for first in range(0, expression.shape[0], _ROWS):
            block = expression[first : first + _ROWS]
            out[first : first + _ROWS] = np.asarray(block @ weights) - offset
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": self.scale, "components": self.components}


def _moments(expression: sparse.spmatrix | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and standard deviation (+1e-6) over the spots, without densifying."""
    if sparse.issparse(expression):
        x = sparse.csr_matrix(expression, dtype=np.float64)
        mean = np.asarray(x.mean(axis=0)).ravel()
        square = np.asarray(x.multiply(x).mean(axis=0)).ravel()
    else:
        x = np.asarray(expression, dtype=np.float64)
        mean, square = x.mean(axis=0), (x * x).mean(axis=0)
    return mean, np.sqrt(np.maximum(square - mean**2, 0.0)) + 1e-6


def _dense(x: sparse.spmatrix | np.ndarray) -> np.ndarray:
    return (x.toarray() if sparse.issparse(x) else np.asarray(x)).astype(np.float64)

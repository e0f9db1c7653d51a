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

    Fitted on the normal training spots (log-normalised), saved with the model, and applied to
    every section, so the GNN reads ``n_components`` numbers per spot instead of every gene.
    """

    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray
    """``n_components × n_genes``."""

    @classmethod
    def fit(
        cls, expression: sparse.spmatrix | np.ndarray, n_components: int, seed: int = 0
    ) -> Projection:
        """Fit on ``expression`` (spots × genes, log-normalised)."""
        from sklearn.decomposition import PCA

        x = expression.toarray() if sparse.issparse(expression) else np.asarray(expression)
        x = x.astype(np.float64)
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        n = min(n_components, x.shape[0] - 1, x.shape[1])
        pca = PCA(n, random_state=seed).fit((x - mean) / scale)
        return cls(
            mean.astype(np.float32), scale.astype(np.float32), pca.components_.astype(np.float32)
        )

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    def __call__(self, expression: sparse.spmatrix | np.ndarray) -> np.ndarray:
        """``spots × n_components`` float32 coordinates of ``expression``."""
        out = np.empty((expression.shape[0], self.n_components), dtype=np.float32)
        weights = (self.components / self.scale).T  # (x − m) / s · Cᵀ = x · (C / s)ᵀ − (m / s) · Cᵀ
        offset = (self.mean / self.scale) @ self.components.T
        for first in range(0, expression.shape[0], _ROWS):
            block = expression[first : first + _ROWS]
            out[first : first + _ROWS] = np.asarray(block @ weights) - offset
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": self.scale, "components": self.components}

"""Fused OMIB against single-modality models on the demo's synthetic section.

The section carries three lesions: one visible in both modalities, one in expression only and
one in the H&E image only; the models are trained on a lesion-free section of the same tissue.
A fused model should find all three, each single-modality model only its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pandas as pd

from omib_st.benchmarks.metrics import lesion_aucs
from omib_st.benchmarks.reporting import header, plus_minus, row

__all__ = ["MODELS", "lesion_aucs", "run_models", "summary_markdown"]

MODELS = {
    "fused": {"use_expression": True, "use_image": True},
    "expression_only": {"use_expression": True, "use_image": False},
    "image_only": {"use_expression": False, "use_image": True},
}
"""Model name → :meth:`~omib_st.model.OmibDetector.fit` modality switches."""


def run_models(
    models: Iterable[str],
    seeds: Iterable[int],
    *,
    n_rows: int = 40,
    n_cols: int = 50,
    config: Any = None,
) -> pd.DataFrame:
    """One row per model and seed: AUCs (overall and per lesion kind), fit and score seconds."""
    import omib_st as om

    rows = []
    for seed in seeds:
        sample = om.datasets.synthetic_visium(n_rows=n_rows, n_cols=n_cols, seed=seed)
        reference = om.datasets.synthetic_visium(
            n_rows=n_rows, n_cols=n_cols, seed=seed + 1, lesions=()
        )
        seeded = om.config.replace(config or om.config.DetectorConfig(), **{"train.seed": seed})
        for name in models:
            start = time.perf_counter()
            detector = om.model.OmibDetector(seeded).fit(reference, **MODELS[name])
            fitted = time.perf_counter()
            result = detector.score(sample)
            scored = time.perf_counter()
            rows.append(
                {
                    "model": name,
                    "modalities": "+".join(detector.modalities),
                    "seed": seed,
                    **lesion_aucs(sample, result.scores),
                    "fit_s": fitted - start,
                    "score_s": scored - fitted,
                }
            )
    return pd.DataFrame(rows)


def summary_markdown(table: pd.DataFrame) -> str:
    """Mean ± sd over seeds per model."""
    metrics = [c for c in table.columns if c.startswith("auc")] + ["fit_s", "score_s"]
    grouped = table.groupby("model", sort=False)[metrics]
    mean, sd = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    lines = header(["model", *metrics])
    for model in mean.index:
        lines.append(
            row([model, *(plus_minus(mean.at[model, m], sd.at[model, m]) for m in metrics)])
        )
    return "\n".join(lines)

"""The supervised logistic baseline of issue 15, exactly as specified.

1. Training spots = the labelled spots (anomalous or normal; not ``excluded``) of the training
   sections, concatenated on the genes they share with each other and with the target.
2. ``sc.pp.normalize_total(target_sum=1e4)`` and ``sc.pp.log1p`` on training spots and target
   separately.
3. 3,000 highly variable genes (``sc.pp.highly_variable_genes``, default flavour) chosen on the
   training spots.
4. Each gene z-scored with the training mean and standard deviation (+1e-6).
5. PCA with 50 components (``random_state=0``) fitted on the training spots.
6. ``sklearn.linear_model.LogisticRegression(class_weight="balanced", max_iter=2000)`` on the
   components; score = the probability of the anomalous class.
7. Smoothed score (``logistic``, the issue's baseline) = the mean of the scores of the spot and
   every spot within 1.6 × the section's median nearest-neighbour spacing
   (:func:`~omib_st.benchmarks.her2st.knn_scanpy.radius_smooth`); ``logistic_raw`` is step 6
   alone.

Own threshold: 0.5 on the (smoothed) probability, the class-balanced classifier's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.benchmarks.her2st.knn_scanpy import radius_smooth, recipe_embedding

THRESHOLD = 0.5


def logistic(
    references: Sequence[AnnData],
    target: AnnData,
    labelled: Sequence[np.ndarray],
    positive: Sequence[np.ndarray],
    *,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``{"logistic": result, "logistic_raw": result}`` with ``scores`` (target), ``labels`` and
    ``threshold``; ``labelled[i]`` marks the training spots of ``references[i]`` and
    ``positive[i]`` its anomalous ones."""
    import anndata as ad
    from sklearn.linear_model import LogisticRegression

    from omib_st.io.validate import get_coords

    train = ad.concat([r[m] for r, m in zip(references, labelled)], join="inner")
    y = np.concatenate([p[m] for p, m in zip(positive, labelled)]).astype(int)
    embed, z_train = recipe_embedding(train, target)
    classifier = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
    classifier.fit(z_train, y)
    z_target = embed(target)
    raw = classifier.predict_proba(z_target)[:, list(classifier.classes_).index(1)]
    smoothed = radius_smooth(raw, get_coords(target))
    return {
        name: {"scores": scores, "labels": scores > THRESHOLD, "threshold": THRESHOLD}
        for name, scores in (("logistic", smoothed), ("logistic_raw", raw))
    }

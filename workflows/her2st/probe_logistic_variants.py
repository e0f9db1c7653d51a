"""Does the supervised logistic baseline transfer better when trained on within-section
contrasts? (issue 15, exploratory)

    OMP_NUM_THREADS=2 python workflows/her2st/probe_logistic_variants.py DATA

Leave-one-patient-out over the labelled sections with the issue's recipe embedding
(:func:`~omib_st.benchmarks.her2st.knn_scanpy.recipe_embedding`) and its radius smoothing; only
the classifier's training changes:

- ``balanced``: the recipe (class-balanced weights);
- ``section × class``: every (section, class) pair weighs the same, so a section's tumour
  fraction cannot be learnt as a label;
- ``section``: every section weighs the same, classes balanced within it;
- ``centred``: each section's components centred on their own mean (target too);
- ``pairwise``: a logistic model without intercept on the differences between a tumour and a
  normal spot of the same section (4,000 random pairs per section), a ranking loss within
  sections.

Prints the AUC per section and the mean.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections, patient
from omib_st.benchmarks.her2st.knn_scanpy import radius_smooth, recipe_embedding
from omib_st.io.validate import get_coords


def group_weights(groups: np.ndarray) -> np.ndarray:
    """Weights giving every group the same total, averaging 1 over the spots."""
    _, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    weights = 1 / counts[index]
    return weights * len(weights) / weights.sum()


def pairwise_direction(z: np.ndarray, y: np.ndarray, section: np.ndarray, seed: int) -> np.ndarray:
    """A logistic model on tumour-minus-normal differences within each section: its weights."""
    rng = np.random.default_rng(seed)
    pairs = []
    for s in np.unique(section):
        tumour = np.flatnonzero((section == s) & (y == 1))
        normal = np.flatnonzero((section == s) & (y == 0))
        if len(tumour) and len(normal):
            pairs.append(z[rng.choice(tumour, 4000)] - z[rng.choice(normal, 4000)])
    diff = np.concatenate(pairs)
    x, labels = np.concatenate([diff, -diff]), np.r_[np.ones(len(diff)), np.zeros(len(diff))]
    return LogisticRegression(fit_intercept=False, max_iter=2000).fit(x, labels).coef_.ravel()


def variant_scores(parts, target) -> dict[str, np.ndarray]:
    """Each variant's raw score of the ``target`` spots, trained on the sections ``parts``."""
    train = ad.concat(parts, join="inner")
    y = np.concatenate([is_anomalous(p) for p in parts]).astype(int)
    section = np.concatenate([np.full(p.n_obs, i) for i, p in enumerate(parts)])
    embed, z = recipe_embedding(train, target)
    z_target = embed(target)

    def fit(x, weights):
        return LogisticRegression(max_iter=2000).fit(x, y, sample_weight=weights)

    balanced = group_weights(y)
    centred = z.copy()
    for s in np.unique(section):
        centred[section == s] -= z[section == s].mean(axis=0)
    return {
        "balanced": fit(z, balanced).decision_function(z_target),
        "section × class": fit(z, group_weights(section * 2 + y)).decision_function(z_target),
        "section": fit(z, group_weights(section) * balanced).decision_function(z_target),
        "centred": fit(centred, balanced).decision_function(z_target - z_target.mean(axis=0)),
        "pairwise": z_target @ pairwise_direction(z, y, section, seed=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    sections = load_sections(args.data, image=False)
    names = sorted(sections)
    aucs: dict[str, dict[str, float]] = {}
    for name in names:
        target = sections[name]
        parts = [sections[n][evaluated(sections[n])] for n in names if patient(n) != patient(name)]
        keep, truth = evaluated(target), is_anomalous(target)[evaluated(target)]
        for variant, raw in variant_scores(parts, target).items():
            probability = 1 / (1 + np.exp(-raw))
            smoothed = radius_smooth(probability, get_coords(target))
            aucs.setdefault(variant, {})[name] = roc_auc_score(truth, smoothed[keep])
    table = pd.DataFrame(aucs).T
    table["mean"] = table.mean(axis=1)
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()

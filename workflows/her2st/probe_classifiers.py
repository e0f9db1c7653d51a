"""How far do plain classifiers on the logistic baseline's embedding carry to a new patient?
(issue 15, exploratory: not a method of the benchmark)

    OMP_NUM_THREADS=2 python workflows/her2st/probe_classifiers.py DATA [--seeds 0 1 2]

Leave-one-patient-out over the labelled sections, on the issue's recipe embedding (3,000 HVGs and
a 50-component PCA of the z-scored log-normalised training spots) and the issue's radius
smoothing of the probability: the logistic baseline; scikit-learn's ``MLPClassifier`` (one
hidden layer of 64, ``alpha=1e-2``, early stopping) on the spot's components, and on the spot's
components next to the mean over its neighbours within 1.6 spacings; each MLP per seed and as the
mean log-odds of the seeds. Prints one row of section AUCs per probe.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
from scipy.spatial import cKDTree
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier

from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections, patient
from omib_st.benchmarks.her2st.knn_scanpy import RADIUS, radius_smooth, recipe_embedding
from omib_st.io.validate import get_coords
from omib_st.scoring import log_odds


def neighbour_mean(z: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Each spot's mean over itself and every spot within RADIUS × the median spacing."""
    tree = cKDTree(coords)
    spacing = np.median(tree.query(coords, 2)[0][:, 1])
    return np.array([z[n].mean(axis=0) for n in tree.query_ball_point(coords, RADIUS * spacing)])


def probe_fold(refs, target, seeds) -> dict[str, float]:
    """Every probe's AUC on ``target``, trained on the labelled spots of ``refs``."""
    masks = [evaluated(r) for r in refs]
    train = ad.concat([r[m] for r, m in zip(refs, masks)], join="inner")
    y = np.concatenate([is_anomalous(r)[m] for r, m in zip(refs, masks)]).astype(int)
    embed, _ = recipe_embedding(train, target)
    keep = evaluated(target)
    truth, coords = is_anomalous(target)[keep], get_coords(target)

    def auc(probability: np.ndarray) -> float:
        return float(roc_auc_score(truth, radius_smooth(probability, coords)[keep]))

    def with_neighbours(adata: ad.AnnData) -> np.ndarray:
        z = embed(adata)
        return np.hstack([z, neighbour_mean(z, get_coords(adata))])

    logistic = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=0)
    out = {"logistic": auc(logistic.fit(embed(train), y).predict_proba(embed(target))[:, 1])}
    for name, features in (("own", embed), ("own+neighbours", with_neighbours)):
        x, z = np.vstack([features(r)[m] for r, m in zip(refs, masks)]), features(target)
        each = []
        for seed in seeds:
            mlp = MLPClassifier(
                (64,), alpha=1e-2, max_iter=300, early_stopping=True, random_state=seed
            )
            each.append(mlp.fit(x, y).predict_proba(z)[:, 1])
            out[f"MLP {name}, seed {seed}"] = auc(each[-1])
        mean = np.mean([log_odds(p) for p in each], axis=0)
        out[f"MLP {name}, seeds averaged"] = auc(1 / (1 + np.exp(-mean)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    sections = load_sections(args.data, image=False)
    names = sorted(sections)
    aucs: dict[str, list[float]] = {}
    for held_out in names:
        refs = [sections[n] for n in names if patient(n) != patient(held_out)]
        for name, value in probe_fold(refs, sections[held_out], args.seeds).items():
            aucs.setdefault(name, []).append(value)
        print(held_out, flush=True)
    print("probe", *names, "mean", sep=" | ")
    for name, values in aucs.items():
        print(name, *(f"{v:.3f}" for v in values), f"{np.mean(values):.3f}", sep=" | ")


if __name__ == "__main__":
    main()

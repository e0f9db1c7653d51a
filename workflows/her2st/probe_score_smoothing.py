"""Does the target section's own expression structure sharpen a supervised score? (issue 15,
exploratory: the screen behind ``scoring.expression_smoothing``)

    OMP_NUM_THREADS=2 python workflows/her2st/probe_score_smoothing.py DATA SCORES METHOD [--linear]

``SCORES``: a harness run's ``scores.csv.gz``; ``METHOD``: one of its methods (``omib``,
``logistic``). For every section and seed, each spot's log-odds are blended half and half, or
three to one, with the mean over its ``k`` nearest spots in expression space: in the section's
own principal components (:func:`omib_st.pp.expression_neighbors`) or in the training spots'
(the issue's recipe embedding of the other patients). ``--linear`` blends the scores as they
are, for scores that are not probabilities (a one-class run's robust z-scores, kNN distances);
``--neighbors`` sets the ``k`` values (default 20 50).
Prints one row of section AUCs per variant.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections, patient
from omib_st.benchmarks.her2st.knn_scanpy import recipe_embedding
from omib_st.pp import expression_neighbors
from omib_st.pp.expression_graph import knn_graph
from omib_st.scoring import log_odds, smooth_scores


def graphs(adata, reference_space, neighbours=(20, 50)) -> dict[str, object]:
    """The neighbour graphs of one section, by name."""
    out = {}
    for k in neighbours:
        out[f"own space, k {k}"] = expression_neighbors(adata, k)
        out[f"reference space, k {k}"] = knn_graph(reference_space, k)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("scores", type=Path)
    parser.add_argument("method")
    parser.add_argument("--linear", action="store_true", help="blend the scores, not log-odds")
    parser.add_argument("--neighbors", type=int, nargs="+", default=[20, 50], metavar="K")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    sections = load_sections(args.data, image=False)
    names = sorted(sections)
    scores = pd.read_csv(args.scores)
    scores = scores[scores.method == args.method]
    aucs: dict[str, dict[str, list[float]]] = {}
    for name in names:
        adata = sections[name]
        refs = [sections[n] for n in names if patient(n) != patient(name)]
        train = ad.concat([r[evaluated(r)] for r in refs], join="inner")
        embed, _ = recipe_embedding(train, adata)
        keep, truth = evaluated(adata), is_anomalous(adata)[evaluated(adata)]
        section_graphs = graphs(adata, embed(adata), args.neighbors)
        for _, run in scores[scores.target == name].groupby("seed"):
            z = run.set_index("spot").loc[adata.obs_names, "score"].to_numpy()
            z = z if args.linear else log_odds(z)
            blended = {"score as it is": z} | {
                f"{space}, w {w}": smooth_scores(z, graph, w)
                for space, graph in section_graphs.items()
                for w in (0.5, 0.75)
            }
            for variant, value in blended.items():
                auc = roc_auc_score(truth, value[keep])
                aucs.setdefault(variant, {}).setdefault(name, []).append(auc)
        print(name, flush=True)
    print("variant", *names, "mean", sep=" | ")
    for variant, per in aucs.items():
        means = [np.mean(per[n]) for n in names]
        print(variant, *(f"{v:.3f}" for v in means), f"{np.mean(means):.3f}", sep=" | ")


if __name__ == "__main__":
    main()

"""Which label-free depth correction helps one-class scores on her2st? (session-3 exploration)

PCA reconstruction error and kNN distance (30 PCA components of the reference normal spots'
log-normalised profiles, raw or averaged over each spot's ring neighbours) under: no correction;
binomial thinning to a fixed depth (500, 1,000, 2,000 UMIs) or to a quantile (0.25, 0.5) of the
normal reference spots' depths; and, on top of each, a Theil–Sen line of the score in log depth
fitted on the target's own spots ("+self"). Prints ROC AUC per leave-one-patient-out target.

    python workflows/her2st/explore_depth.py ../shared/data/her2st
"""

import sys

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import theilslopes
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from omib_st.benchmarks.her2st.data import NORMAL, evaluated, is_anomalous, load_sections
from omib_st.benchmarks.her2st.splits import lopo_folds
from omib_st.io.validate import get_coords
from omib_st.pp import normalize_expression, select_genes, spatial_graph

CAPS = [None, 500, 1000, 2000, "q0.25", "q0.5"]


def ring_mean(adata, x):
    graph = sparse.csr_matrix(spatial_graph(get_coords(adata))) + sparse.eye(adata.n_obs)
    return sparse.diags(1 / np.asarray(graph.sum(1)).ravel()) @ graph @ x


def main(data):
    sections, results = load_sections(data), {}
    for fold in lopo_folds(list(sections)):
        target, refs = sections[fold.target], [sections[s] for s in fold.references]
        masks = [r.obs["pathology"].astype(str).isin(NORMAL).to_numpy() for r in refs]
        genes = select_genes([r[m] for r, m in zip(refs, masks)], n_top_genes=2000, min_spots=3)
        truth, keep = is_anomalous(target)[evaluated(target)], evaluated(target)
        log_depth = np.log1p(np.asarray(target.X.sum(1)).ravel())
        ref_depth = np.concatenate([np.asarray(r.X[m].sum(1)).ravel() for r, m in zip(refs, masks)])
        for cap in CAPS:
            thin_to = float(np.quantile(ref_depth, float(cap[1:]))) if isinstance(cap, str) else cap
            for smooth in (False, True):
                def features(adata):
                    x = normalize_expression(adata, genes, thin_to=thin_to)[0]
                    return np.asarray((ring_mean(adata, x) if smooth else x).todense())

                reference = np.vstack([features(r)[m] for r, m in zip(refs, masks)])
                x = features(target)
                pca = PCA(30, random_state=0).fit(reference)
                scores = {
                    "pca_error": ((x - pca.inverse_transform(pca.transform(x))) ** 2).sum(1),
                    "knn": NearestNeighbors(n_neighbors=10).fit(pca.transform(reference))
                    .kneighbors(pca.transform(x))[0].mean(1),
                }  # fmt: skip
                for name, s in scores.items():
                    slope = theilslopes(s, log_depth).slope
                    key = (str(cap), "ring" if smooth else "spot", name)
                    results[key + (fold.target,)] = roc_auc_score(truth, s[keep])
                    results[(key[0], key[1], name + "+self", fold.target)] = roc_auc_score(
                        truth, (s - slope * log_depth)[keep]
                    )
    table = pd.Series(results).unstack(-1)
    table["mean"] = table.mean(axis=1)
    print(table.round(3).to_string())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/her2st")

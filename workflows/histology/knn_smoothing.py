"""The image baselines with the detector's spatial smoothing, leave-one-section-out.

    python workflows/histology/knn_smoothing.py SEED [FEATURES] [KIND]

Scores each of B4 and C2–C6 with a kNN baseline of ``omib-st benchmark histology`` (``KIND``:
``cnn``, the random-init ResNet-18, by default; ``color``, ``descriptors``) exactly as the
harness does, then smooths the scores over the section's spatial graph with
``omib_st.scoring.smooth_scores`` at the weights the detector's ``scoring.smoothing`` can take,
and prints the AUC against the cancer clusters per section and weight. ``FEATURES`` is a folder
to cache the features in (the harness's ``OUT/features``).
"""

import sys

import numpy as np
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.splits import Fold
from omib_st.benchmarks.histology import baselines
from omib_st.benchmarks.histology.data import evaluated, is_anomalous, load_sections
from omib_st.benchmarks.histology.features import FeatureStore
from omib_st.config import DetectorConfig
from omib_st.model.tissue_data import section_graph
from omib_st.scoring import smooth_scores

SECTIONS = ["B4", "C2", "C3", "C4", "C5", "C6"]
WEIGHTS = (0.0, 0.25, 0.5, 0.75)

seed = int(sys.argv[1])
folder = sys.argv[2] if len(sys.argv) > 2 else None
kind = sys.argv[3] if len(sys.argv) > 3 else "cnn"
graph = DetectorConfig().graph
sections = load_sections("../shared/data/her2st")
store = FeatureStore(sections, folder)
features = {s: store.get(kind, "", s, seed) for s in SECTIONS}
aucs = []
for target in SECTIONS:
    fold = Fold(target, tuple(s for s in SECTIONS if s != target))
    scores = baselines.run_baseline(features, sections, fold, seed=seed)["scores"]
    edges = section_graph(sections[target], graph)
    truth, keep = is_anomalous(sections[target]), evaluated(sections[target])
    aucs.append(
        [roc_auc_score(truth[keep], smooth_scores(scores, edges, w)[keep]) for w in WEIGHTS]
    )
print("| smoothing | " + " | ".join(SECTIONS) + " | mean |")
for w, column in zip(WEIGHTS, np.array(aucs).T):
    print(f"| {w} | " + " | ".join(f"{a:.3f}" for a in column) + f" | {column.mean():.3f} |")

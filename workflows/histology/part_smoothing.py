"""Smoothing weights of the fused model's two evidence parts, post hoc, leave-one-section-out.

    python workflows/histology/part_smoothing.py SEED [KEY=VALUE ...]

Fits the fused model (``omib_fused`` of ``omib-st benchmark histology``, with the ``KEY=VALUE``
settings) on the normal spots of five of B4 and C2–C6, scores the sixth and A1, and prints one
JSON line per section: the AUC against the truth of the harness for every pair (expression
weight, image weight) in ``WEIGHTS`` × ``WEIGHTS``. Each part's robust z-score is smoothed over
the section's graph with its weight and the two are averaged, as ``scoring.smoothing`` /
``scoring.image_smoothing`` do; the last line is the mean over B4 and C2–C6.
"""

import json
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.methods import make_config
from omib_st.benchmarks.histology.data import (
    GROUP_KEY,
    NORMAL_VALUES,
    evaluated,
    is_anomalous,
    load_sections,
)
from omib_st.benchmarks.histology.methods import OMIB_METHODS
from omib_st.model import OmibDetector
from omib_st.model.tissue_data import section_graph
from omib_st.scoring import smooth_scores, zscores

SECTIONS = ["B4", "C2", "C3", "C4", "C5", "C6"]
WEIGHTS = (0.0, 0.25, 0.5, 0.75)

seed = int(sys.argv[1])
overrides = {k: float(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])}
sections = load_sections("../shared/data/her2st")
aucs = {}
for target in [*SECTIONS, "A1"]:
    references = [sections[s] for s in SECTIONS if s != target]
    config = make_config("omib_fused", seed=seed, overrides=overrides or None)
    detector = OmibDetector(config).fit(
        references,
        normal_key=GROUP_KEY,
        normal_values=list(NORMAL_VALUES),
        **OMIB_METHODS["omib_fused"],
    )
    graph = section_graph(sections[target], config.graph)
    z = zscores(detector.score(sections[target]).parts, detector.reference_stats)
    truth, keep = is_anomalous(sections[target]), evaluated(sections[target])
    aucs[target] = {
        f"{we},{wi}": roc_auc_score(
            truth[keep],
            (smooth_scores(z["expression"], graph, we) + smooth_scores(z["image"], graph, wi))[keep]
            / 2,
        )
        for we in WEIGHTS
        for wi in WEIGHTS
    }
    print(target, json.dumps({k: round(v, 3) for k, v in aucs[target].items()}), flush=True)
mean = {k: round(float(np.mean([aucs[s][k] for s in SECTIONS])), 4) for k in aucs["B4"]}
print("mean", json.dumps(mean))

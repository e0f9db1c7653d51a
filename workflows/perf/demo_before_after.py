"""omib-st demo's fit + score with the image CNN trained (the defaults before issue 14) and with
the defaults (on CPU: frozen backbone, cached features), in one process, timed and scored.

Usage: ``python workflows/perf/demo_before_after.py before,after`` (the order to run them in;
``one_weight`` is the defaults with the image part smoothed like the expression, as before
session 11; ``thumbnail8`` the defaults with the 8-pixel thumbnail of before session 12);
prints one JSON line per variant (AUC, AUC per lesion kind, seconds, backbone path, epochs).
"""

import json
import sys
import time

from sklearn.metrics import roc_auc_score

import omib_st as om
from omib_st.cli.demo import DEMO_CONFIG

VARIANTS = {
    "before": {"image.freeze": False, "image.target": "thumbnail"},
    "after": {},
    "one_weight": {"scoring.image_smoothing": 0.75},  # session 10: one weight for both parts
    "thumbnail8": {"image.thumbnail": 8},  # sessions 6-11: an 8 x 8 thumbnail
}


def run(name: str, sample, reference) -> dict:
    config = om.config.replace(om.config.load_config(DEMO_CONFIG),
                               **{"train.seed": 0, **VARIANTS[name]})  # fmt: skip
    scored = sample.copy()
    start = time.perf_counter()
    detector = om.model.OmibDetector(config).fit(reference)
    om.tl.detect(scored, model=detector)
    seconds = time.perf_counter() - start
    truth, score = scored.obs["is_anomaly"].to_numpy(), scored.obs["omib_score"].to_numpy()
    kinds = {}
    for kind in ("both", "expression", "image"):
        keep = (scored.obs["lesion"] == kind).to_numpy() | ~truth
        kinds[kind] = round(roc_auc_score(truth[keep], score[keep]), 3)
    return {"variant": name, "auc": round(roc_auc_score(truth, score), 4), "per_kind": kinds,
            "seconds": round(seconds, 1), "backbone": detector.training.get("image_backbone"),
            "epochs": detector.training["epochs"]}  # fmt: skip


if __name__ == "__main__":
    import torch

    torch.set_num_threads(2)
    sample = om.datasets.synthetic_visium(n_rows=40, n_cols=50, seed=0)
    reference = om.datasets.synthetic_visium(n_rows=40, n_cols=50, seed=1, lesions=())
    for variant in sys.argv[1].split(","):
        print(json.dumps(run(variant, sample, reference)), flush=True)

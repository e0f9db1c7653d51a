"""Does a supervised model fitted on all six labelled sections carry over to sections it has
never seen? (issue 15)

    OMP_NUM_THREADS=1 python workflows/her2st/carry_over.py DATA OUT [--seeds 0 1 2] [--set K=V]

Fits ``OmibDetector`` in supervised mode on the labelled spots of A1–F1 (as
``omib-st fit A1 … F1 --label-key label_group --positive anomalous --ignore excluded``) and the
issue's logistic baseline and its depth-thinned and expression-smoothed variants on the same
spots (``omib_no_xs``: omib-st's model scored without ``scoring.expression_smoothing``), then
scores every other section of those patients that has expression clusters (A2–A6, B2–B6,
C2–C6, D2–D6, E2–E3, F2–F3). Truth: the her2st authors' "cancer …" expression clusters (a
proxy derived from expression; "unknown" clusters left out). Writes ``OUT/carry_over.csv``
(one row per section × method × seed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections
from omib_st.benchmarks.her2st.logistic import logistic
from omib_st.benchmarks.her2st.methods import SUPERVISED_FIT, make_config
from omib_st.benchmarks.histology.data import load_section
from omib_st.cli.benchmark import parse_set
from omib_st.config import replace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    import omib_st as om

    args.out.mkdir(parents=True, exist_ok=True)
    labelled = load_sections(args.data, image=False)
    names = sorted(labelled)
    unseen = sorted(
        p.name.removesuffix(".tsv.gz")
        for p in (args.data / "clusters").glob("*.tsv.gz")
        if p.name.removesuffix(".tsv.gz") not in names
    )
    targets = {name: load_section(args.data, name, image=False) for name in unseen}
    references = [labelled[n] for n in names]
    rows = []

    def record(name, method, seed, scores):
        target = targets[name]
        keep = evaluated(target)
        truth = is_anomalous(target)[keep]
        auc = roc_auc_score(truth, scores[keep]) if 0 < truth.sum() < keep.sum() else float("nan")
        rows.append(
            {"section": name, "method": method, "seed": seed, "auc": auc}
            | {"n_cancer": int(truth.sum()), "n_normal": int((~truth).sum())}
        )
        print(f"{name} {method} seed {seed}: AUC {auc:.3f}", flush=True)

    for seed in args.seeds:
        config = make_config("omib", seed=seed, overrides=parse_set(args.set))
        detector = om.model.OmibDetector(config).fit(references, use_image=False, **SUPERVISED_FIT)
        for name, target in targets.items():
            scored = om.tl.detect(target, model=detector, copy=True)
            record(name, "omib", seed, scored.obs["omib_score"].to_numpy())
        detector.config = replace(config, **{"scoring.expression_smoothing": 0.0})
        for name, target in targets.items():
            record(name, "omib_no_xs", seed, detector.score(target).scores)
    masks = [evaluated(r) for r in references]
    positive = [is_anomalous(r) for r in references]
    for name, target in targets.items():
        baselines = logistic(references, target, masks, positive)
        for method in ("logistic", "logistic_thin", "logistic_xs"):
            record(name, method, 0, baselines[method]["scores"])
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "carry_over.csv", index=False)
    by_seed = table.groupby(["method", "seed"])["auc"].mean().groupby("method")
    print(pd.DataFrame({"mean": by_seed.mean(), "sd": by_seed.std(ddof=0)}).round(3))


if __name__ == "__main__":
    main()

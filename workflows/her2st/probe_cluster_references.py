"""Do more training sections help a supervised model? (issue 15, exploratory)

    OMP_NUM_THREADS=2 python workflows/her2st/probe_cluster_references.py DATA OUT \
        --seeds 0 1 2 --methods omib logistic [--set supervised.members=1]

Leave-one-patient-out over the labelled sections A1–F1, as ``omib-st benchmark her2st --protocol
supervised``, except that each fold also trains on the *unlabelled* sections of the other
patients (A2–A6, B2–B6, …; 24 sections), labelled by the her2st authors' expression clusters
(``cancer …`` clusters anomalous, ``unknown`` left out, every other cluster normal;
:func:`omib_st.benchmarks.histology.data.load_section`). The held-out patient's sections never
enter its fold. Writes ``OUT/table.csv`` (one row per method × target × seed) and
``OUT/scores.csv.gz``, and prints the mean AUC per method and section.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from omib_st.benchmarks.her2st.data import load_sections, patient
from omib_st.benchmarks.her2st.run import run_fold
from omib_st.benchmarks.her2st.splits import lopo_folds
from omib_st.benchmarks.histology.data import load_section as load_cluster_section
from omib_st.cli.benchmark import parse_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=["omib", "logistic"])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", dest="settings")
    args = parser.parse_args()
    sections = load_sections(args.data, image=False)
    labelled = sorted(sections)
    patients = {patient(s) for s in labelled}
    counts = sorted(p.name.removesuffix(".tsv.gz") for p in (args.data / "counts").glob("*.tsv.gz"))
    for name in counts:
        if patient(name) in patients and name not in sections:
            sections[name] = load_cluster_section(args.data, name, image=False)
    records, frames = [], []
    for seed in args.seeds:
        for fold in lopo_folds(list(sections), labelled):
            rows, scores = run_fold(
                sections,
                fold,
                args.methods,
                seed,
                overrides=parse_set(args.settings),
                protocol="supervised",
            )
            records += rows
            frames.append(scores)
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(records)
    table.to_csv(args.out / "table.csv", index=False)
    pd.concat(frames).to_csv(args.out / "scores.csv.gz", index=False)
    aucs = table.pivot_table(index="method", columns="target", values="auc")
    aucs["mean"] = aucs.mean(axis=1)
    print(aucs.round(3).to_string())


if __name__ == "__main__":
    main()

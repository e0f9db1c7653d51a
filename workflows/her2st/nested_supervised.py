"""Nested leave-one-patient-out choice of a setting for the supervised protocol (issue 15).

    OMP_NUM_THREADS=1 python workflows/her2st/nested_supervised.py DATA OUT --seed S \
        --candidates expression.scaling=reference expression.scaling=section

For each outer patient P (held out), each candidate is fitted leave-one-patient-out on the other
five patients only (train on four, score the fifth: five inner fits per candidate); the candidate
with the best mean inner AUC is chosen for P, then fitted on all five and scored on P. Writes
``OUT/inner.csv`` (every inner AUC) and ``OUT/outer.csv`` (per outer patient: the choice, and
every candidate's outer AUC, so the table can also show what each fixed candidate would give).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections, patient
from omib_st.benchmarks.her2st.methods import make_config
from omib_st.benchmarks.her2st.runners import run_omib
from omib_st.cli.benchmark import parse_set


def auc(references, target, setting: dict, seed: int) -> float:
    config = make_config("omib", seed=seed, overrides=setting)
    scores = run_omib(references, target, config, "supervised")["scores"]
    keep = evaluated(target)
    return float(roc_auc_score(is_anomalous(target)[keep], scores[keep]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", nargs="+", required=True, help="KEY=VALUE[,KEY=VALUE]")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    candidates = {c: parse_set(c.split(",")) for c in args.candidates}
    sections = load_sections(args.data, image=False)
    names = sorted(sections)
    inner_rows, outer_rows = [], []
    for held_out in names:
        rest = [n for n in names if patient(n) != patient(held_out)]
        inner = {}
        for name, setting in candidates.items():
            aucs = []
            for target in rest:
                references = [sections[n] for n in rest if patient(n) != patient(target)]
                aucs.append(auc(references, sections[target], setting, args.seed))
                inner_rows.append(
                    {"outer": held_out, "candidate": name, "inner": target, "auc": aucs[-1]}
                )
            inner[name] = float(np.mean(aucs))
            print(f"{held_out} inner {name}: {inner[name]:.3f}", flush=True)
        chosen = max(inner, key=inner.get)
        outer = {
            name: auc([sections[n] for n in rest], sections[held_out], setting, args.seed)
            for name, setting in candidates.items()
        }
        outer_rows.append(
            {"outer": held_out, "seed": args.seed, "chosen": chosen, "auc": outer[chosen]}
            | {f"auc[{name}]": value for name, value in outer.items()}
            | {f"inner[{name}]": value for name, value in inner.items()}
        )
        print(f"{held_out} chose {chosen}: outer AUC {outer[chosen]:.3f}", flush=True)
        pd.DataFrame(inner_rows).to_csv(args.out / "inner.csv", index=False)
        pd.DataFrame(outer_rows).to_csv(args.out / "outer.csv", index=False)
    table = pd.DataFrame(outer_rows)
    print(table.round(3).to_string(index=False))
    print("nested mean AUC", round(table["auc"].mean(), 4))


if __name__ == "__main__":
    main()

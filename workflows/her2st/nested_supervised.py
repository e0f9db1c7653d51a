"""Nested leave-one-patient-out choice of a setting for the supervised protocol (issue 15).

    OMP_NUM_THREADS=2 python workflows/her2st/nested_supervised.py DATA OUT --seed S \
        --candidates omib.beta_scale=1 omib.beta_scale=10 [--inner-set supervised.members=1]

For each outer patient P (held out), each candidate is scored leave-one-patient-out on the other
five patients only (train on four, score the fifth); the candidate with the best mean inner AUC
is chosen for P, then fitted on all five and scored on P. ``--inner-set`` adds settings to the
inner fits only (``supervised.members=1``: select with single models, score the ensemble). The
inner model that leaves out P and Q is the same for outer P (scoring Q) and outer Q (scoring P),
so it is fitted once: 15 inner fits per candidate instead of 30. Candidates that differ only in
``scoring.*`` settings share their fits and are rescored. Writes ``OUT/inner.csv``
(every inner AUC) and ``OUT/outer.csv`` (per outer patient: the choice, every candidate's outer
AUC, so the table also shows what each fixed candidate gives, and the issue's logistic baseline,
its depth-thinned variant and its expression-smoothed variant with the chosen candidate's scoring
settings, on the same fold).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections, patient
from omib_st.benchmarks.her2st.logistic import logistic
from omib_st.benchmarks.her2st.methods import SUPERVISED_FIT, make_config
from omib_st.cli.benchmark import parse_set


def auc(target, scores) -> float:
    keep = evaluated(target)
    return float(roc_auc_score(is_anomalous(target)[keep], scores[keep]))


def fit_and_score(sections, train, targets, settings, seed) -> dict[str, dict[str, float]]:
    """AUC on each of ``targets`` of each named setting of ``settings``, fitted on the sections
    ``train``. Settings that differ only in ``scoring.*`` share one fit, rescored."""
    import omib_st as om

    out: dict[str, dict[str, float]] = {}
    fits: dict[str, om.model.OmibDetector] = {}
    for name, setting in settings.items():
        model = {k: v for k, v in setting.items() if not k.startswith("scoring.")}
        key = repr(sorted(model.items()))
        if key not in fits:
            fits[key] = om.model.OmibDetector(make_config("omib", seed=seed, overrides=model))
            fits[key].fit([sections[n] for n in train], use_image=False, **SUPERVISED_FIT)
        detector = fits[key]
        detector.config = make_config("omib", seed=seed, overrides=setting)
        out[name] = {t: auc(sections[t], detector.score(sections[t]).scores) for t in targets}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", nargs="+", required=True, help="KEY=VALUE[,KEY=VALUE]")
    parser.add_argument(
        "--inner-set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="settings of the inner fits only, e.g. supervised.members=1 (a cheaper selection)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    candidates = {c: parse_set(c.split(",")) for c in args.candidates}
    inner_set = parse_set(args.inner_set)
    sections = load_sections(args.data, image=False)
    names = sorted(sections)
    if len({patient(n) for n in names}) != len(names):
        raise SystemExit("this script expects one labelled section per patient")
    inner: dict[str, dict[tuple[str, str], float]] = {name: {} for name in candidates}
    for a, b in itertools.combinations(names, 2):  # inner models: every pair of patients out
        rest = [n for n in names if n not in (a, b)]
        settings = {name: setting | inner_set for name, setting in candidates.items()}
        for name, aucs in fit_and_score(sections, rest, (a, b), settings, args.seed).items():
            inner[name][a, b], inner[name][b, a] = aucs[b], aucs[a]  # (outer, inner target)
            print(f"{name} without {a}, {b}: {aucs[a]:.3f} / {aucs[b]:.3f}", flush=True)
    inner_rows = [
        {"outer": o, "candidate": name, "inner": t, "auc": value}
        for name, values in inner.items()
        for (o, t), value in values.items()
    ]
    pd.DataFrame(inner_rows).to_csv(args.out / "inner.csv", index=False)
    outer_rows = []
    for held_out in names:
        rest = [n for n in names if n != held_out]
        means = {name: np.mean([inner[name][held_out, t] for t in rest]) for name in candidates}
        chosen = max(means, key=means.get)
        fitted = fit_and_score(sections, rest, [held_out], candidates, args.seed)
        outer = {name: aucs[held_out] for name, aucs in fitted.items()}
        references = [sections[n] for n in rest]
        baselines = logistic(
            references,
            sections[held_out],
            [evaluated(r) for r in references],
            [is_anomalous(r) for r in references],
            seed=args.seed,
            scoring=make_config("omib", overrides=candidates[chosen]).scoring,
        )
        outer_rows.append(
            {"outer": held_out, "seed": args.seed, "chosen": chosen, "auc": outer[chosen]}
            | {f"auc[{name}]": value for name, value in outer.items()}
            | {f"inner[{name}]": value for name, value in means.items()}
            | {
                f"auc[{method}]": auc(sections[held_out], baselines[method]["scores"])
                for method in ("logistic", "logistic_thin", "logistic_xs")
            }
        )
        print(f"{held_out} chose {chosen}: outer AUC {outer[chosen]:.3f}", flush=True)
        pd.DataFrame(outer_rows).to_csv(args.out / "outer.csv", index=False)
    table = pd.DataFrame(outer_rows)
    print(table.round(3).to_string(index=False))
    print("nested mean AUC", round(table["auc"].mean(), 4))


if __name__ == "__main__":
    main()

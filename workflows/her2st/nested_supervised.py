"""Nested leave-one-patient-out choice of a setting for the supervised protocol (issue 15).

    OMP_NUM_THREADS=2 python workflows/her2st/nested_supervised.py DATA OUT --seed S \
        --candidates omib.beta_scale=1 omib.beta_scale=10 [--inner-set supervised.members=1] \
        [--thresholds decision otsu multiotsu mixture]

For each outer patient P (held out), each candidate is scored leave-one-patient-out on the other
five patients only (train on four, score the fifth); the candidate with the best mean inner AUC
is chosen for P, then fitted on all five and scored on P. ``--inner-set`` adds settings to the
inner fits only (``supervised.members=1``: select with single models, score the ensemble). The
inner model that leaves out P and Q is the same for outer P (scoring Q) and outer Q (scoring P),
so it is fitted once: 15 inner fits per candidate instead of 30. Candidates that differ only in
``scoring.*`` settings share their fits and are rescored. With ``--thresholds``, the
``scoring.supervised_threshold`` rule is then chosen for P the same way, by the best mean inner
F1 at the own threshold under the chosen candidate (as the one-class threshold was, issue 13).
Writes ``OUT/inner.csv`` (every inner AUC and F1 per rule) and ``OUT/outer.csv`` (per outer
patient: the choices, every candidate's outer AUC and every rule's outer F1 and MCC, so the table
also shows what each fixed choice gives, and the issue's logistic baseline, its depth-thinned
variant and its expression-smoothed variant with the chosen candidate's scoring settings, on the
same fold).
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
from omib_st.benchmarks.her2st.metrics import f1, mcc
from omib_st.cli.benchmark import parse_set
from omib_st.config import replace
from omib_st.model.calibration import supervised_threshold


def auc(target, scores) -> float:
    keep = evaluated(target)
    return float(roc_auc_score(is_anomalous(target)[keep], scores[keep]))


def own_label_metrics(target, scores, scoring, rules, seed) -> dict[str, float]:
    """F1 and MCC at the own threshold of each ``scoring.supervised_threshold`` rule."""
    keep = evaluated(target)
    truth, out = is_anomalous(target)[keep], {}
    for rule in rules:
        cut = supervised_threshold(scores, replace(scoring, supervised_threshold=rule), seed)
        out[f"f1[{rule}]"] = f1(scores[keep] > cut, truth)
        out[f"mcc[{rule}]"] = mcc(scores[keep] > cut, truth)
    return out


def inner_mean(inner, name, held_out, key) -> float:
    """Mean ``key`` of candidate ``name`` over the inner folds of the outer patient ``held_out``."""
    return float(np.mean([m[key] for (o, _), m in inner[name].items() if o == held_out]))


def fit_and_score(sections, train, targets, settings, seed, rules=()) -> dict[str, dict]:
    """Per named setting of ``settings`` and each of ``targets``: its AUC, and F1 and MCC at the
    own threshold of each of ``rules``, fitted on the sections ``train``. Settings that differ
    only in ``scoring.*`` share one fit, rescored."""
    import omib_st as om

    out: dict[str, dict[str, dict[str, float]]] = {}
    fits: dict[str, om.model.OmibDetector] = {}
    for name, setting in settings.items():
        model = {k: v for k, v in setting.items() if not k.startswith("scoring.")}
        key = repr(sorted(model.items()))
        if key not in fits:
            fits[key] = om.model.OmibDetector(make_config("omib", seed=seed, overrides=model))
            fits[key].fit([sections[n] for n in train], use_image=False, **SUPERVISED_FIT)
        detector = fits[key]
        detector.config = make_config("omib", seed=seed, overrides=setting)
        out[name] = {}
        for t in targets:
            scores = detector.score(sections[t]).scores.astype(np.float64)
            out[name][t] = {"auc": auc(sections[t], scores)} | own_label_metrics(
                sections[t], scores, detector.config.scoring, rules, seed
            )
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
    parser.add_argument(
        "--thresholds",
        nargs="*",
        default=[],
        metavar="RULE",
        help="scoring.supervised_threshold rules to choose among by inner F1 at the own threshold",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    candidates = {c: parse_set(c.split(",")) for c in args.candidates}
    inner_set = parse_set(args.inner_set)
    sections = load_sections(args.data, image=False)
    names = sorted(sections)
    if len({patient(n) for n in names}) != len(names):
        raise SystemExit("this script expects one labelled section per patient")
    rules = args.thresholds
    inner: dict[str, dict[tuple[str, str], dict[str, float]]] = {name: {} for name in candidates}
    for a, b in itertools.combinations(names, 2):  # inner models: every pair of patients out
        rest = [n for n in names if n not in (a, b)]
        settings = {name: setting | inner_set for name, setting in candidates.items()}
        fitted = fit_and_score(sections, rest, (a, b), settings, args.seed, rules)
        for name, metrics in fitted.items():
            inner[name][a, b], inner[name][b, a] = metrics[b], metrics[a]  # (outer, inner target)
            print(
                f"{name} without {a}, {b}: {metrics[a]['auc']:.3f} / {metrics[b]['auc']:.3f}",
                flush=True,
            )
    inner_rows = [
        {"outer": o, "candidate": name, "inner": t, **metrics}
        for name, values in inner.items()
        for (o, t), metrics in values.items()
    ]
    pd.DataFrame(inner_rows).to_csv(args.out / "inner.csv", index=False)
    outer_rows = []
    for held_out in names:
        rest = [n for n in names if n != held_out]
        means = {name: inner_mean(inner, name, held_out, "auc") for name in candidates}
        chosen = max(means, key=means.get)
        rule_means = {r: inner_mean(inner, chosen, held_out, f"f1[{r}]") for r in rules}
        rule = max(rule_means, key=rule_means.get) if rules else None
        fitted = fit_and_score(sections, rest, [held_out], candidates, args.seed, rules)
        outer = {name: metrics[held_out] for name, metrics in fitted.items()}
        own = {}
        if rule is not None:
            f1_own, mcc_own = outer[chosen][f"f1[{rule}]"], outer[chosen][f"mcc[{rule}]"]
            own = {"threshold": rule, "f1_own": f1_own, "mcc_own": mcc_own}
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
            {"outer": held_out, "seed": args.seed, "chosen": chosen, "auc": outer[chosen]["auc"]}
            | own
            | {f"auc[{name}]": metrics["auc"] for name, metrics in outer.items()}
            | {
                f"{key}/{name}": value
                for name, metrics in outer.items()
                for key, value in metrics.items()
                if key != "auc"
            }
            | {f"inner[{name}]": value for name, value in means.items()}
            | {f"inner f1[{r}]": value for r, value in rule_means.items()}
            | {
                f"auc[{method}]": auc(sections[held_out], baselines[method]["scores"])
                for method in ("logistic", "logistic_thin", "logistic_xs")
            }
        )
        print(
            f"{held_out} chose {chosen} {rule or ''}: outer AUC {outer[chosen]['auc']:.3f}",
            flush=True,
        )
        pd.DataFrame(outer_rows).to_csv(args.out / "outer.csv", index=False)
    table = pd.DataFrame(outer_rows)
    print(table.round(3).to_string(index=False))
    print("nested mean AUC", round(table["auc"].mean(), 4))


if __name__ == "__main__":
    main()

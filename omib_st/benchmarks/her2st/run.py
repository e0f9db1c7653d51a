"""Runner: methods × leave-one-patient-out targets × seeds → a tidy table, a summary, maps.

omib-st runs through its public API, as a user would: ``OmibDetector(config).fit(references,
normal_key="pathology", normal_values=NORMAL)`` on the whole reference sections (graph on the
whole section, training on the normal spots), then ``omib_st.tl.detect(target, model=...)``.

Two protocols (:data:`PROTOCOLS`): ``one_class`` (above) and ``supervised`` (issue 15): the
models train on the labelled spots of the other patients' sections, anomalous = tumour labels,
``excluded`` spots (undetermined, unlabelled) left out — omib-st through
``fit(references, label_key="label_group", positive=["anomalous"], ignore=["excluded"])``, and the
logistic baseline of :mod:`~omib_st.benchmarks.her2st.logistic`.
Its configuration is :class:`~omib_st.config.DetectorConfig` unchanged (the defaults of
``omib-st detect``) apart from the ablation a variant names, the seed and a silent progress
bar; ``quick=True`` swaps in :data:`QUICK`, a smoke-test preset that is never benchmarked.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.baselines import BASELINES, SMOOTH, SMOOTHING, prepare, run_baseline
from omib_st.benchmarks.her2st.data import (
    GROUP_KEY,
    NORMAL,
    evaluated,
    is_anomalous,
    load_sections,
)
from omib_st.benchmarks.her2st.knn_scanpy import knn_scanpy
from omib_st.benchmarks.her2st.logistic import logistic
from omib_st.benchmarks.her2st.metrics import check_direction, evaluate
from omib_st.benchmarks.her2st.splits import Fold, lopo_folds
from omib_st.config import DetectorConfig, replace
from omib_st.errors import OmibError

OMIB_VARIANTS: dict[str, dict[str, Any]] = {
    "omib": {},
    "omib_concat": {"omib.fusion": "concat"},
    "omib_fixed_r": {"omib.dynamic_r": False},
    "omib_no_warmup": {"train.warmup_epochs": 0},
    "omib_beta10": {"omib.beta_scale": 10.0},
    "omib_beta01": {"omib.beta_scale": 0.1},
}
"""omib-st and its ablations, as config overrides of the defaults."""
STRONG = "knn_scanpy"
"""The strong kNN baseline of issue 13 (:mod:`~omib_st.benchmarks.her2st.knn_scanpy`)."""
SUPERVISED_BASELINES = ("logistic", "logistic_raw")
"""Baselines of the supervised protocol (:mod:`~omib_st.benchmarks.her2st.logistic`)."""
PROTOCOLS = ("one_class", "supervised")
METHODS = (*OMIB_VARIANTS, STRONG, STRONG + SMOOTH,
           *(name + suffix for name in BASELINES for suffix in ("", SMOOTH)),
           *SUPERVISED_BASELINES)  # fmt: skip
LABELS = {
    "omib": "omib-st (defaults)",
    "omib_concat": "omib-st w/o cross-attention (concat)",
    "omib_fixed_r": "omib-st fixed r = 1",
    "omib_no_warmup": "omib-st w/o warm-up",
    "omib_beta10": "omib-st β = 10 M_u",
    "omib_beta01": "omib-st β = 0.1 M_u",
    STRONG: "kNN, scanpy recipe (issue 13)",
    STRONG + SMOOTH: "kNN, scanpy recipe + radius smooth",
    "knn": "kNN distance (PCA)",
    "iforest": "Isolation Forest (PCA)",
    "lof": "LOF, novelty (PCA)",
    "pca_error": "PCA reconstruction error",
    **{f"{b}{SMOOTH}": f"{n} + smooth" for b, n in
       [("knn", "kNN distance"), ("iforest", "Isolation Forest"), ("lof", "LOF"),
        ("pca_error", "PCA error")]},
    "logistic": "logistic regression (PCA) + radius smooth (issue 15)",
    "logistic_raw": "logistic regression (PCA), not smoothed",
}  # fmt: skip
HARNESS = {"train.progress_bar": False}
"""The only change to the defaults in every run: no progress bar in logs (results unaffected)."""
QUICK = {
    "preprocess.n_top_genes": 500, "expression.hidden_dim": 64, "train.warmup_epochs": 2,
    "train.max_epochs": 5, "mi.steps": 50,
}  # fmt: skip
"""Smoke-test preset (``--quick``): checks the pipeline end to end in seconds; not a result."""
NORMAL_KEY = "pathology"
COLUMNS = ["method", "target", "seed", "auc", "ap", "f1_true_fraction", "f1_own", "runtime_s",
           "n_spots", "n_anomalous"]  # fmt: skip
"""The tidy table's leading columns (one row per method × target × seed)."""
SCORE_COLUMNS = ["target", "method", "seed", "spot", "array_col", "array_row", "pathology",
                 "score", "anomaly"]  # fmt: skip
"""Columns of the spot scores (one row per method × target × seed × spot)."""


def make_config(
    method: str, *, seed: int = 0, quick: bool = False, overrides: dict[str, Any] | None = None
) -> DetectorConfig:
    """The detector configuration of a run: defaults, (quick), overrides, the variant, the seed.

    Baselines take their genes, normalisation, graph, held-out split and threshold quantile from
    this configuration too.
    """
    changes = {**HARNESS, **(QUICK if quick else {}), **(overrides or {}),
               **OMIB_VARIANTS.get(method, {}), "train.seed": seed}  # fmt: skip
    return replace(DetectorConfig(), **changes)


def protocol_methods(protocol: str = "one_class") -> tuple[str, ...]:
    """The methods a protocol runs: the omib-st variants and its own baselines."""
    if protocol not in PROTOCOLS:
        raise OmibError(f"unknown protocol {protocol!r}", f"choose from {', '.join(PROTOCOLS)}")
    if protocol == "supervised":
        return (*OMIB_VARIANTS, *SUPERVISED_BASELINES)
    return tuple(m for m in METHODS if m not in SUPERVISED_BASELINES)


def check_methods(methods: Sequence[str], protocol: str = "one_class") -> list[str]:
    """``methods`` without repeats; an unknown name (or one of another protocol) is an error
    naming the valid ones."""
    valid = protocol_methods(protocol)
    unknown = [m for m in methods if m not in valid]
    if unknown:
        raise OmibError(
            f"unknown method(s) {', '.join(unknown)} for the {protocol} protocol",
            f"choose from {', '.join(valid)}",
        )
    return list(dict.fromkeys(methods))


def units(methods: Sequence[str], protocol: str = "one_class") -> list[str]:
    """What has to run for ``methods``: each omib-st variant, and each baseline once (its
    ``_smooth`` variant comes from the same scores; ``logistic_raw`` from ``logistic``'s)."""
    out = [m if m in OMIB_VARIANTS else m.removesuffix(SMOOTH) for m in check_methods(methods, protocol)]
    return list(dict.fromkeys("logistic" if m == "logistic_raw" else m for m in out))


SUPERVISED_FIT = {"label_key": GROUP_KEY, "positive": ["anomalous"], "ignore": ["excluded"]}
"""The supervised protocol's training labels: her2st tumour labels anomalous, undetermined and
unlabelled spots left out, the four normal labels normal (:mod:`~omib_st.benchmarks.her2st.data`)."""


def _run_omib(
    references: list[AnnData], target: AnnData, config: DetectorConfig, protocol: str = "one_class"
):
    """Fit on the reference sections' normal spots (supervised: their labelled spots), score the
    target (the user's path). The image is used when every section has one (the detector's own
    rule), never when the target lacks it."""
    import omib_st as om
    from omib_st.model.tissue_data import has_image

    start = time.perf_counter()
    labels = SUPERVISED_FIT if protocol == "supervised" else {
        "normal_key": NORMAL_KEY, "normal_values": list(NORMAL)}  # fmt: skip
    detector = om.model.OmibDetector(config).fit(
        references, use_image=None if has_image(target) else False, **labels
    )
    scored = om.tl.detect(target, model=detector, copy=True)
    seconds = time.perf_counter() - start
    info = scored.uns["omib"]
    return {
        "scores": scored.obs["omib_score"].to_numpy(np.float64),
        "labels": scored.obs["omib_anomaly"].to_numpy(bool),
        "threshold": float(info["threshold"]), "seconds": seconds,
        "extra": {"image_used": bool(info.get("image_used", False)),
                  "epochs": int(detector.training["epochs"]),
                  "beta": info.get("beta"), "n_genes": len(detector.genes)},
    }  # fmt: skip


def run_fold(
    sections: dict[str, AnnData],
    fold: Fold,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    *,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = print,
    protocol: str = "one_class",
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Run ``methods`` on one fold and seed; return one record per method and the spot scores.

    Scores: one row per method × spot of the target (``spot``, ``array_col``, ``array_row``,
    ``pathology``, ``score``, ``anomaly``), for the maps.
    """
    methods = check_methods(methods, protocol)
    target = sections[fold.target]
    references = [sections[s] for s in fold.references]
    truth, keep = is_anomalous(target), evaluated(target)
    trained = ("anomalous", "normal") if protocol == "supervised" else ("normal",)
    n_reference = int(sum(r.obs[GROUP_KEY].isin(trained).sum() for r in references))
    records, frames, prepared = [], [], None
    for unit in units(methods, protocol):
        config = make_config(unit, seed=seed, quick=quick, overrides=overrides)
        start = time.perf_counter()
        try:
            if unit in OMIB_VARIANTS:
                results = {unit: _run_omib(references, target, config, protocol)}
            elif unit == "logistic":
                results = logistic(references, target, [evaluated(r) for r in references],
                                   [is_anomalous(r) for r in references], seed=seed)  # fmt: skip
                for result in results.values():
                    result["seconds"] = time.perf_counter() - start
            elif unit == STRONG:
                normal = [(r.obs[GROUP_KEY] == "normal").to_numpy() for r in references]
                results = knn_scanpy(references, target, normal)
                for result in results.values():
                    result["seconds"] = time.perf_counter() - start
            else:
                if prepared is None:
                    prepared = prepare(references, target, normal_key=NORMAL_KEY,
                                       normal_values=NORMAL, config=config, seed=seed)  # fmt: skip
                results = run_baseline(unit, prepared, config=config, seed=seed)
        except OmibError as err:  # a method that fails on a fold is a result, not a crash
            results = {
                m: {"error": str(err), "seconds": time.perf_counter() - start}
                for m in methods if m in (unit, unit + SMOOTH)
            }  # fmt: skip
        for method, result in results.items():
            if method not in methods:
                continue
            record = {
                "method": method, "target": fold.target, "seed": seed,
                "runtime_s": round(result["seconds"], 3), "n_spots": int(target.n_obs),
                "n_anomalous": int(truth.sum()), "n_evaluated": int(keep.sum()),
                "n_reference_spots": n_reference, "references": "+".join(fold.references),
                "quick": quick, "error": result.get("error", ""), "protocol": protocol,
            }  # fmt: skip
            if "error" in result:
                record.update({"auc": math.nan, "ap": math.nan, "f1_true_fraction": math.nan,
                               "f1_own": math.nan, "mcc_own": math.nan, "inverted": False})  # fmt: skip
                records.append(record)
                if log is not None:
                    log(f"{fold.target} {method:<18} seed {seed}  FAILED: {result['error']}")
                continue
            scores, labels = result["scores"], result["labels"]
            metrics = evaluate(scores[keep], truth[keep], labels[keep])
            extra = result.get("extra", {})
            record.update({
                **metrics, "inverted": check_direction(metrics["auc"], method, fold.target),
                "threshold": result["threshold"], "n_flagged": int(labels.sum()),
                "image_used": extra.get("image_used", False),
                "epochs": extra.get("epochs", math.nan), "beta": extra.get("beta", math.nan),
            })  # fmt: skip
            records.append(record)
            frames.append(pd.DataFrame({
                "target": fold.target, "method": method, "seed": seed,
                "spot": target.obs_names, "array_col": target.obs["array_col"].to_numpy(),
                "array_row": target.obs["array_row"].to_numpy(),
                "pathology": target.obs["pathology"].astype(str).to_numpy(),
                "score": scores, "anomaly": labels,
            }))  # fmt: skip
            if log is not None:
                r = record
                flag = "  AUC < 0.5: inverted" if r["inverted"] else ""
                log(f"{fold.target} {method:<18} seed {seed}  AUC {r['auc']:.3f}  AP {r['ap']:.3f}  "
                    f"F1@k {r['f1_true_fraction']:.3f}  F1 own {r['f1_own']:.3f}  "
                    f"({r['runtime_s']:.1f} s){flag}")  # fmt: skip
    return records, _concat(frames)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Spot-score frames as one (empty, with the columns, when every method failed)."""
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)


def run_benchmark(
    data: str | os.PathLike,
    *,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    targets: Sequence[str] | None = None,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = print,
    protocol: str = "one_class",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every target × seed × method of the leave-one-patient-out benchmark on a her2st folder.

    Returns the tidy table and the spot scores; with ``out``, writes them with
    :func:`write_outputs`. ``protocol``: ``"one_class"`` or ``"supervised"`` (:data:`PROTOCOLS`).
    """
    methods = check_methods(methods, protocol)
    sections = load_sections(data)
    folds = lopo_folds(list(sections), targets)
    records, frames = [], []
    for fold in folds:
        for seed in seeds:
            rec, scores = run_fold(sections, fold, methods, seed, quick=quick,
                                   overrides=overrides, log=log, protocol=protocol)  # fmt: skip
            records += rec
            frames.append(scores)
    table, scores = pd.DataFrame(records), _concat(frames)
    if out is not None:
        write_outputs(table, scores, out)
    return table, scores


# ---------------------------------------------------------------------- records (workflow)
def write_run(path: str | os.PathLike, records: list[dict[str, Any]], scores: pd.DataFrame) -> None:
    """One job's records (JSON, NaN → null) and, beside it, its spot scores (``.scores.csv.gz``)."""
    path = Path(path)
    clean = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
              for k, v in r.items()} for r in records]  # fmt: skip
    scores_path = scores_file(path)
    tmp = scores_path.with_name(scores_path.name + ".tmp")
    scores.to_csv(tmp, index=False, compression="gzip")
    tmp.replace(scores_path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(clean, indent=1) + "\n")
    tmp.replace(path)


def scores_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name.removesuffix(".json") + ".scores.csv.gz")


def read_runs(paths: Iterable[str | os.PathLike]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records and spot scores written by :func:`write_run`, as one table each."""
    records, frames = [], []
    for path in paths:
        records += json.loads(Path(path).read_text())
        frame = pd.read_csv(scores_file(path))
        if len(frame):  # a run whose methods all failed has no scores
            frames.append(frame)
    table = pd.DataFrame(records).infer_objects()
    table["error"] = table.get("error", pd.Series("", index=table.index)).fillna("")
    return table, _concat(frames)


# ---------------------------------------------------------------------- outputs
def _order(table: pd.DataFrame) -> pd.DataFrame:
    rank = {m: i for i, m in enumerate(METHODS)}
    return table.sort_values(["method", "target", "seed"], key=lambda c: c.map(rank) if c.name == "method" else c,
                             kind="stable").reset_index(drop=True)  # fmt: skip


def tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the documented columns first, in method / target / seed order."""
    table = _order(table)
    return table[COLUMNS + [c for c in table.columns if c not in COLUMNS]]


def overall(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per method: the mean over sections of each seed, then mean and sd (population) over seeds.

    A failed run counts as its section's mean over the method's other seeds, so a failure neither
    raises nor lowers the mean over sections (a section failed on every seed is left out).
    """
    cells = table[["method", "target", "seed", metric]].copy()
    section_mean = cells.groupby(["method", "target"])[metric].transform("mean")
    cells[metric] = cells[metric].fillna(section_mean)
    per_seed = cells.groupby(["method", "seed"])[metric].mean()
    return per_seed.groupby("method").agg(mean="mean", std=lambda x: x.std(ddof=0))


def best_baseline(table: pd.DataFrame) -> str | None:
    """The baseline with the highest overall mean AUC (None when no baseline ran)."""
    rows = table[~table.method.isin(list(OMIB_VARIANTS))]
    if rows.empty:
        return None
    return str(overall(rows, "auc")["mean"].idxmax())


CHANCE = {
    "auc": "chance (random scores)", "ap": "chance (random scores) = anomaly fraction",
    "f1_true_fraction": "chance (random scores) = anomaly fraction",
    "f1_own": "flag every spot",
}  # fmt: skip


def chance_levels(table: pd.DataFrame, metric: str) -> dict[str, float]:
    """Per target, what a method without information scores: 0.5 AUC; the anomaly fraction p
    for AP and for F1 at the true fraction (expected values under random scores); for the own
    threshold, the F1 of flagging every spot, 2p / (1 + p)."""
    sizes = table.drop_duplicates("target").set_index("target")
    p = sizes.n_anomalous / sizes.get("n_evaluated", sizes.n_spots)
    level = {"auc": 0 * p + 0.5, "ap": p, "f1_true_fraction": p, "f1_own": 2 * p / (1 + p)}
    return {t: float(v) for t, v in level[metric].items()}


def summary_markdown(table: pd.DataFrame) -> str:
    """Mean ± sd over seeds per section and overall, for each metric; mean runtime per fit."""
    table = _order(table)
    targets = sorted(table.target.unique())
    methods = [m for m in METHODS if m in set(table.method)]

    def cell(values: pd.Series) -> str:
        done = values.dropna()
        if done.empty:
            return "failed" if len(values) else "–"
        sd = done.std(ddof=0) if len(done) > 1 else 0.0
        runs = f" ({len(done)} of {len(values)} runs)" if len(done) < len(values) else ""
        return f"{done.mean():.3f} ± {sd:.3f}{runs}"

    seeds = sorted(table.seed.unique())
    lines = [
        f"her2st leave-one-patient-out: {len(targets)} target sections, seeds "
        f"{', '.join(map(str, seeds))}. Cells: mean ± sd over seeds; **mean** = the mean over "
        "sections of each seed, then mean ± sd over seeds. omib-st is expression-only on these "
        "sections (no H&E image), so it fuses the neighbourhood GNN and the spot's own profile. "
        f"`+ smooth`: scores smoothed over the spatial graph with weight {SMOOTHING}. "
        "A failed run counts as its section's mean over the other seeds in **mean**; failures are "
        "counted in the AUC table.",
        "",
    ]  # fmt: skip
    if (table.get("protocol", pd.Series("one_class")) == "supervised").any():
        lines += ["**Supervised protocol** (issue 15): every method trains on the labelled spots "
                  "(tumour vs the four normal labels; undetermined and unlabelled spots left out) "
                  "of the other patients' sections; omib-st's score is the fused head's "
                  "probability of the tumour class. Not comparable with one-class numbers.", ""]  # fmt: skip
    if table.get("quick", pd.Series(False)).astype(bool).any():
        lines += ["**Quick preset (smoke test): not a result.**", ""]
    names = {"auc": "ROC AUC", "ap": "Average precision",
             "f1_true_fraction": "F1 at the true anomaly fraction (top-k)",
             "f1_own": "F1 at the method's own label-free threshold"}  # fmt: skip
    for metric, name in names.items():
        lines += [f"### {name}", "",
                  "| method | " + " | ".join(targets) + " | **mean** |" + (
                      " runtime per fit (s) | AUC < 0.5 | failed |" if metric == "auc" else ""),
                  "|---|" + "---|" * (len(targets) + 1) + ("---|---|---|" if metric == "auc" else "")]  # fmt: skip
        stats = overall(table, metric)
        for method in methods:
            rows = table[table.method == method]
            cells = [cell(rows[rows.target == t][metric]) for t in targets]
            mean, sd = stats.loc[method, "mean"], stats.loc[method, "std"]
            sd = 0.0 if not np.isfinite(sd) else sd
            total = f"**{mean:.3f} ± {sd:.3f}**" if np.isfinite(mean) else "failed"
            line = f"| {LABELS[method]} | " + " | ".join(cells) + f" | {total} |"
            if metric == "auc":
                inverted = int((rows[metric] < 0.5).sum())
                failed = int(rows[metric].isna().sum())
                line += f" {rows.runtime_s.mean():.1f} | {inverted} of {len(rows)} | {failed} |"
            lines.append(line)
        levels = chance_levels(table, metric)
        cells = " | ".join(f"{levels[t]:.3f}" for t in targets)
        pad = " | | |" if metric == "auc" else ""
        mean = np.mean(list(levels.values()))
        lines += [f"| *{CHANCE[metric]}* | {cells} | *{mean:.3f}* |{pad}", ""]
    sizes = table.drop_duplicates("target").set_index("target").loc[targets]
    lines += ["Sections: " + ", ".join(
        f"{t} ({int(r.n_spots)} spots, {int(r.n_anomalous)} anomalous of "
        f"{int(r.get('n_evaluated', r.n_spots))} evaluated)" for t, r in sizes.iterrows()) + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


_COLOURS = {
    "invasive cancer": "#d62728", "cancer in situ": "#ff9896", "immune infiltrate": "#9467bd",
    "breast glands": "#2ca02c", "connective tissue": "#8c564b", "adipose tissue": "#f2d64b",
    "undetermined": "#bbbbbb", "nan": "#eeeeee",
}  # fmt: skip


def plot_map(scores: pd.DataFrame, path: str | os.PathLike, title: str = "") -> None:
    """Two panels over the array grid: the pathologist label, and the method's score."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    fig = Figure(figsize=(11, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    pathology = scores["pathology"].astype(str)
    for label, colour in _COLOURS.items():
        where = pathology == label
        if where.any():
            left.scatter(scores.array_col[where], scores.array_row[where], c=colour, s=24,
                         marker="s", label=label if label != "nan" else "unlabelled")  # fmt: skip
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)
    left.set_title("pathologist label")
    points = right.scatter(scores.array_col, scores.array_row, c=scores.score, s=24, marker="s",
                           cmap="viridis")  # fmt: skip
    flagged = scores.anomaly.astype(bool)
    right.scatter(scores.array_col[flagged], scores.array_row[flagged], s=24, marker="s",
                  facecolors="none", edgecolors="red", linewidths=0.8)  # fmt: skip
    fig.colorbar(points, ax=right, shrink=0.7, label="score")
    right.set_title("score (red outline: flagged by the method's own threshold)", fontsize=9)
    for ax in (left, right):
        ax.set_xlim(scores.array_col.min() - 1, scores.array_col.max() + 1)
        ax.set_ylim(scores.array_row.max() + 1, scores.array_row.min() - 1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    tmp = Path(path).with_name(Path(path).stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def write_maps(table: pd.DataFrame, scores: pd.DataFrame, folder: str | os.PathLike) -> list[Path]:
    """``<target>_<method>.png`` for omib-st (defaults) and the best baseline, first seed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [m for m in ("omib", best_baseline(table)) if m is not None and m in set(table.method)]
    paths = []
    for method in chosen:
        for target in sorted(table.target.unique()):
            rows = table[(table.method == method) & (table.target == target)].dropna(subset="auc")
            if rows.empty:  # failed on every seed
                continue
            seed = int(rows.seed.min())
            auc = float(rows[rows.seed == seed].auc.iloc[0])
            spots = scores[(scores.method == method) & (scores.target == target)
                           & (scores.seed == seed)]  # fmt: skip
            path = folder / f"{target}_{method}.png"
            plot_map(spots, path, f"{target}: {LABELS[method]}, seed {seed}, AUC {auc:.3f}")
            paths.append(path)
    return paths


def write_outputs(
    table: pd.DataFrame, scores: pd.DataFrame, out: str | os.PathLike
) -> dict[str, Path]:
    """``table.csv`` (tidy), ``table.md`` (summary), ``scores.csv.gz`` and ``maps/*.png``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "table.csv", "md": out / "table.md", "scores": out / "scores.csv.gz"}
    tmp = {key: path.with_name(path.name + ".tmp") for key, path in paths.items()}
    tidy(table).to_csv(tmp["csv"], index=False)
    tmp["md"].write_text(summary_markdown(table))
    scores.to_csv(tmp["scores"], index=False, compression="gzip")
    for key in paths:
        tmp[key].replace(paths[key])
    paths["maps"] = out / "maps"
    write_maps(table, scores, paths["maps"])
    return paths

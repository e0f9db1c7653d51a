"""Runner: methods × targets × seeds on the real-H&E sections → a tidy table and a summary.

Targets: each of B4, C2–C6 in turn, leave-one-section-out (reference = the normal-cluster spots
of the other five; C2–C6 come from one patient, so a C target's reference holds sections of its
own patient), then A1 against its pathologist labels (reference = the normal spots of all six).

Methods: the image-only kNN baselines of :mod:`~omib_st.benchmarks.histology.baselines`, each
on the raw patches and (``_reinhard``) after Reinhard normalisation of every section to the
pooled LAB statistics of the benchmark's sections; and the omib-st detector through its public
API (``OmibDetector(config).fit(references, normal_key="label_group",
normal_values=["normal"], ...)`` then ``omib_st.tl.detect``), image-only, fused, or
expression-only (:data:`OMIB_METHODS`). The proxy truth of B4, C2–C6 comes from expression.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.metrics import check_direction, evaluate
from omib_st.benchmarks.her2st.run import make_config, overall
from omib_st.benchmarks.her2st.splits import Fold
from omib_st.benchmarks.histology import baselines as bl
from omib_st.benchmarks.histology.data import (
    A1,
    GROUP_KEY,
    NORMAL_VALUES,
    TRUTH_KEY,
    evaluated,
    is_anomalous,
    load_sections,
)
from omib_st.errors import OmibError
from omib_st.io.atomic import atomic_path

REINHARD = "_reinhard"
BASELINE_METHODS = tuple(name + suffix for suffix in ("", REINHARD) for name in bl.BASELINES)
OMIB_METHODS: dict[str, dict[str, Any]] = {
    "omib_image": {"use_image": True, "use_expression": False},
    "omib_fused": {"use_image": True},
    "omib_expression": {"use_image": False},
}
"""omib-st variants → arguments of ``OmibDetector.fit``."""
METHODS = (*BASELINE_METHODS, *OMIB_METHODS)
DEFAULT_METHODS = METHODS
"""Every baseline and the omib-st image-only, fused and expression-only models, in one run."""
LABELS = {
    "knn_color": "kNN, colour histograms", "knn_descriptors": "kNN, morphology descriptors",
    "knn_cnn": "kNN, random-init ResNet-18",
    "omib_image": "omib-st, image only", "omib_fused": "omib-st, fused",
    "omib_expression": "omib-st, expression only",
}  # fmt: skip
LABELS.update({m + REINHARD: LABELS[m] + " (Reinhard)" for m in bl.BASELINES})
COLUMNS = ["method", "target", "seed", "auc", "ap", "f1_true_fraction", "f1_own", "runtime_s",
           "n_spots", "n_anomalous", "n_evaluated"]  # fmt: skip
SCORE_COLUMNS = ["target", "method", "seed", "spot", "array_col", "array_row", "truth", "score",
                 "anomaly"]  # fmt: skip
STAIN_SAMPLE = 100
"""Spot patches per section pooled into the Reinhard target (drawn with a fixed seed)."""


def check_methods(methods: Sequence[str]) -> list[str]:
    """``methods`` without repeats; an unknown name is an error naming the valid ones."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise OmibError(
            f"unknown method(s) {', '.join(unknown)}", f"choose from {', '.join(METHODS)}"
        )
    return list(dict.fromkeys(methods))


def folds(sections: Sequence[str], targets: Sequence[str] | None = None) -> list[Fold]:
    """Leave-one-section-out over the sections other than A1; A1's reference is all of them."""
    others = [s for s in sections if s != A1]
    targets = list(sections if targets is None else targets)
    unknown = [t for t in targets if t not in sections]
    if unknown or len(others) < 2:
        raise OmibError(f"target(s) {', '.join(unknown) or '-'} among sections {', '.join(sections)}",
                        "choose targets among the loaded sections (at least two besides A1)")  # fmt: skip
    return [Fold(t, tuple(s for s in others if s != t)) for t in targets]


# ---------------------------------------------------------------------- features
def spot_patches(adata: AnnData, image: np.ndarray | None = None) -> np.ndarray:
    """Every spot patch of a section at the baselines' size, uint8 ``[n, 3, H, W]``."""
    from omib_st.pp import PatchExtractor

    extractor = PatchExtractor.from_adata(adata, size=bl.SPOT_SIZE, image=image)
    return extractor[np.arange(adata.n_obs)]


def stain_target(sections: dict[str, AnnData]):
    """Reinhard target: LAB statistics pooled over :data:`STAIN_SAMPLE` spot patches of each
    section except A1 (colour only; no label is used)."""
    from omib_st.pp.stain import lab_stats

    rng = np.random.default_rng(0)
    pooled = []
    for name, adata in sections.items():
        if name != A1:
            patches = spot_patches(adata)
            pooled.append(patches[np.sort(rng.permutation(len(patches))[:STAIN_SAMPLE])])
    return lab_stats(np.concatenate(pooled))


class FeatureStore:
    """Per-section features of the baselines, computed on first use and kept (in memory, and
    as ``<folder>/<kind><stain>/<section>[_seed<k>].npy`` when ``folder`` is given)."""

    def __init__(self, sections: dict[str, AnnData], folder: str | os.PathLike | None = None):
        self.sections, self.folder = sections, None if folder is None else Path(folder)
        self._cache: dict[tuple, np.ndarray] = {}
        self._target = None
        self._image: tuple[str, np.ndarray] | None = None  # the last section's decoded image

    def path(self, kind: str, stain: str, section: str, seed: int) -> Path | None:
        if self.folder is None:
            return None
        suffix = f"_seed{seed}" if kind in bl.SEEDED else ""
        return self.folder / f"{kind}{stain}" / f"{section}{suffix}.npy"

    def get(self, kind: str, stain: str, section: str, seed: int) -> np.ndarray:
        key = (kind, stain, section, seed if kind in bl.SEEDED else 0)
        if key in self._cache:
            return self._cache[key]
        path = self.path(kind, stain, section, seed)
        if path is not None and path.is_file():
            features = np.load(path)
        else:
            features = bl.section_features(self.sections[section], kind, seed=seed,
                                           transform=self.transform(section, stain),
                                           image=self.image(section))  # fmt: skip
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    np.save(tmp, features)
        self._cache[key] = features
        return features

    def precompute(self, methods: Sequence[str], seeds: Sequence[int]) -> None:
        """Features of every baseline of ``methods``, section by section (each image decoded
        once)."""
        needs = list(dict.fromkeys(split_method(m) for m in methods if m in BASELINE_METHODS))
        for section in self.sections:
            for kind, stain in needs:
                for seed in seeds if kind in bl.SEEDED else seeds[:1]:
                    self.get(kind, stain, section, seed)

    def image(self, section: str) -> np.ndarray:
        """The section's full-resolution image, decoded once for consecutive uses."""
        if self._image is None or self._image[0] != section:
            self._image = (section, bl.section_image(self.sections[section]))
        return self._image[1]

    def transform(self, section: str, stain: str) -> Callable | None:
        """Reinhard normalisation of ``section`` onto :func:`stain_target` (its own source
        statistics from all its spot patches), or None."""
        if not stain:
            return None
        from omib_st.pp.stain import lab_stats, reinhard

        source = lab_stats(spot_patches(self.sections[section], self.image(section)))
        return partial(reinhard, target=self.stain_target(), source=source)

    def stain_target(self):
        """:func:`stain_target` of the sections, computed once (kept as
        ``<folder>/stain_target.json``)."""
        import json

        from omib_st.pp.stain import LabStats

        path = None if self.folder is None else self.folder / "stain_target.json"
        if self._target is None and path is not None and path.is_file():
            saved = json.loads(path.read_text())
            self._target = LabStats(np.array(saved["mean"]), np.array(saved["std"]))
        if self._target is None:
            self._target = stain_target(self.sections)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    tmp.write_text(json.dumps({"mean": self._target.mean.tolist(),
                                               "std": self._target.std.tolist()}))  # fmt: skip
        return self._target


def split_method(method: str) -> tuple[str, str]:
    """``knn_cnn_reinhard`` → (``cnn``, ``_reinhard``)."""
    stain = REINHARD if method.endswith(REINHARD) else ""
    return bl.BASELINES[method.removesuffix(REINHARD)], stain


# ---------------------------------------------------------------------- runs
def _run_omib(method: str, references: list[AnnData], target: AnnData, config) -> dict[str, Any]:
    """The user's path: fit on the references' normal spots, score the whole target."""
    import omib_st as om

    start = time.perf_counter()
    detector = om.model.OmibDetector(config).fit(
        references, normal_key=GROUP_KEY, normal_values=list(NORMAL_VALUES), **OMIB_METHODS[method]
    )
    scored = om.tl.detect(target, model=detector, copy=True)
    info = scored.uns["omib"]
    return {"scores": scored.obs["omib_score"].to_numpy(np.float64),
            "labels": scored.obs["omib_anomaly"].to_numpy(bool),
            "threshold": float(info["threshold"]), "seconds": time.perf_counter() - start,
            "image_used": bool(info.get("image_used", False))}  # fmt: skip


def run_fold(
    sections: dict[str, AnnData],
    fold: Fold,
    methods: Sequence[str] = DEFAULT_METHODS,
    seed: int = 0,
    *,
    store: FeatureStore | None = None,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = print,
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Run ``methods`` on one fold and seed: one record per method, and the spot scores."""
    methods = check_methods(methods)
    store = store or FeatureStore(sections)
    target = sections[fold.target]
    truth, keep = is_anomalous(target), evaluated(target)
    records, frames = [], []
    for method in methods:
        start = time.perf_counter()
        record = {"method": method, "target": fold.target, "seed": seed,
                  "n_spots": int(target.n_obs), "n_anomalous": int(truth[keep].sum()),
                  "n_evaluated": int(keep.sum()), "references": "+".join(fold.references),
                  "n_reference_spots": int(sum((sections[s].obs[GROUP_KEY] == "normal").sum()
                                               for s in fold.references)),
                  "quick": quick, "error": ""}  # fmt: skip
        try:
            config = make_config(method, seed=seed, quick=quick, overrides=overrides)
            if method in OMIB_METHODS:
                result = _run_omib(method, [sections[s] for s in fold.references], target, config)
            else:
                kind, stain = split_method(method)
                features = {
                    s: store.get(kind, stain, s, seed) for s in (fold.target, *fold.references)
                }
                result = bl.run_baseline(features, sections, fold, seed=seed, config=config)
        except OmibError as err:  # a method that fails on a fold is a result, not a crash
            record.update(error=str(err), runtime_s=round(time.perf_counter() - start, 3),
                          auc=math.nan, ap=math.nan, f1_true_fraction=math.nan, f1_own=math.nan,
                          inverted=False)  # fmt: skip
            records.append(record)
            if log is not None:
                log(f"{fold.target} {method:<26} seed {seed}  FAILED: {err}")
            continue
        scores, labels = result["scores"], result["labels"]
        metrics = evaluate(scores[keep], truth[keep], labels[keep])
        record.update(metrics, runtime_s=round(result["seconds"], 3),
                      inverted=check_direction(metrics["auc"], method, fold.target),
                      threshold=result["threshold"], n_flagged=int(labels.sum()),
                      image_used=result.get("image_used", method not in OMIB_METHODS))  # fmt: skip
        records.append(record)
        frames.append(pd.DataFrame({
            "target": fold.target, "method": method, "seed": seed, "spot": target.obs_names,
            "array_col": target.obs["array_col"].to_numpy(),
            "array_row": target.obs["array_row"].to_numpy(),
            "truth": target.obs[TRUTH_KEY].astype(str).to_numpy(), "score": scores,
            "anomaly": labels,
        }))  # fmt: skip
        if log is not None:
            log(f"{fold.target} {method:<26} seed {seed}  AUC {metrics['auc']:.3f}  "
                f"AP {metrics['ap']:.3f}  F1@k {metrics['f1_true_fraction']:.3f}  "
                f"({record['runtime_s']:.1f} s)")  # fmt: skip
    return records, concat_scores(frames)


def concat_scores(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Spot-score frames as one (empty, with the columns, when there are none)."""
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)


def run_benchmark(
    data: str | os.PathLike,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    targets: Sequence[str] | None = None,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = print,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every target × seed × method; with ``out``, writes :func:`write_outputs` (and caches
    features under ``out/features``)."""
    methods = check_methods(methods)
    sections = load_sections(data)
    store = FeatureStore(sections, None if out is None else Path(out) / "features")
    store.precompute(methods, list(seeds))
    records, frames = [], []
    for fold in folds(list(sections), targets):
        for seed in seeds:
            rec, scores = run_fold(sections, fold, methods, seed, store=store, quick=quick,
                                   overrides=overrides, log=log)  # fmt: skip
            records += rec
            frames.append(scores)
    table, scores = pd.DataFrame(records), concat_scores(frames)
    if out is not None:
        write_outputs(table, scores, out)
    return table, scores


# ---------------------------------------------------------------------- outputs
def tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The documented columns first, in method / target / seed order."""
    rank = {m: i for i, m in enumerate(METHODS)}
    table = table.sort_values(["method", "target", "seed"], kind="stable",
                              key=lambda c: c.map(rank) if c.name == "method" else c)  # fmt: skip
    return table[COLUMNS + [c for c in table.columns if c not in COLUMNS]].reset_index(drop=True)


def summary_markdown(table: pd.DataFrame) -> str:
    """AUC (mean ± sd over seeds) per section, the mean over the leave-one-section-out sections
    (A1 apart), AP and F1 at the true fraction of that mean, runtime."""
    methods = [m for m in METHODS if m in set(table.method)]
    sections = sorted(t for t in table.target.unique() if t != A1)
    targets = sections + ([A1] if A1 in set(table.target) else [])
    lofo = table[table.target != A1]

    def cell(values: pd.Series) -> str:
        done = values.dropna()
        if done.empty:
            return "failed" if len(values) else "–"
        return f"{done.mean():.3f} ± {done.std(ddof=0):.3f}"

    seeds = ", ".join(map(str, sorted(table.seed.unique())))
    lines = [f"Real H&E, leave-one-section-out over {', '.join(sections)} (truth: the her2st "
             "authors' *cancer* expression clusters, a proxy from expression; *unknown* clusters "
             f"excluded){'; A1 against its pathologist labels' if A1 in targets else ''}. Seeds "
             f"{seeds}; cells: ROC AUC mean ± sd over seeds; **mean**: mean over "
             f"{', '.join(sections)} per seed, then mean ± sd over seeds.", ""]  # fmt: skip
    if table.get("quick", pd.Series(False)).astype(bool).any():
        lines += ["**Quick preset (smoke test): not a result.**", ""]
    lines += ["| method | " + " | ".join(targets) + " | **mean AUC** | mean AP | mean F1@k | s / fit |",
              "|---|" + "---|" * (len(targets) + 4)]  # fmt: skip
    stats = {m: overall(lofo, m) for m in ("auc", "ap", "f1_true_fraction")} if len(lofo) else {}
    for method in methods:
        rows = table[table.method == method]
        cells = [cell(rows[rows.target == t].auc) for t in targets]
        means = []
        for metric in ("auc", "ap", "f1_true_fraction"):
            s = stats[metric].loc[method] if stats and method in stats[metric].index else None
            means.append("–" if s is None or not np.isfinite(s["mean"])
                         else f"{s['mean']:.3f} ± {s['std']:.3f}")  # fmt: skip
        means[0] = f"**{means[0]}**"
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + " | " + " | ".join(means)
                     + f" | {rows.runtime_s.mean():.1f} |")  # fmt: skip
    sizes = table.drop_duplicates("target").set_index("target").loc[targets]
    lines += ["", "Spots: " + ", ".join(
        f"{t} {int(r.n_evaluated)} evaluated ({int(r.n_anomalous)} anomalous, "
        f"{int(r.n_evaluated - r.n_anomalous)} normal)" for t, r in sizes.iterrows()) + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_outputs(
    table: pd.DataFrame, scores: pd.DataFrame, out: str | os.PathLike
) -> dict[str, Path]:
    """``table.csv`` (tidy), ``table.md`` (summary) and ``scores.csv.gz``, each written
    atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "table.csv", "md": out / "table.md", "scores": out / "scores.csv.gz"}
    with atomic_path(paths["csv"]) as tmp:
        tidy(table).to_csv(tmp, index=False)
    with atomic_path(paths["md"]) as tmp:
        tmp.write_text(summary_markdown(table))
    with atomic_path(paths["scores"]) as tmp:
        scores.to_csv(tmp, index=False, compression="gzip")
    return paths

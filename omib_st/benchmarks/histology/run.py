"""Runner: methods × targets × seeds on the real-H&E sections → a tidy table and a summary.

Targets: each of B4, C2–C6 in turn, leave-one-section-out (reference = the normal-cluster spots
of the other five; C2–C6 come from one patient, so a C target's reference holds sections of its
own patient), then A1 against its pathologist labels (reference = the normal spots of all six).

Methods (:mod:`~omib_st.benchmarks.histology.methods`): the image-only kNN baselines of
:mod:`~omib_st.benchmarks.histology.baselines` on the features of
:mod:`~omib_st.benchmarks.histology.features`, raw and Reinhard-normalised; and the omib-st
detector through its public API (``OmibDetector(config).fit(references,
normal_key="label_group", normal_values=["normal"], ...)`` then ``omib_st.tl.detect``),
image-only, fused, or expression-only. The proxy truth of B4, C2–C6 comes from expression.
The table and summary are written by :mod:`~omib_st.benchmarks.histology.report`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.methods import make_config
from omib_st.benchmarks.her2st.records import FAILED_METRICS, gather, scored_fields, spot_frame
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
from omib_st.benchmarks.histology.features import STAIN_SAMPLE, FeatureStore, spot_patches
from omib_st.benchmarks.histology.methods import (
    BASELINE_METHODS,
    COLUMNS,
    DEFAULT_METHODS,
    LABELS,
    METHODS,
    OMIB_METHODS,
    REINHARD,
    SCORE_COLUMNS,
    check_methods,
    split_method,
)
from omib_st.benchmarks.histology.report import summary_markdown, tidy, write_outputs
from omib_st.benchmarks.reporting import concat_scores as _concat_scores
from omib_st.errors import OmibError

__all__ = [
    "BASELINE_METHODS",
    "COLUMNS",
    "DEFAULT_METHODS",
    "LABELS",
    "METHODS",
    "OMIB_METHODS",
    "REINHARD",
    "SCORE_COLUMNS",
    "STAIN_SAMPLE",
    "FeatureStore",
    "check_methods",
    "concat_scores",
    "folds",
    "run_benchmark",
    "run_fold",
    "split_method",
    "spot_patches",
    "summary_markdown",
    "tidy",
    "write_outputs",
]


def folds(sections: Sequence[str], targets: Sequence[str] | None = None) -> list[Fold]:
    """Leave-one-section-out over the sections other than A1; A1's reference is all of them."""
    others = [s for s in sections if s != A1]
    targets = list(sections if targets is None else targets)
    unknown = [t for t in targets if t not in sections]
    if unknown or len(others) < 2:
        raise OmibError(
            f"target(s) {', '.join(unknown) or '-'} among sections {', '.join(sections)}",
            "choose targets among the loaded sections (at least two besides A1)",
        )
    return [Fold(t, tuple(s for s in others if s != t)) for t in targets]


def concat_scores(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Spot-score frames as one (empty, with the columns, when there are none)."""
    return _concat_scores(frames, SCORE_COLUMNS)


def _run_omib(method: str, references: list[AnnData], target: AnnData, config) -> dict[str, Any]:
    """The user's path: fit on the references' normal spots, score the whole target."""
    import omib_st as om

    start = time.perf_counter()
    detector = om.model.OmibDetector(config).fit(
        references, normal_key=GROUP_KEY, normal_values=list(NORMAL_VALUES), **OMIB_METHODS[method]
    )
    scored = om.tl.detect(target, model=detector, copy=True)
    info = scored.uns["omib"]
    return {
        "scores": scored.obs["omib_score"].to_numpy(np.float64),
        "labels": scored.obs["omib_anomaly"].to_numpy(bool),
        "threshold": float(info["threshold"]),
        "seconds": time.perf_counter() - start,
        "image_used": bool(info.get("image_used", False)),
    }


def _run_method(
    method: str,
    sections: dict[str, AnnData],
    fold: Fold,
    store: FeatureStore,
    *,
    seed: int,
    quick: bool,
    overrides: dict[str, Any] | None,
) -> dict[str, Any]:
    """One method's result on the fold: ``scores``, ``labels``, ``threshold``, ``seconds``."""
    config = make_config(method, seed=seed, quick=quick, overrides=overrides)
    if method in OMIB_METHODS:
        references = [sections[s] for s in fold.references]
        return _run_omib(method, references, sections[fold.target], config)
    kind, stain = split_method(method)
    features = {s: store.get(kind, stain, s, seed) for s in (fold.target, *fold.references)}
    return bl.run_baseline(features, sections, fold, seed=seed, config=config)


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
    context = _context(sections, fold)
    records, frames = [], []
    for method in methods:
        start = time.perf_counter()
        record = {
            "method": method,
            "target": fold.target,
            "seed": seed,
            **context,
            "quick": quick,
            "error": "",
        }
        records.append(record)
        try:
            result = _run_method(
                method, sections, fold, store, seed=seed, quick=quick, overrides=overrides
            )
        except OmibError as err:  # a method that fails on a fold is a result, not a crash
            record.update(
                error=str(err),
                runtime_s=round(time.perf_counter() - start, 3),
                **FAILED_METRICS,
                inverted=False,
            )
            if log is not None:
                log(f"{fold.target} {method:<26} seed {seed}  FAILED: {err}")
            continue
        metrics, fields = scored_fields(result, truth, keep, method, fold.target)
        record.update(
            metrics,
            runtime_s=round(result["seconds"], 3),
            **fields,
            image_used=result.get("image_used", method not in OMIB_METHODS),
        )
        keys = {"target": fold.target, "method": method, "seed": seed}
        frames.append(
            spot_frame(
                target, result["scores"], result["labels"], keys=keys, label=("truth", TRUTH_KEY)
            )
        )
        if log is not None:
            log(_log_line(record))
    return records, concat_scores(frames)


def _context(sections: dict[str, AnnData], fold: Fold) -> dict[str, Any]:
    """The fields every record of a fold shares: the target's size, the reference's."""
    target = sections[fold.target]
    truth, keep = is_anomalous(target), evaluated(target)
    n_reference = sum((sections[s].obs[GROUP_KEY] == "normal").sum() for s in fold.references)
    return {
        "n_spots": int(target.n_obs),
        "n_anomalous": int(truth[keep].sum()),
        "n_evaluated": int(keep.sum()),
        "references": "+".join(fold.references),
        "n_reference_spots": int(n_reference),
    }


def _log_line(record: dict[str, Any]) -> str:
    r = record
    return (
        f"{r['target']} {r['method']:<26} seed {r['seed']}  AUC {r['auc']:.3f}  "
        f"AP {r['ap']:.3f}  F1@k {r['f1_true_fraction']:.3f}  ({r['runtime_s']:.1f} s)"
    )


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

    def run(fold: Fold, seed: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
        return run_fold(
            sections, fold, methods, seed, store=store, quick=quick, overrides=overrides, log=log
        )

    table, scores = gather(folds(list(sections), targets), seeds, run, SCORE_COLUMNS)
    if out is not None:
        write_outputs(table, scores, out)
    return table, scores

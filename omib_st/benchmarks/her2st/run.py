"""Runner: methods × leave-one-patient-out targets × seeds → a tidy table, a summary, maps.

Two protocols (:data:`~omib_st.benchmarks.her2st.methods.PROTOCOLS`): ``one_class``, where the
models train on the normal spots of the other patients' sections, and ``supervised`` (issue 15),
where they train on their labelled spots, anomalous = tumour labels, ``excluded`` spots
(undetermined, unlabelled) left out.

How each method runs is in :mod:`~omib_st.benchmarks.her2st.runners`, the methods and their
configurations in :mod:`~omib_st.benchmarks.her2st.methods`, the records and their files in
:mod:`~omib_st.benchmarks.her2st.records`, the table, summary and maps in
:mod:`~omib_st.benchmarks.her2st.report`; their public names are importable from here too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.data import GROUP_KEY, evaluated, is_anomalous, load_sections
from omib_st.benchmarks.her2st.methods import (
    HARNESS,
    LABELS,
    METHODS,
    NORMAL_KEY,
    OMIB_VARIANTS,
    PROTOCOLS,
    QUICK,
    STRONG,
    SUPERVISED_BASELINES,
    SUPERVISED_FIT,
    check_methods,
    make_config,
    protocol_methods,
    units,
)
from omib_st.benchmarks.her2st.records import (
    COLUMNS,
    FAILED_METRICS,
    SCORE_COLUMNS,
    gather,
    read_runs,
    scored_fields,
    scores_file,
    spot_frame,
    write_run,
)
from omib_st.benchmarks.her2st.report import (
    CHANCE,
    best_baseline,
    chance_levels,
    summary_markdown,
    tidy,
    write_maps,
    write_outputs,
)
from omib_st.benchmarks.her2st.runners import run_unit
from omib_st.benchmarks.her2st.splits import Fold, lopo_folds
from omib_st.benchmarks.metrics import overall
from omib_st.benchmarks.reporting import concat_scores, plot_map

__all__ = [
    "CHANCE",
    "COLUMNS",
    "HARNESS",
    "LABELS",
    "METHODS",
    "NORMAL_KEY",
    "OMIB_VARIANTS",
    "PROTOCOLS",
    "QUICK",
    "SCORE_COLUMNS",
    "STRONG",
    "SUPERVISED_BASELINES",
    "SUPERVISED_FIT",
    "best_baseline",
    "chance_levels",
    "check_methods",
    "make_config",
    "overall",
    "plot_map",
    "protocol_methods",
    "read_runs",
    "run_benchmark",
    "run_fold",
    "scores_file",
    "summary_markdown",
    "tidy",
    "units",
    "write_maps",
    "write_outputs",
    "write_run",
]


def _context(
    fold: Fold, target: AnnData, references: list[AnnData], quick: bool, protocol: str
) -> dict[str, Any]:
    """The fields every record of a fold shares: the target's size, the reference's."""
    truth, keep = is_anomalous(target), evaluated(target)
    trained = ("anomalous", "normal") if protocol == "supervised" else ("normal",)
    return {
        "n_spots": int(target.n_obs),
        "n_anomalous": int(truth.sum()),
        "n_evaluated": int(keep.sum()),
        "n_reference_spots": int(sum(r.obs[GROUP_KEY].isin(trained).sum() for r in references)),
        "references": "+".join(fold.references),
        "quick": quick,
    }


def _outcome(
    result: dict[str, Any], truth: np.ndarray, keep: np.ndarray, method: str, target: str
) -> dict[str, Any]:
    """A record's metrics and result fields (NaN metrics when the run failed)."""
    if "error" in result:
        return {**FAILED_METRICS, "mcc_own": math.nan, "inverted": False}
    metrics, fields = scored_fields(result, truth, keep, method, target)
    extra = result.get("extra", {})
    return {
        **metrics,
        **fields,
        "image_used": extra.get("image_used", False),
        "epochs": extra.get("epochs", math.nan),
        "beta": extra.get("beta", math.nan),
    }


def _log_line(record: dict[str, Any], failed: bool) -> str:
    r = record
    head = f"{r['target']} {r['method']:<18} seed {r['seed']}  "
    if failed:
        return head + f"FAILED: {r['error']}"
    flag = "  AUC < 0.5: inverted" if r["inverted"] else ""
    return head + (
        f"AUC {r['auc']:.3f}  AP {r['ap']:.3f}  F1@k {r['f1_true_fraction']:.3f}  "
        f"F1 own {r['f1_own']:.3f}  ({r['runtime_s']:.1f} s){flag}"
    )


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
    context = _context(fold, target, references, quick, protocol)
    records, frames, cache = [], [], {}
    for unit in units(methods, protocol):
        results = run_unit(
            unit,
            references,
            target,
            methods,
            cache,
            seed=seed,
            quick=quick,
            overrides=overrides,
            protocol=protocol,
        )
        for method in [m for m in results if m in methods]:
            result = results[method]
            record = {
                "method": method,
                "target": fold.target,
                "seed": seed,
                "runtime_s": round(result["seconds"], 3),
                **context,
                "error": result.get("error", ""),
                "protocol": protocol,
            }
            records.append({**record, **_outcome(result, truth, keep, method, fold.target)})
            if "error" not in result:
                keys = {"target": fold.target, "method": method, "seed": seed}
                frames.append(spot_frame(target, result["scores"], result["labels"], keys=keys))
            if log is not None:
                log(_log_line(records[-1], failed="error" in result))
    return records, concat_scores(frames, SCORE_COLUMNS)


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

    def run(fold: Fold, seed: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
        return run_fold(
            sections,
            fold,
            methods,
            seed,
            quick=quick,
            overrides=overrides,
            log=log,
            protocol=protocol,
        )

    table, scores = gather(lopo_folds(list(sections), targets), seeds, run, SCORE_COLUMNS)
    if out is not None:
        write_outputs(table, scores, out)
    return table, scores

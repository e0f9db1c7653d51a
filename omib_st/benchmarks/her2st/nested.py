"""Nested leave-one-patient-out: every setting chosen on the other patients only.

For an outer target section t, each candidate setting is judged on the *inner* folds: every
other patient's section u as target, the model trained on the normal spots of the sections of
the remaining patients (neither t's nor u's). The setting with the best mean inner score is then
applied to the outer fold (trained on every patient but t's, scoring t), and that outer result
is the reported figure. An inner fold's model (references = all but {t, u}) is the same for
outer t / inner u and outer u / inner t, so each patient pair is fitted once.

The settings chosen this way are the scoring choices that need no refit (each is a rescoring of
the same fitted model):

- ``scoring.smoothing`` in :data:`SMOOTHING_GRID`, chosen by mean inner ROC AUC;
- the label-free threshold in :data:`THRESHOLD_GRID` (a quantile of the held-out normal
  reference scores, or the mixture or Otsu's threshold on the target's scores), chosen at that
  smoothing by mean inner F1 at the own threshold.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.data import (
    NORMAL,
    evaluated,
    is_anomalous,
    load_sections,
    patient,
)
from omib_st.benchmarks.her2st.methods import HARNESS
from omib_st.benchmarks.her2st.metrics import evaluate
from omib_st.benchmarks.her2st.nested_report import (
    nested_markdown,
    write_nested_maps,
    write_nested_outputs,
)
from omib_st.benchmarks.her2st.records import spot_frame
from omib_st.benchmarks.her2st.run import run_fold
from omib_st.benchmarks.her2st.splits import lopo_folds
from omib_st.config import DetectorConfig, replace

__all__ = [
    "NORMAL_KEY",
    "SMOOTHING_GRID",
    "THRESHOLD_GRID",
    "grid_records",
    "nested_markdown",
    "reference_sets",
    "run_models",
    "run_nested",
    "select",
    "write_nested_maps",
]

SMOOTHING_GRID = (0.0, 0.25, 0.5, 0.75)
THRESHOLD_GRID: dict[str, dict[str, Any]] = {
    "q0.90": {"scoring.threshold": "quantile", "scoring.quantile": 0.90},
    "q0.95": {"scoring.threshold": "quantile", "scoring.quantile": 0.95},
    "q0.99": {"scoring.threshold": "quantile", "scoring.quantile": 0.99},
    "mixture": {"scoring.threshold": "mixture"},
    "otsu": {"scoring.threshold": "otsu"},
    "multiotsu": {"scoring.threshold": "multiotsu"},
}
NORMAL_KEY = "pathology"


def reference_sets(sections: Sequence[str]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """``(references, targets)`` of every model the nested protocol needs: one per outer target
    (all other patients) and one per pair of patients (all but the pair), scoring both."""
    patients = sorted({patient(s) for s in sections})
    runs = []
    for left in patients:
        runs.append(_split(sections, {left}))
    for pair in itertools.combinations(patients, 2):
        runs.append(_split(sections, set(pair)))
    return [run for run in runs if run[0]]


def _split(sections: Sequence[str], held: set[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(s for s in sections if patient(s) not in held),
        tuple(s for s in sections if patient(s) in held),
    )


def grid_records(detector: Any, target: AnnData) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Metrics of every smoothing × threshold choice for one fitted model and one target (each
    a rescoring of the same model), and the spot scores and labels of each choice."""
    base = detector.config
    truth, keep = is_anomalous(target), evaluated(target)
    records, frames = [], []
    try:
        for smoothing, (rule, changes) in itertools.product(SMOOTHING_GRID, THRESHOLD_GRID.items()):
            detector.config = replace(base, **{"scoring.smoothing": smoothing, **changes})
            result = detector.score(target)
            metrics = evaluate(result.scores[keep], truth[keep], result.labels[keep])
            records.append(
                {
                    "smoothing": smoothing,
                    "threshold_rule": rule,
                    **metrics,
                    "n_flagged": int(result.labels.sum()),
                }
            )
            keys = {"smoothing": smoothing, "threshold_rule": rule}
            frames.append(
                spot_frame(
                    target, result.scores, result.labels, keys=keys, label=("pathology", NORMAL_KEY)
                )
            )
    finally:
        detector.config = base
    return records, pd.concat(frames, ignore_index=True)


def run_models(
    sections: dict[str, AnnData],
    seeds: Sequence[int],
    config: DetectorConfig,
    log: Callable[[str], None] | None = print,
    models: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every model of :func:`reference_sets` for every seed and record the grid on its
    targets: one row per seed × references × target × smoothing × threshold rule; and the spot
    scores of the outer folds' models (for the maps).

    With ``models`` (a folder), each fitted model is saved to ``<models>/seed<s>/<references>``
    and loaded from there when it exists, so a rerun (more seeds, new scoring rules) refits
    nothing it already has (``fit_s`` is then NaN)."""
    from pathlib import Path

    from omib_st.model import OmibDetector

    rows, spots = [], []
    for seed in seeds:
        for references, targets in reference_sets(list(sections)):
            folder = None if models is None else Path(models) / f"seed{seed}" / "+".join(references)
            start = time.perf_counter()
            wanted = replace(config, **{"train.seed": seed})
            if folder is not None and (folder / "model.json").exists():
                detector, fit_seconds = OmibDetector.load(folder), float("nan")
                _check_kept(detector.config, wanted.for_mode(detector.mode), folder)
            else:
                detector = OmibDetector(wanted).fit(
                    [sections[s] for s in references],
                    normal_key=NORMAL_KEY,
                    normal_values=list(NORMAL),
                    use_image=False,
                )
                fit_seconds = time.perf_counter() - start
                if folder is not None:
                    folder.parent.mkdir(parents=True, exist_ok=True)
                    detector.save(folder)
            for target in targets:
                records, scores = grid_records(detector, sections[target])
                rows += [
                    {
                        "seed": seed,
                        "references": "+".join(references),
                        "target": target,
                        "fit_s": fit_seconds,
                        **record,
                    }
                    for record in records
                ]
                if len({patient(t) for t in targets}) == 1:  # an outer fold: one patient
                    spots.append(scores.assign(seed=seed, target=target))
            if log is not None:
                log(
                    f"seed {seed}: fitted on {'+'.join(references)} ({fit_seconds:.1f} s), "
                    f"scored {', '.join(targets)}"
                )
    return pd.DataFrame(rows), pd.concat(spots, ignore_index=True)


def _check_kept(saved: DetectorConfig, wanted: DetectorConfig, folder: Any) -> None:
    """Refuse a kept model trained with other settings (scoring settings aside: every scoring
    choice is a rescoring; image settings aside: the nested models see expression only)."""
    from omib_st.config import to_dict
    from omib_st.errors import OmibError

    def training(config: DetectorConfig) -> dict[str, Any]:
        settings = to_dict(config)
        settings.pop("scoring")
        settings.pop("image")
        settings["train"].pop("progress_bar", None)
        return settings

    if training(saved) != training(wanted):
        raise OmibError(
            f"the kept model {folder} was trained with other settings",
            "use another --out folder, or delete its models/ folder to refit",
        )


def select(grid: pd.DataFrame, sections: Sequence[str]) -> pd.DataFrame:
    """The nested result: per seed and outer target, the choice made on the inner folds and the
    outer metrics under it (plus the inner figures it was chosen on)."""
    out = []
    for (seed, outer), _ in grid.groupby(["seed", "target"]):
        rest = [s for s in sections if patient(s) != patient(outer)]
        outer_refs = "+".join(rest)
        inner = grid[(grid.seed == seed) & grid.target.isin(rest)]
        inner = inner[
            [
                _references_without(refs, outer, target, sections)
                for refs, target in zip(inner.references, inner.target)
            ]
        ]
        if inner.empty:  # not an outer fold of this run
            continue
        by_smoothing = inner.groupby("smoothing")["auc"].mean()
        smoothing = float(by_smoothing.idxmax())
        at = inner[inner.smoothing == smoothing].groupby("threshold_rule")["f1_own"].mean()
        rule = str(at.fillna(-1).idxmax())
        chosen = grid[
            (grid.seed == seed)
            & (grid.target == outer)
            & (grid.references == outer_refs)
            & (grid.smoothing == smoothing)
            & (grid.threshold_rule == rule)
        ]
        out.append(
            {
                **chosen.iloc[0].to_dict(),
                "inner_auc": float(by_smoothing.max()),
                "inner_f1_own": float(at.max()),
            }
        )
    return pd.DataFrame(out)


def _references_without(references: str, outer: str, inner: str, sections: Sequence[str]) -> bool:
    """Whether ``references`` is exactly every section of the patients other than those of
    ``outer`` and ``inner`` (the inner fold's model)."""
    held = {patient(outer), patient(inner)}
    return references == "+".join(s for s in sections if patient(s) not in held)


def run_nested(
    data: Any,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    baselines: Sequence[str] = ("knn_scanpy", "knn_scanpy_smooth"),
    overrides: dict[str, Any] | None = None,
    out: Any = None,
    log: Callable[[str], None] | None = print,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The nested omib-st result and the ``baselines`` on the same outer folds and seeds.

    Returns ``(table, grid)``: one row per method × outer target × seed (omib-st's row carries
    the chosen ``smoothing`` and ``threshold_rule``), and every rescoring of every model. With
    ``out``, writes ``nested.csv``, ``grid.csv``, ``nested.md``, ``scores.csv.gz`` (the spot
    scores of every outer fold under every choice), ``maps/<section>.png`` (labels next to the
    nested choice's scores, first seed) and ``models/`` (every fitted model, reused by a rerun
    into the same folder).
    """
    from pathlib import Path

    sections = load_sections(data, image=False)
    config = replace(DetectorConfig(), **{**HARNESS, **(overrides or {})})
    models = None if out is None else Path(out) / "models"
    grid, spots = run_models(sections, seeds, config, log=log, models=models)
    chosen = select(grid, list(sections)).assign(method="omib_nested")
    rows = [chosen]
    for seed in seeds:
        for fold in lopo_folds(list(sections)):
            records, _ = run_fold(sections, fold, baselines, seed, overrides=overrides, log=None)
            rows.append(pd.DataFrame(records))
    table = pd.concat(rows, ignore_index=True)
    if out is not None:
        write_nested_outputs(out, table, grid, spots, chosen)
    return table, grid

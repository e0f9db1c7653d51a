"""How each method of the her2st benchmark runs on one fold: omib-st through its public API, the
PCA baselines, the strong kNN baseline and the supervised logistic baseline.

omib-st runs as a user would: ``OmibDetector(config).fit(references, normal_key="pathology",
normal_values=NORMAL)`` on the whole reference sections (graph on the whole section, training on
the normal spots), then ``omib_st.tl.detect(target, model=...)``; in the supervised protocol
``fit(references, label_key="label_group", positive=["anomalous"], ignore=["excluded"])``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.benchmarks.her2st.baselines import SMOOTH, prepare, run_baseline
from omib_st.benchmarks.her2st.data import GROUP_KEY, NORMAL, evaluated, is_anomalous
from omib_st.benchmarks.her2st.knn_scanpy import knn_scanpy
from omib_st.benchmarks.her2st.logistic import logistic
from omib_st.benchmarks.her2st.methods import (
    NORMAL_KEY,
    OMIB_VARIANTS,
    STRONG,
    SUPERVISED_FIT,
    make_config,
)
from omib_st.config import DetectorConfig
from omib_st.errors import OmibError


def run_omib(
    references: list[AnnData], target: AnnData, config: DetectorConfig, protocol: str = "one_class"
) -> dict[str, Any]:
    """Fit on the reference sections' normal spots (supervised: their labelled spots), score the
    target (the user's path). The image is used when every section has one (the detector's own
    rule), never when the target lacks it."""
    import omib_st as om
    from omib_st.model.tissue_data import has_image

    start = time.perf_counter()
    labels = (
        SUPERVISED_FIT
        if protocol == "supervised"
        else {"normal_key": NORMAL_KEY, "normal_values": list(NORMAL)}
    )
    detector = om.model.OmibDetector(config).fit(
        references, use_image=None if has_image(target) else False, **labels
    )
    scored = om.tl.detect(target, model=detector, copy=True)
    seconds = time.perf_counter() - start
    info = scored.uns["omib"]
    return {
        "scores": scored.obs["omib_score"].to_numpy(np.float64),
        "labels": scored.obs["omib_anomaly"].to_numpy(bool),
        "threshold": float(info["threshold"]),
        "seconds": seconds,
        "extra": {
            "image_used": bool(info.get("image_used", False)),
            "epochs": int(detector.training["epochs"]),
            "beta": info.get("beta"),
            "n_genes": len(detector.genes),
        },
    }


def run_unit(
    unit: str,
    references: list[AnnData],
    target: AnnData,
    methods: Sequence[str],
    cache: dict[str, Any],
    *,
    seed: int,
    quick: bool,
    overrides: dict[str, Any] | None,
    protocol: str,
) -> dict[str, dict[str, Any]]:
    """The results of one unit (:func:`~omib_st.benchmarks.her2st.methods.units`) by method:
    ``scores``, ``labels``, ``threshold``, ``seconds`` (and ``extra``); ``error`` and ``seconds``
    for each of ``methods`` it gives when it failed. ``cache`` keeps the PCA baselines' features
    for the next unit of the fold."""
    config = make_config(unit, seed=seed, quick=quick, overrides=overrides)
    start = time.perf_counter()
    try:
        if unit in OMIB_VARIANTS:
            return {unit: run_omib(references, target, config, protocol)}
        if unit == "logistic":
            labelled = [evaluated(r) for r in references]
            positive = [is_anomalous(r) for r in references]
            results = logistic(
                references, target, labelled, positive, seed=seed, scoring=config.scoring
            )
        elif unit == STRONG:
            normal = [(r.obs[GROUP_KEY] == "normal").to_numpy() for r in references]
            results = knn_scanpy(references, target, normal)
        else:
            if "prepared" not in cache:
                cache["prepared"] = prepare(
                    references,
                    target,
                    normal_key=NORMAL_KEY,
                    normal_values=NORMAL,
                    config=config,
                    seed=seed,
                )
            return run_baseline(unit, cache["prepared"], config=config, seed=seed)
    except OmibError as err:  # a method that fails on a fold is a result, not a crash
        seconds = time.perf_counter() - start
        names = [m for m in methods if m in (unit, unit + SMOOTH)]
        return {m: {"error": str(err), "seconds": seconds} for m in names}
    for result in results.values():
        result["seconds"] = time.perf_counter() - start
    return results

"""The methods of the her2st benchmark, their names, and the configuration each runs with.

omib-st and its ablations (:data:`OMIB_VARIANTS`, config overrides of the defaults), the strong
kNN baseline of issue 13, the PCA baselines with and without smoothing, and the supervised
protocol's logistic baselines. Every configuration is :class:`~omib_st.config.DetectorConfig`
unchanged (the defaults of ``omib-st detect``) apart from the ablation a variant names, the seed
and a silent progress bar; ``quick=True`` swaps in :data:`QUICK`, a smoke-test preset that is
never benchmarked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omib_st.benchmarks.her2st.baselines import BASELINES, SMOOTH
from omib_st.benchmarks.her2st.data import GROUP_KEY
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
SUPERVISED_BASELINES = ("logistic", "logistic_raw", "logistic_thin", "logistic_xs")
"""Baselines of the supervised protocol (:mod:`~omib_st.benchmarks.her2st.logistic`)."""
PROTOCOLS = ("one_class", "supervised")
METHODS = (
    *OMIB_VARIANTS,
    STRONG,
    STRONG + SMOOTH,
    *(name + suffix for name in BASELINES for suffix in ("", SMOOTH)),
    *SUPERVISED_BASELINES,
)
_SMOOTHED_NAMES = {
    "knn": "kNN distance",
    "iforest": "Isolation Forest",
    "lof": "LOF",
    "pca_error": "PCA error",
}
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
    **{f"{b}{SMOOTH}": f"{n} + smooth" for b, n in _SMOOTHED_NAMES.items()},
    "logistic": "logistic regression (PCA) + radius smooth (issue 15)",
    "logistic_raw": "logistic regression (PCA), not smoothed",
    "logistic_thin": "logistic regression (PCA) + radius smooth, depth-thinned",
    "logistic_xs": "logistic regression (PCA) + radius smooth + expression-neighbour smooth",
}
HARNESS = {"train.progress_bar": False}
"""The only change to the defaults in every run: no progress bar in logs (results unaffected)."""
QUICK = {
    "preprocess.n_top_genes": 500,
    "expression.hidden_dim": 64,
    "train.warmup_epochs": 2,
    "train.max_epochs": 5,
    "mi.steps": 50,
}
"""Smoke-test preset (``--quick``): checks the pipeline end to end in seconds; not a result."""
NORMAL_KEY = "pathology"
SUPERVISED_FIT = {"label_key": GROUP_KEY, "positive": ["anomalous"], "ignore": ["excluded"]}
"""The supervised protocol's training labels: her2st tumour labels anomalous, undetermined and
unlabelled spots left out, the four normal labels normal (:mod:`~omib_st.benchmarks.her2st.data`)."""


def make_config(
    method: str, *, seed: int = 0, quick: bool = False, overrides: dict[str, Any] | None = None
) -> DetectorConfig:
    """The detector configuration of a run: defaults, (quick), overrides, the variant, the seed.

    Baselines take their genes, normalisation, graph, held-out split and threshold quantile from
    this configuration too.
    """
    changes = {
        **HARNESS,
        **(QUICK if quick else {}),
        **(overrides or {}),
        **OMIB_VARIANTS.get(method, {}),
        "train.seed": seed,
    }
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
    ``_smooth`` variant comes from the same scores; ``logistic_raw`` and ``logistic_thin`` from
    ``logistic``'s unit)."""
    checked = check_methods(methods, protocol)
    out = [m if m in OMIB_VARIANTS else m.removesuffix(SMOOTH) for m in checked]
    return list(dict.fromkeys("logistic" if m in SUPERVISED_BASELINES else m for m in out))

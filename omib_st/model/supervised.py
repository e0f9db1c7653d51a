"""Supervised mode of the tissue detector: annotated sections train OMIB's classification task.

When a lab has pathologist annotations, :meth:`OmibDetector.fit(..., label_key=COL,
positive=[...]) <omib_st.model.OmibDetector.fit>` trains the OMIB core on the task its theory is
derived for (the paper's method without one-class adaptations):

- classes: spots whose ``obs[COL]`` is in ``positive`` are class 1 (anomalous); spots in
  ``ignore`` and spots with a missing label are left out of training (they stay in their
  section's graph); every other label is class 0 (normal);
- task: :class:`~omib_st.module.Classification` with two classes on the same encoders (GNN on
  expression, one layer under ``expression.n_layers: auto``; CNN on H&E when there is an image)
  and the same gene selection, depth thinning, expression projection and validation split as
  the one-class path;
- class imbalance: **class-weighted cross-entropy**, each class weighted by
  ``n_spots / (2 × n_spots_of_class)`` over the training spots (the "balanced" weights of
  scikit-learn), in the fused head's loss and in every TRB head's loss; batches are drawn
  uniformly (no resampling);
- ensemble: ``supervised.members`` modules are trained alike on the same spots, module k from
  the seed ``train.seed + k`` (a deep ensemble);
- selection: with ``supervised.keep_best`` each module keeps the weights of its main-stage epoch
  with the lowest validation task loss on the held-out labelled spots;
- score: the fused head's probability of the positive class, softmax(dDec(ξ))₁ with ζ_m = μ_m,
  averaged over the ensemble in log-odds, then smoothed over the spatial graph in log-odds with
  the one-class path's ``scoring.smoothing`` (:func:`~omib_st.scoring.smooth_probability`) and
  then over the section's expression neighbours (``scoring.expression_smoothing``);
  label: score > the ``scoring.supervised_threshold`` rule's cut (default: the lowest multi-Otsu
  cut of the section's own log-odds; ``decision``: :data:`THRESHOLD`, 0.5, the decision of the
  class-weighted classifier).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.model.inference import predict

ONE_CLASS, SUPERVISED = "one_class", "supervised"
"""The two protocols (``uns["omib"]["mode"]``, ``model.json``'s ``mode``)."""
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1
"""Per-spot training class codes."""
THRESHOLD = 0.5
"""Under ``scoring.supervised_threshold: decision``, a spot is labelled anomalous when its
positive-class probability exceeds this."""
MAX_LOG_ODDS = float(np.log(1e6))
"""Each module's log-odds are clipped to ± this before the ensemble mean (p within 1e-6 of 0
or 1, as the smoothing clips), so one saturated module cannot outvote the others."""


def spot_classes(
    adatas: Sequence[AnnData],
    key: str,
    positive: Sequence[Any] | None,
    ignore: Sequence[Any] | None = None,
) -> list[np.ndarray]:
    """Per section, each spot's class: :data:`POSITIVE`, :data:`NEGATIVE` or :data:`IGNORED`.

    Raises :class:`~omib_st.errors.OmibError` (one line) when ``key`` is missing from a section,
    no positive value is given, a positive value matches no spot, a value is both positive and
    ignored, or the training spots hold only one class.
    """
    if not positive:
        raise OmibError(
            f"no positive values given for obs['{key}']",
            "pass --positive (positive=[...]): the labels of anomalous spots",
        )
    positive = [str(v) for v in positive]
    ignore = [str(v) for v in (ignore or [])]
    both = sorted(set(positive) & set(ignore))
    if both:
        raise OmibError(
            f"value(s) {both} are both positive and ignored",
            "give each label to --positive or --ignore, not both",
        )
    out, found = [], set()
    for i, adata in enumerate(adatas):
        if key not in adata.obs:
            columns = ", ".join(map(str, adata.obs.columns[:8])) or "none"
            where = f" of reference {i + 1}" if len(adatas) > 1 else ""
            raise OmibError(
                f'obs["{key}"] not found{where} (columns: {columns})',
                "give an existing column as --label-key (label_key)",
            )
        column = adata.obs[key]
        missing = column.isna().to_numpy()
        values = column.astype(str).to_numpy()
        found |= set(values[~missing])
        classes = np.where(np.isin(values, positive), POSITIVE, NEGATIVE)
        classes[np.isin(values, ignore) | missing] = IGNORED
        out.append(classes.astype(np.int64))
    unmatched = [v for v in positive if v not in found]
    if unmatched:
        seen = ", ".join(sorted(found)[:8])
        raise OmibError(
            f"--positive value(s) {unmatched} match no spot of obs['{key}'] (values: {seen})",
            "check --positive against the column's labels",
        )
    counts = class_counts(np.concatenate(out))
    if min(counts) == 0:
        raise OmibError(
            f"the training spots hold only one class ({counts[1]} positive, {counts[0]} "
            f"negative, after --ignore and missing labels)",
            "label spots of both classes (anomalous and normal) in the references",
        )
    return out


def class_counts(classes: np.ndarray) -> tuple[int, int]:
    """(negative, positive) spots among ``classes`` (ignored ones left out)."""
    return int((classes == NEGATIVE).sum()), int((classes == POSITIVE).sum())


def class_weights(classes: np.ndarray) -> torch.Tensor:
    """Balanced cross-entropy weights ``n / (2 n_c)`` of the training spots' two classes."""
    counts = np.array(class_counts(classes), dtype=np.float64)
    return torch.tensor(counts.sum() / (2 * counts), dtype=torch.float32)


def positive_probability(detector: Any, dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """The positive-class probability of every item of ``dataset``: the fused head's, averaged
    over the ensemble in log-odds; and the first module's ξ (each module has its own ξ space)."""

    def read(output, batch):
        logits = output.prediction.float()
        return {"log_odds": logits[:, POSITIVE] - logits[:, NEGATIVE], "xi": output.xi}

    log_odds, xi = [], None
    for module in detector.members:
        out = predict(
            module,
            dataset,
            partial(detector._loader, shuffle=False),
            detector._device(),
            detector.config.train.precision,
            read,
        )
        log_odds.append(np.clip(out["log_odds"].astype(np.float64), -MAX_LOG_ODDS, MAX_LOG_ODDS))
        xi = out["xi"] if xi is None else xi
    return 1 / (1 + np.exp(-np.mean(log_odds, axis=0))), xi

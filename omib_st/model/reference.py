"""Which reference spots a fit may use, and their split into training and held-out spots.

The held-out rule (:func:`split_reference`) is shared with the classical baselines of the her2st
benchmark, so that every method is calibrated on the same held-out normal spots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.model.supervised import IGNORED

MIN_TRAIN_SPOTS = 4
"""Fewest training spots: the β estimate (MINE) needs two to train on and two held out."""


def normal_mask(adata: AnnData, key: str | None, values: Sequence[Any] | None) -> np.ndarray:
    """The spots of ``adata`` whose ``obs[key]`` is one of ``values`` (every spot without
    ``key``); refuses a missing column, no values, or values that match no spot."""
    if key is None:
        return np.ones(adata.n_obs, dtype=bool)
    if key not in adata.obs:
        columns = ", ".join(map(str, adata.obs.columns[:8]))
        raise OmibError(
            f'obs["{key}"] not found (columns: {columns})',
            "give an existing column as --normal-key",
        )
    if not values:
        raise OmibError(f"no normal values given for obs['{key}']", "pass --normal-values")
    mask = adata.obs[key].astype(str).isin([str(v) for v in values]).to_numpy()
    if not mask.any():
        found = ", ".join(map(str, adata.obs[key].astype(str).unique()[:8]))
        raise OmibError(
            f"no spot has obs['{key}'] in {list(values)} (values: {found})", "check --normal-values"
        )
    return mask


def subsample(masks: list[np.ndarray], max_spots: int, seed: int) -> list[np.ndarray]:
    """The masks restricted to at most ``max_spots`` of their spots, drawn at random (seeded)."""
    chosen = np.flatnonzero(np.concatenate(masks))
    if len(chosen) <= max_spots:
        return masks
    keep = np.zeros(sum(len(m) for m in masks), dtype=bool)
    keep[np.random.default_rng([seed, max_spots]).choice(chosen, max_spots, replace=False)] = True
    return np.split(keep, np.cumsum([len(m) for m in masks])[:-1])


def reference_masks(
    references: Sequence[AnnData],
    classes: Sequence[np.ndarray] | None,
    normal_key: str | None,
    normal_values: Sequence[Any] | None,
    *,
    max_spots: int | None,
    seed: int,
) -> list[np.ndarray]:
    """Per reference section, the spots a fit trains and calibrates on: the normal spots
    (one-class) or the labelled ones (supervised, ``classes``), at most ``max_spots`` in all."""
    if classes is not None:
        masks = [k != IGNORED for k in classes]
    else:
        masks = [normal_mask(r, normal_key, normal_values) for r in references]
    if max_spots is not None:
        masks = subsample(masks, max_spots, seed)
    return masks


def split_reference(n_spots: int, seed: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out positions (sorted) among ``n_spots`` reference spots: a seeded
    permutation whose first ``round(val_fraction × n_spots)`` (at least one) are held out; none
    are held out when ``val_fraction`` is 0."""
    shuffled = np.random.default_rng(seed).permutation(n_spots)
    n_val = max(1, int(round(val_fraction * n_spots))) if val_fraction else 0
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def split_spots(
    masks: Sequence[np.ndarray], seed: int, val_fraction: float, what: str = "normal"
) -> tuple[np.ndarray, np.ndarray]:
    """The training and held-out spots of ``masks`` (global indices over the concatenated
    sections) by :func:`split_reference`; refuses fewer than :data:`MIN_TRAIN_SPOTS` to train on."""
    spots = np.flatnonzero(np.concatenate(masks))
    train, held_out = split_reference(len(spots), seed, val_fraction)
    if len(train) < MIN_TRAIN_SPOTS:
        raise OmibError(
            f"only {len(spots)} {what} reference spots ({len(train)} left for training after "
            f"validation; at least {MIN_TRAIN_SPOTS} needed)",
            "give more reference spots",
        )
    return spots[train], spots[held_out]

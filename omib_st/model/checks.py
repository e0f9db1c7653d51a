"""Checks of a model folder: its text files before loading, its numbers after.

:func:`check_model_text` reads ``model.json`` and ``config.yaml`` with bounded size, depth and
aliases (one-line errors for binary, deeply nested or hostile content);
:func:`check_finite_model` refuses a loaded model whose parameters or score statistics are not
finite or have the wrong shape, so that it can never produce NaN scores.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import numpy as np

from omib_st.errors import OmibError, short, short_name

MAX_META_BYTES = 64 << 20
"""Largest model.json read (genes and statistics; a 30,000-gene model is about 1 MB)."""
MAX_CONFIG_BYTES = 1 << 20
REFIT = "refit the model with 'omib-st fit'"


def check_model_text(path: str | Path) -> None:
    """Parse ``model.json`` and ``config.yaml`` of the folder ``path`` safely (bounded size,
    nesting and aliases, UTF-8); what is missing is left to the loader's own message."""
    from omib_st.io.safety import load_json, load_yaml, read_text

    path = Path(path)
    meta, config = path / "model.json", path / "config.yaml"
    if meta.is_file():
        load_json(meta, "model description", REFIT, max_bytes=MAX_META_BYTES)
    if config.is_file():
        text = read_text(config, "model configuration", REFIT, max_bytes=MAX_CONFIG_BYTES)
        load_yaml(text, config, REFIT, adjective="plain")


def _stats_length() -> int:
    from omib_st.scoring.standardize import Stats

    return len(typing.get_args(Stats)) or 3


def _non_finite(values: Any) -> int:
    array = np.asarray(values)
    if array.dtype.kind not in "uifb":
        return -1
    return int(array.size - np.isfinite(array).sum()) if array.dtype.kind == "f" else 0


def _arrays(holder: Any) -> list[tuple[str, Any]]:
    """The named arrays of a mapping or an object's attributes (a saved projection, …)."""
    if holder is None:
        return []
    if isinstance(holder, dict):
        items = holder.items()
    elif dataclasses.is_dataclass(holder):
        items = ((f.name, getattr(holder, f.name)) for f in dataclasses.fields(holder))
    else:
        items = getattr(holder, "__dict__", {}).items()
    return [(name, value) for name, value in items if isinstance(value, np.ndarray)]


def _problems(detector: Any) -> list[tuple[str, str]]:
    """(file, problem) pairs of a loaded detector; empty when it can score."""
    import torch

    problems = []
    for module in getattr(detector, "members", []):
        for name, tensor in module.state_dict().items():
            if torch.is_tensor(tensor) and tensor.is_floating_point():
                bad = int((~torch.isfinite(tensor)).sum())
                if bad:
                    problems.append(("weights.pt", f"{bad} non-finite value(s) in {name}"))
                    break
    for attr in ("projection", "calibration", "reference_codes"):
        for name, values in _arrays(getattr(detector, attr, None)):
            if _non_finite(values):
                problems.append(("weights.pt", f"{attr} {short(name)} holds non-finite values"))
                break
    stats = getattr(detector, "reference_stats", None)
    n = _stats_length()
    if stats is not None and not stats and getattr(detector, "mode", "one_class") == "one_class":
        problems.append(("model.json", "no reference statistics"))  # supervised models have none
    for name, values in (stats or {}).items():
        values = tuple(values)
        where = f"reference_stats[{short(name)}]"
        if len(values) != n:
            problems.append(("model.json", f"{where} has {len(values)} values; expected {n}"))
        elif not np.all(np.isfinite(values)) or values[-1] <= 0:
            problems.append(("model.json", f"{where} = {short(values)} is not finite and positive"))
    threshold = getattr(detector, "threshold", 0.0)
    if not np.isfinite(threshold):
        problems.append(("model.json", f"the threshold is {threshold}"))
    thin_to = getattr(detector, "thin_to", None)
    if thin_to is not None and not (np.isfinite(thin_to) and thin_to > 0):
        problems.append(("model.json", f"thin_to = {thin_to} is not a positive number"))
    genes = list(getattr(detector, "genes", []) or [])
    if len(set(genes)) != len(genes):
        problems.append(("model.json", "the gene list has duplicates"))
    training = getattr(detector, "training", {})
    for key in ("bound", "r"):
        if not isinstance(training.get(key, {}), dict):
            problems.append(("model.json", f"training[{key!r}] is not a mapping"))
    return problems


def check_finite_model(detector: Any, path: str | Path) -> None:
    """Raise :class:`~omib_st.errors.OmibError` when the loaded model ``detector`` (from the
    folder ``path``) holds non-finite parameters or statistics, or statistics of the wrong
    shape: such a model would score every spot NaN."""
    problems = _problems(detector)
    if problems:
        file, problem = problems[0]
        raise OmibError(
            f"{short_name(Path(path) / file, 200)} is not a usable model: {problem}", REFIT
        )

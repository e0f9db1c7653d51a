"""Checks of the types in ``uns["spatial"]``: mappings, numeric images, numbers, paths."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from anndata import AnnData

from omib_st.errors import short, short_name
from omib_st.io.validate.problem import problem, type_name

_LAYOUT = (
    'store uns["spatial"] in the Visium layout ({library: {"images": {...}, '
    '"scalefactors": {...}, "metadata": {...}}}), as squidpy.read.visium does'
)
_SLOTS = ("images", "scalefactors", "metadata")


def is_number(value) -> bool:
    """A real number (not a bool, not text), or a 0-d numeric array."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "uif"
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_file(path) -> bool:
    """``Path(path).is_file()``, False (not an error) for values no file name can be."""
    try:
        return isinstance(path, str | os.PathLike) and Path(path).is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def layout_problems(adata: AnnData) -> list[str]:
    """Slots of ``uns["spatial"]`` of the wrong type: libraries, ``images``, ``scalefactors``
    and ``metadata`` that are not mappings, images that are not numeric arrays, scale factors
    that are not numbers, a ``source_image_path`` that is not a path. Empty when there is no
    ``uns["spatial"]``."""
    spatial = adata.uns.get("spatial")
    if spatial is None:
        return []
    if not isinstance(spatial, Mapping):
        return [
            problem(f'uns["spatial"] is {type_name(spatial)}, not a mapping of libraries', _LAYOUT)
        ]
    problems = []
    for lib, entry in spatial.items():
        problems += _library_problems(f'uns["spatial"]["{short_name(lib, 40)}"]', entry)
    return problems


def _library_problems(where: str, entry) -> list[str]:
    if not isinstance(entry, Mapping):
        return [problem(f"{where} is {type_name(entry)}, not a mapping", _LAYOUT)]
    problems = []
    slots = {slot: entry.get(slot) for slot in _SLOTS}
    for slot, value in slots.items():
        if value is not None and not isinstance(value, Mapping):
            problems.append(
                problem(f'{where}["{slot}"] is {type_name(value)}, not a mapping', _LAYOUT)
            )
            slots[slot] = None
    for res, image in (slots["images"] or {}).items():
        if not (isinstance(image, np.ndarray) and image.dtype.kind in "uif"):
            what = f'{where}["images"]["{short_name(res, 40)}"] is {type_name(image)}, not an image'
            problems.append(problem(what, "store a uint8 (or 0–1 float) H×W×3 array"))
    for key, value in (slots["scalefactors"] or {}).items():
        if not is_number(value):
            what = (
                f'{where}["scalefactors"]["{short_name(key, 40)}"] = {short(value)} is not a number'
            )
            problems.append(
                problem(what, "fix the scale factors (numbers from scalefactors_json.json)")
            )
    source = (slots["metadata"] or {}).get("source_image_path")
    if source is not None and not isinstance(source, str | os.PathLike):
        what = f'{where}["metadata"]["source_image_path"] is {type_name(source)}, not a path'
        problems.append(problem(what, "store the path of the full-resolution image as text"))
    return problems

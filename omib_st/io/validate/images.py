"""Checks of a library's images and scale factors, and of the spots falling on each image."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from anndata import AnnData

from omib_st.errors import OmibError, short, short_name
from omib_st.io.library import get_library_id
from omib_st.io.validate.layout import is_file, is_number, layout_problems
from omib_st.io.validate.problem import problem


def _where(lib: str) -> str:
    return f'uns["spatial"]["{short_name(lib, 40)}"]'


def image_problems(
    adata: AnnData, library_id: str | None, coords: np.ndarray | None
) -> Iterator[str]:
    """Problems of ``uns["spatial"][library_id]`` for cutting patches: slot types, images, scale
    factors, and, given the checked ``coords``, spots that fall outside an image."""
    layout = layout_problems(adata)
    if layout:
        yield from layout
        return
    try:
        lib = get_library_id(adata, library_id)
    except OmibError as err:
        yield str(err)
        return
    entry = adata.uns["spatial"][lib]
    images = dict(entry.get("images") or {})
    scalefactors = dict(entry.get("scalefactors") or {})
    source = (entry.get("metadata") or {}).get("source_image_path")
    if not images and not is_file(source):
        extra = f" and its source image {short_name(source)} does not exist" if source else ""
        yield problem(
            f'{_where(lib)}["images"] is missing or empty{extra}',
            "read the sample with its hires/lowres images or give a full-resolution image file",
        )
    diameter, problems = _spot_diameter(lib, scalefactors)
    yield from problems
    for res, image in images.items():
        bad = _resolution_problem(lib, res, image, scalefactors, diameter)
        if bad:
            yield bad
        elif coords is not None:
            yield from _outside_problems(lib, res, image, coords, scalefactors, diameter)


def _scalef_problem(lib: str, key: str, value, *, at_most_one: bool) -> str | None:
    where = f'{_where(lib)}["scalefactors"]["{key}"]'
    if not is_number(value):
        return problem(f"{where} = {short(value)} is not a number", "fix the scale factors")
    value = float(value)
    if not np.isfinite(value) or value <= 0 or (at_most_one and value > 1):
        limit = "in (0, 1]" if at_most_one else "> 0"
        return problem(f"{where} = {value:g} is absurd (must be {limit})", "fix the scale factors")
    return None


def _spot_diameter(lib: str, scalefactors: dict) -> tuple[object | None, list[str]]:
    """``spot_diameter_fullres`` when it is a positive number (else None), and its problems."""
    diameter = scalefactors.get("spot_diameter_fullres")
    if diameter is None:
        return None, [
            problem(
                f'{_where(lib)}["scalefactors"]["spot_diameter_fullres"] is missing',
                "add it (from Space Ranger's scalefactors_json.json) so patches can be sized",
            )
        ]
    bad = _scalef_problem(lib, "spot_diameter_fullres", diameter, at_most_one=False)
    return (None, [bad]) if bad else (diameter, [])


def _resolution_problem(lib: str, res, image, scalefactors: dict, diameter) -> str | None:
    """The first problem of image ``res``: its shape, its scale factor, or a spot wider than it."""
    where = _where(lib)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        return problem(
            f'{where}["images"]["{res}"] has shape {image.shape}', "store an H×W×3 RGB image"
        )
    if min(image.shape[:2]) == 0:
        return problem(f'{where}["images"]["{res}"] is empty ({image.shape})', "store the image")
    key = f"tissue_{res}_scalef"
    if key not in scalefactors:
        return problem(
            f'{where}["scalefactors"]["{key}"] is missing', f"add the {res} scale factor"
        )
    bad = _scalef_problem(lib, key, scalefactors[key], at_most_one=True)
    if bad:
        return bad
    spot_px = float(diameter) * float(scalefactors[key]) if diameter is not None else 0.0
    if spot_px > max(image.shape[:2]):
        return problem(
            f'{where}["scalefactors"]["spot_diameter_fullres"] = {float(diameter):g} is absurd: '
            f"a spot would span more than the whole {res} image "
            f"({image.shape[1]}×{image.shape[0]} px)",
            "fix the scale factors",
        )
    return None


def _n_outside(px: np.ndarray, height: int, width: int, tol: float) -> int:
    out = (px[:, 0] < -tol) | (px[:, 0] > width - 1 + tol)
    out |= (px[:, 1] < -tol) | (px[:, 1] > height - 1 + tol)
    return int(out.sum())


def _outside_problems(lib, res, image, coords, scalefactors, diameter) -> Iterator[str]:
    """Spots beyond half a spot outside image ``res``, hinting when x and y look swapped."""
    scalef = float(scalefactors[f"tissue_{res}_scalef"])
    tol = 0.5 * float(diameter) * scalef if diameter is not None else 1.0
    height, width = image.shape[:2]
    n_out = _n_outside(coords * scalef, height, width, tol)
    if n_out:
        swapped = _n_outside(coords[:, ::-1] * scalef, height, width, tol) == 0
        hint = "; x and y look swapped" if swapped else ""
        yield problem(
            f'{n_out} of {len(coords)} spots fall outside uns["spatial"]["{lib}"]["images"]["{res}"] '
            f"({width}×{height} px) at obsm['spatial'] × tissue_{res}_scalef{hint}",
            'obsm["spatial"] must hold full-resolution pixels (x = column, y = row) and the scale '
            "factor must map them onto that image",
        )


def plot_problem(adata: AnnData, library_id: str | None = None) -> str | None:
    """Why the scores cannot be drawn over an H&E image of ``adata`` (``--plot``), or None."""
    problems = layout_problems(adata)
    if problems:
        return problems[0]
    try:
        lib = get_library_id(adata, library_id)
    except OmibError as err:
        return str(err)
    images = adata.uns["spatial"][lib].get("images") or {}
    if not any(
        np.ndim(image) in (2, 3) and min(np.shape(image)[:2]) > 0 for image in images.values()
    ):
        return problem(
            f"--plot draws the scores over the H&E image, but {_where(lib)}"
            " has no hires or lowres image",
            "leave --plot out, or add the sample's image",
        )
    return None

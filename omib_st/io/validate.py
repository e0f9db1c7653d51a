"""Up-front checks of the AnnData contract, one clear line per problem."""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from anndata import AnnData
from scipy import sparse

from omib_st.errors import OmibError, short, short_name
from omib_st.io.library import get_library_id

_CHUNK = 1 << 22  # values scanned at a time, so checks on huge matrices stay memory-bounded
_LOG_MAX = 20.0  # non-integer data whose maximum is below this looks log-transformed
MAX_SPOT_COUNTS = float(2**24)
"""Most UMIs one spot may hold (~16.8 million, 100× the deepest Visium spots; beyond it float32
counts are no longer exact and normalisation hides the spot's depth)."""
MAX_MEAN_DEGREE = 12.0
"""Mean neighbours per spot within 1.2 lattice spacings (the median nearest-neighbour distance)
beyond which the coordinates are degenerate: twice a hexagonal lattice's 6 (a square lattice
has 4, randomly packed beads about 1)."""


def _msg(problem: str, fix: str | None = None) -> str:
    return str(OmibError(problem, fix))


def _examples(names: np.ndarray | list, n: int = 3) -> str:
    return ", ".join(repr(short_name(s, 40)) for s in list(names[:n]))


def _names_problems(adata: AnnData) -> Iterator[str]:
    if adata.n_obs == 0 or adata.n_vars == 0:
        yield _msg(
            f"the AnnData is empty ({adata.n_obs} spots × {adata.n_vars} genes)",
            "check the input file and any filtering applied before",
        )
    for axis, what, fix in (
        ("obs", "spot", "adata.obs_names_make_unique()"),
        ("var", "gene", "adata.var_names_make_unique()"),
    ):
        names = getattr(adata, f"{axis}_names")
        dup = names[names.duplicated()].unique()
        if len(dup):
            yield _msg(
                f"{axis}_names has {len(dup)} duplicated {what} name(s) (e.g. {_examples(dup)})",
                f"make them unique, e.g. with {fix}",
            )


def _matrix_values(matrix) -> np.ndarray:
    if sparse.issparse(matrix):
        return matrix.data
    return np.asarray(matrix).reshape(-1)


def _expression_problems(adata: AnnData, layer: str | None, expect_counts: bool) -> Iterator[str]:
    slot = "X" if layer is None else f'layers["{layer}"]'
    if layer is not None and layer not in adata.layers:
        found = ", ".join(adata.layers) or "none"
        yield _msg(f"{slot} not found (layers: {found})", "name an existing layer with --layer")
        return
    matrix = adata.X if layer is None else adata.layers[layer]
    if matrix is None:
        yield _msg(f"{slot} is empty (None)", "store the raw counts in X or name a layer")
        return
    values = _matrix_values(matrix)
    if values.size == 0:
        if adata.n_obs and adata.n_vars:
            yield _msg(f"{slot} is all zero", "check that the counts were read correctly")
        return
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(
        values.dtype, np.complexfloating
    ):
        yield _msg(f"{slot} has non-numeric dtype {values.dtype}", "store numeric counts")
        return
    n_bad, lo, hi, non_integer, any_nonzero = 0, np.inf, -np.inf, False, False
    is_float = np.issubdtype(values.dtype, np.floating)
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        if is_float:
            finite = np.isfinite(chunk)
            n_bad += int(chunk.size - finite.sum())
            chunk = chunk[finite]
            non_integer = non_integer or bool(np.any(chunk != np.round(chunk)))
        if chunk.size:
            lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
            any_nonzero = any_nonzero or bool(np.any(chunk != 0))
    if n_bad:
        yield _msg(
            f"{slot} has {n_bad} non-finite value(s) (NaN or inf)",
            "pass raw counts without missing values",
        )
    if lo < 0:
        yield _msg(
            f"{slot} has negative values (min {lo:.3g})",
            "pass raw counts, not scaled or centred data",
        )
    if not any_nonzero and not n_bad:
        yield _msg(f"{slot} is all zero", "check that the counts were read correctly")
    if expect_counts and non_integer and lo >= 0:
        kind = "log-normalised" if hi <= _LOG_MAX else "normalised"
        yield _msg(
            f"{slot} looks {kind} (non-integer values, max {hi:.3g})",
            "pass raw counts in X or name a layer with --layer",
        )
    elif expect_counts and not n_bad and lo >= 0 and hi > 0:
        yield from _depth_problems(adata, matrix, slot)


def _depth_problems(adata: AnnData, matrix, slot: str) -> Iterator[str]:
    """Spots holding more UMIs than any spot of a spatial assay can (e.g. 10⁹ counts)."""
    totals = np.asarray(matrix.sum(axis=1, dtype=np.float64)).ravel()
    absurd = ~(totals <= MAX_SPOT_COUNTS)
    if absurd.any():
        worst = int(np.argmax(np.where(absurd, totals, -np.inf)))
        yield _msg(
            f"{slot} has {int(absurd.sum())} spot(s) with absurd counts (e.g. "
            f"{_examples(adata.obs_names[[worst]])}: {totals[worst]:.3g} UMIs; at most "
            f"{MAX_SPOT_COUNTS:.3g} per spot are plausible)",
            "pass raw UMI counts; check or drop those spots",
        )


def _spatial_problems(adata: AnnData, geometry: bool = False) -> Iterator[str]:
    fix = 'store full-resolution pixel coordinates (x = column, y = row) in obsm["spatial"]'
    if "spatial" not in adata.obsm:
        yield _msg('obsm["spatial"] is missing', fix + ", as squidpy.read.visium does")
        return
    try:
        coords = np.asarray(adata.obsm["spatial"])
    except (TypeError, ValueError):
        coords = np.asarray([], dtype=object)
    if coords.ndim != 2 or coords.shape[1] != 2:
        yield _msg(f'obsm["spatial"] has shape {coords.shape}; expected ({adata.n_obs}, 2)', fix)
        return
    if coords.dtype.kind not in "uif":
        yield _msg(f'obsm["spatial"] has non-numeric dtype {coords.dtype}', fix)
        return
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        yield _msg(
            f'obsm["spatial"] has NaN or infinite coordinates for {int(bad.sum())} spot(s) '
            f"(e.g. {_examples(adata.obs_names[bad])})",
            "drop those spots or fix their coordinates",
        )
    elif geometry and len(coords) > 1:
        yield from _geometry_problems(np.asarray(coords, dtype=np.float64), fix)


def _geometry_problems(coords: np.ndarray, fix: str) -> Iterator[str]:
    """Degenerate spot positions: all at one pixel, or packed so that a lattice-ring graph
    would be far denser than a spot lattice."""
    from scipy.spatial import cKDTree

    if np.ptp(coords, axis=0).max() == 0:
        x, y = coords[0]
        yield _msg(
            f'all {len(coords)} spots of obsm["spatial"] are at the same pixel ({x:g}, {y:g})',
            fix + ", one position per spot",
        )
        return
    tree = cKDTree(coords)
    distances, _ = tree.query(coords, k=2)
    spacing = float(np.median(distances[:, 1]))
    degree = (tree.count_neighbors(tree, 1.2 * spacing) - len(coords)) / len(coords)
    if spacing == 0 or degree > MAX_MEAN_DEGREE:
        what = "more than half of the spots share their position with another spot"
        if spacing > 0:
            what = (f"spots would have {degree:.0f} neighbours on average within 1.2 lattice "
                    f"spacings ({spacing:.3g} px; a spot lattice has 4 to 6)")  # fmt: skip
        yield _msg(f'obsm["spatial"] is degenerate: {what}', fix + ", one position per spot")


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


def _type_name(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return f"a {type(value).__name__}"


def layout_problems(adata: AnnData) -> list[str]:
    """Slots of ``uns["spatial"]`` of the wrong type: libraries, ``images``, ``scalefactors``
    and ``metadata`` that are not mappings, images that are not numeric arrays, scale factors
    that are not numbers, a ``source_image_path`` that is not a path. Empty when there is no
    ``uns["spatial"]``."""
    spatial = adata.uns.get("spatial")
    layout = (
        'store uns["spatial"] in the Visium layout ({library: {"images": {...}, '
        '"scalefactors": {...}, "metadata": {...}}}), as squidpy.read.visium does'
    )
    if spatial is None:
        return []
    if not isinstance(spatial, Mapping):
        return [
            _msg(f'uns["spatial"] is {_type_name(spatial)}, not a mapping of libraries', layout)
        ]
    problems = []
    for lib, entry in spatial.items():
        where = f'uns["spatial"]["{short_name(lib, 40)}"]'
        if not isinstance(entry, Mapping):
            problems.append(_msg(f"{where} is {_type_name(entry)}, not a mapping", layout))
            continue
        slots = {slot: entry.get(slot) for slot in ("images", "scalefactors", "metadata")}
        for slot, value in slots.items():
            if value is not None and not isinstance(value, Mapping):
                problems.append(
                    _msg(f'{where}["{slot}"] is {_type_name(value)}, not a mapping', layout)
                )
                slots[slot] = None
        for res, image in (slots["images"] or {}).items():
            if not (isinstance(image, np.ndarray) and image.dtype.kind in "uif"):
                problems.append(_msg(
                    f'{where}["images"]["{short_name(res, 40)}"] is {_type_name(image)}, '
                    "not an image", "store a uint8 (or 0–1 float) H×W×3 array",
                ))  # fmt: skip
        for key, value in (slots["scalefactors"] or {}).items():
            if not is_number(value):
                problems.append(_msg(
                    f'{where}["scalefactors"]["{short_name(key, 40)}"] = {short(value)} is not '
                    "a number", "fix the scale factors (numbers from scalefactors_json.json)",
                ))  # fmt: skip
        source = (slots["metadata"] or {}).get("source_image_path")
        if source is not None and not isinstance(source, str | os.PathLike):
            problems.append(_msg(
                f'{where}["metadata"]["source_image_path"] is {_type_name(source)}, not a path',
                "store the path of the full-resolution image as text",
            ))  # fmt: skip
    return problems


def _scalef_problem(lib: str, key: str, value, *, at_most_one: bool) -> str | None:
    where = f'uns["spatial"]["{short_name(lib, 40)}"]["scalefactors"]["{key}"]'
    if not is_number(value):
        return _msg(f"{where} = {short(value)} is not a number", "fix the scale factors")
    value = float(value)
    if not np.isfinite(value) or value <= 0 or (at_most_one and value > 1):
        limit = "in (0, 1]" if at_most_one else "> 0"
        return _msg(f"{where} = {value:g} is absurd (must be {limit})", "fix the scale factors")
    return None


def _image_problems(adata: AnnData, library_id: str | None, coords: np.ndarray | None):
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
    where = f'uns["spatial"]["{short_name(lib, 40)}"]'
    images = dict(entry.get("images") or {})
    scalefactors = dict(entry.get("scalefactors") or {})
    source = (entry.get("metadata") or {}).get("source_image_path")
    if not images and not is_file(source):
        extra = f" and its source image {short_name(source)} does not exist" if source else ""
        yield _msg(
            f'{where}["images"] is missing or empty{extra}',
            "read the sample with its hires/lowres images or give a full-resolution image file",
        )
    diameter = scalefactors.get("spot_diameter_fullres")
    if diameter is None:
        yield _msg(
            f'{where}["scalefactors"]["spot_diameter_fullres"] is missing',
            "add it (from Space Ranger's scalefactors_json.json) so patches can be sized",
        )
    else:
        problem = _scalef_problem(lib, "spot_diameter_fullres", diameter, at_most_one=False)
        if problem:
            yield problem
            diameter = None
    for res, image in images.items():
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            yield _msg(
                f'{where}["images"]["{res}"] has shape {image.shape}',
                "store an H×W×3 RGB image",
            )
            continue
        if min(image.shape[:2]) == 0:
            yield _msg(f'{where}["images"]["{res}"] is empty ({image.shape})', "store the image")
            continue
        key = f"tissue_{res}_scalef"
        if key not in scalefactors:
            yield _msg(
                f'{where}["scalefactors"]["{key}"] is missing', f"add the {res} scale factor"
            )
            continue
        problem = _scalef_problem(lib, key, scalefactors[key], at_most_one=True)
        if problem:
            yield problem
            continue
        spot_px = float(diameter) * float(scalefactors[key]) if diameter is not None else 0.0
        if spot_px > max(image.shape[:2]):
            yield _msg(
                f'{where}["scalefactors"]["spot_diameter_fullres"] = {float(diameter):g} is absurd: '
                f"a spot would span more than the whole {res} image "
                f"({image.shape[1]}×{image.shape[0]} px)",
                "fix the scale factors",
            )
            continue
        if coords is not None:
            yield from _outside_problems(adata, lib, res, image, coords, scalefactors, diameter)


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
        return _msg(
            f'--plot draws the scores over the H&E image, but uns["spatial"]["{short_name(lib, 40)}"]'
            " has no hires or lowres image",
            "leave --plot out, or add the sample's image",
        )
    return None


def _n_outside(px: np.ndarray, height: int, width: int, tol: float) -> int:
    out = (px[:, 0] < -tol) | (px[:, 0] > width - 1 + tol)
    out |= (px[:, 1] < -tol) | (px[:, 1] > height - 1 + tol)
    return int(out.sum())


def _outside_problems(adata, lib, res, image, coords, scalefactors, diameter) -> Iterator[str]:
    scalef = float(scalefactors[f"tissue_{res}_scalef"])
    tol = 0.5 * float(diameter) * scalef if diameter is not None else 1.0
    height, width = image.shape[:2]
    n_out = _n_outside(coords * scalef, height, width, tol)
    if n_out:
        swapped = _n_outside(coords[:, ::-1] * scalef, height, width, tol) == 0
        hint = "; x and y look swapped" if swapped else ""
        yield _msg(
            f'{n_out} of {len(coords)} spots fall outside uns["spatial"]["{lib}"]["images"]["{res}"] '
            f"({width}×{height} px) at obsm['spatial'] × tissue_{res}_scalef{hint}",
            'obsm["spatial"] must hold full-resolution pixels (x = column, y = row) and the scale '
            "factor must map them onto that image",
        )


def find_problems(
    adata: AnnData,
    *,
    layer: str | None = None,
    require_image: bool = False,
    library_id: str | None = None,
    expect_counts: bool = True,
    require_spatial: bool = True,
) -> list[str]:
    """List every problem of ``adata`` against the omib-st AnnData contract.

    Parameters
    ----------
    adata
        Annotated data in the scanpy/squidpy Visium layout.
    layer
        Layer holding the counts; ``None`` uses ``X``.
    require_image
        Also check ``uns["spatial"][library_id]``: images, scale factors, and that the spots fall
        on the images.
    library_id
        Library of ``uns["spatial"]``; may be left out when there is only one.
    expect_counts
        Refuse non-integer (normalised or log-transformed) expression values.
    require_spatial
        Check ``obsm["spatial"]``; ``False`` for expression-only uses such as gene selection.

    Returns
    -------
    One line per problem (what, where, how to fix it); empty when ``adata`` is fine.
    """
    problems = list(_names_problems(adata))
    problems += _expression_problems(adata, layer, expect_counts)
    coords = None
    if require_spatial or require_image:
        spatial = coordinate_problems(adata)
        problems += spatial
        if not spatial:
            coords = np.asarray(adata.obsm["spatial"], dtype=np.float64)
    if require_image:
        problems += _image_problems(adata, library_id, coords)
    return problems


def validate(
    adata: AnnData,
    *,
    layer: str | None = None,
    require_image: bool = False,
    library_id: str | None = None,
    expect_counts: bool = True,
    require_spatial: bool = True,
) -> None:
    """Raise :class:`~omib_st.errors.OmibError` for the first problem :func:`find_problems` finds."""
    problems = find_problems(
        adata,
        layer=layer,
        require_image=require_image,
        library_id=library_id,
        expect_counts=expect_counts,
        require_spatial=require_spatial,
    )
    if problems:
        raise OmibError(problems[0])


def coordinate_problems(adata: AnnData) -> list[str]:
    """Problems of ``obsm["spatial"]``: missing, wrong shape or type, NaN, or degenerate
    (every spot at one pixel; positions packed far denser than a spot lattice)."""
    return list(_spatial_problems(adata, geometry=True))


def get_coords(adata: AnnData) -> np.ndarray:
    """Checked ``obsm["spatial"]`` as a float64 ``n_spots × 2`` array (x = column, y = row)."""
    problems = list(_spatial_problems(adata))
    if problems:
        raise OmibError(problems[0])
    return np.asarray(adata.obsm["spatial"], dtype=np.float64)

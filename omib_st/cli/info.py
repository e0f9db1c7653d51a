"""``omib-st info``: what a sample holds and what is wrong with it, before running anything."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from omib_st.errors import OmibError, short_name


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "info",
        help="describe a sample and list its problems",
        description="Print spots, genes, counts or log data, images, scale factors, spot size, "
        "graph degree and every validation problem of a sample (an h5ad file or a Space Ranger "
        "folder). Exits 0 even when problems are found; 2 when the sample cannot be read.",
    )
    parser.add_argument("sample", help="h5ad file or Space Ranger output folder")
    parser.add_argument("--library-id", default=None, help='library of uns["spatial"]')
    parser.add_argument("--layer", default=None, help="layer holding the counts (default X)")
    parser.set_defaults(run=run)


def _expression_kind(matrix) -> str:
    from scipy import sparse

    values = matrix.data if sparse.issparse(matrix) else np.asarray(matrix).ravel()
    values = values[: 1 << 22]
    if values.size == 0:
        return "empty"
    if not np.issubdtype(values.dtype, np.number):
        return f"non-numeric ({values.dtype})"
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "no finite values"
    top = float(finite.max())
    if np.all(finite == np.round(finite)) and finite.min() >= 0:
        return f"raw counts (integers, max {top:.0f})"
    if finite.min() >= 0 and top <= 20:
        return f"log-normalised (non-integer, max {top:.3g})"
    return f"not counts (non-integer, range {float(finite.min()):.3g} to {top:.3g})"


def _image_lines(adata) -> list[str]:
    from omib_st.errors import OmibError
    from omib_st.io import image_size
    from omib_st.io.validate import is_file, is_number, layout_problems

    if layout_problems(adata):
        return ['uns["spatial"] is malformed (see the problems below)']
    lines = []
    for lib, entry in (adata.uns.get("spatial") or {}).items():
        scalefactors = dict(entry.get("scalefactors") or {})
        diameter = scalefactors.get("spot_diameter_fullres")
        spot = f"{float(diameter):.1f} px" if is_number(diameter) else "unknown"
        lines.append(f"library {short_name(lib)}: spot diameter {spot} at full resolution")
        for res, image in (entry.get("images") or {}).items():
            shape = np.shape(image)
            scalef = scalefactors.get(f"tissue_{res}_scalef")
            text = f"  {res}: {shape[1]}×{shape[0]} px" if len(shape) >= 2 else f"  {res}: {shape}"
            if is_number(scalef):
                text += f", tissue_{res}_scalef {float(scalef):.4g}"
                if is_number(diameter):
                    text += f", spot {float(diameter) * float(scalef):.1f} px"
            lines.append(text)
        source = (entry.get("metadata") or {}).get("source_image_path")
        if source:
            if is_file(source):
                try:
                    width, height = image_size(source)
                    lines.append(f"  fullres: {width}×{height} px, {short_name(source)}")
                except OmibError as err:
                    lines.append(f"  fullres: {short_name(source)} (unreadable: {err})")
            else:
                lines.append(f"  fullres: {short_name(source)} (file not found)")
        if not entry.get("images") and not source:
            lines.append("  no image")
    return lines or ['no uns["spatial"] (no image, no scale factors)']


def run(args: argparse.Namespace) -> int:
    from omib_st.config import GraphConfig
    from omib_st.io import find_problems, get_coords, read_sample
    from omib_st.io.validate import coordinate_problems
    from omib_st.pp import spatial_graph

    path = Path(args.sample)
    adata = read_sample(path)
    print(f"sample: {path}")
    print(f"spots: {adata.n_obs}, genes: {adata.n_vars}")
    if args.layer is None or args.layer in adata.layers:
        matrix = adata.X if args.layer is None else adata.layers[args.layer]
        slot = "X" if args.layer is None else f'layers["{args.layer}"]'
        print(f"expression ({slot}): {_expression_kind(matrix) if matrix is not None else 'empty'}")
    for line in _image_lines(adata):
        print(line)
    problems = find_problems(
        adata, layer=args.layer, require_image=True, library_id=args.library_id
    )
    config = GraphConfig()
    if coordinate_problems(adata):
        print(f"spatial graph ({config.method}): not built (see the problems below)")
    else:
        try:
            graph = spatial_graph(
                get_coords(adata),
                method=config.method,
                n_neighbors=config.n_neighbors,
                n_rings=config.n_rings,
            )
            print(f"spatial graph ({config.method}): mean degree {graph.nnz / adata.n_obs:.2f}")
        except OmibError as err:
            print(f"spatial graph ({config.method}): not built ({err})")
    if problems:
        print(f"{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print("no problems found")
    return 0

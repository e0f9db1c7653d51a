"""How stain changes move the omib-st score of each section's normal spots.

    python workflows/histology/omib_robustness.py DATA OUT [--method omib_image] [--seed 0]
        [--set image.stain=none ...]

For each of B4, C2–C6 (leave-one-section-out, as ``omib-st benchmark histology``), the detector
is fitted on the other sections' normal spots with the harness's settings, then the target is
scored as it is and again with its H&E changed
(:data:`omib_st.benchmarks.histology.robustness.PERTURBATIONS`): the whole section with
haematoxylin +10 % and eosin −10 %, or 10 % darker; or each spot's own square of the image
(side: the spot spacing, so every spot patch lies inside its square) with its own HED jitter
(σ 0.05, bias 0.005) or brightness change (± 10 %). Every image of the section is changed, the
full-resolution file the patches are cut from included. The shift is the change of the normal
spots' median ``omib_score`` in units of their unperturbed IQR, as in the harness's
``--robustness`` table for the kNN baselines, and the median of each normal spot's own
|change| in the same units (a per-spot jitter moves spots both ways, the median hardly); the
cancer − normal median gap gives the scale, and the share of normal spots above the model's
threshold before and after. Writes
``OUT/omib_robustness.csv`` and prints the summary.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

import omib_st as om
from omib_st.benchmarks.her2st.methods import make_config
from omib_st.benchmarks.histology.data import (
    GROUP_KEY,
    NORMAL_VALUES,
    is_anomalous,
    is_normal,
    load_sections,
)
from omib_st.benchmarks.histology.methods import OMIB_METHODS
from omib_st.benchmarks.histology.robustness import PERTURBATIONS
from omib_st.benchmarks.histology.run import folds
from omib_st.cli.benchmark import add_set_argument, parse_set
from omib_st.io.image import read_image
from omib_st.pp import lattice_spacing

SECTION_WIDE = ("section_hed", "section_darker")
PER_SPOT = ("hed_jitter", "brightness_jitter")
STRIP = 256
"""Image rows transformed at a time (a full-resolution H&E does not fit as float64)."""


def transformed(image: np.ndarray, transform) -> np.ndarray:
    """``transform`` (of uint8 ``[B, 3, H, W]`` batches) applied to an ``[H, W, 3]`` image."""
    out = np.empty_like(image)
    for row in range(0, image.shape[0], STRIP):
        strip = image[None, row : row + STRIP].transpose(0, 3, 1, 2)
        out[row : row + STRIP] = transform(strip)[0].transpose(1, 2, 0)
    return out


def per_spot(image: np.ndarray, centers: np.ndarray, side: float, transform) -> np.ndarray:
    """``transform`` applied to each spot's square of ``image`` (centred on the spot, ``side``
    pixels) on its own, so each spot gets its own draw; the rest of the image is unchanged."""
    out = image.copy()
    half = side / 2
    for x, y in centers:
        x0, y0 = max(int(round(x - half)), 0), max(int(round(y - half)), 0)
        x1, y1 = int(round(x + half)), int(round(y + half))
        tile = out[None, y0:y1, x0:x1].transpose(0, 3, 1, 2)
        if tile.size:
            out[y0:y1, x0:x1] = transform(tile)[0].transpose(1, 2, 0)
    return out


def perturbed(adata, transform, folder: Path, *, spotwise: bool = False):
    """A copy of ``adata`` whose every image has been passed through ``transform`` (with
    ``spotwise``, each spot's square on its own): the arrays in ``uns["spatial"]``, and the
    full-resolution file (which patches are cut from), written losslessly into ``folder``."""
    out = adata.copy()
    coords = np.asarray(adata.obsm["spatial"], dtype=np.float64)
    spacing = lattice_spacing(coords)

    def change(image, scalef):
        if spotwise:
            return per_spot(image, coords * scalef, spacing * scalef, transform)
        return transformed(image, transform)

    for lib, library in out.uns["spatial"].items():
        factors = library.get("scalefactors", {})
        for name, image in library["images"].items():
            library["images"][name] = change(image, factors[f"tissue_{name}_scalef"])
        source = library.get("metadata", {}).get("source_image_path")
        if source:
            path = folder / f"{lib}.png"
            Image.fromarray(change(read_image(source)[0], 1.0)).save(path)
            library["metadata"]["source_image_path"] = str(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("out", type=Path)
    parser.add_argument("--method", default="omib_image", choices=sorted(OMIB_METHODS))
    parser.add_argument("--seed", type=int, default=0)
    add_set_argument(parser)
    args = parser.parse_args()
    sections = load_sections(args.data)
    names = [s for s in sections if s != "A1"]
    config = make_config(args.method, seed=args.seed, overrides=parse_set(args.set))
    rows = []
    for fold in folds(names):
        detector = om.model.OmibDetector(config).fit(
            [sections[s] for s in fold.references],
            normal_key=GROUP_KEY,
            normal_values=list(NORMAL_VALUES),
            **OMIB_METHODS[args.method],
        )
        target = sections[fold.target]
        normal, cancer = is_normal(target), is_anomalous(target)
        scored = om.tl.detect(target, model=detector, copy=True)
        base, threshold = scored.obs["omib_score"].to_numpy(), scored.uns["omib"]["threshold"]
        q1, median, q3 = np.percentile(base[normal], [25, 50, 75])
        for name in (*SECTION_WIDE, *PER_SPOT):
            transform = PERTURBATIONS[name](np.random.default_rng(args.seed))
            with tempfile.TemporaryDirectory() as folder:
                changed = perturbed(target, transform, Path(folder), spotwise=name in PER_SPOT)
                moved = om.tl.detect(changed, model=detector, copy=True)
            shifted = moved.obs["omib_score"].to_numpy()
            rows.append(
                {
                    "target": fold.target,
                    "method": args.method,
                    "perturbation": name,
                    "n_normal": int(normal.sum()),
                    "median_shift_iqr": (np.median(shifted[normal]) - median) / (q3 - q1),
                    "median_change_iqr": np.median(np.abs(shifted - base)[normal]) / (q3 - q1),
                    "gap_iqr": (np.median(base[cancer]) - median) / (q3 - q1),
                    "flagged_normal_before": float(np.mean(base[normal] > threshold)),
                    "flagged_normal_after": float(np.mean(shifted[normal] > threshold)),
                }
            )
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()})
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "omib_robustness.csv", index=False)
    summary = table.groupby("perturbation").agg(
        shift=("median_shift_iqr", "median"),
        worst=("median_shift_iqr", lambda x: x.abs().max()),
        spot_change=("median_change_iqr", "median"),
        gap=("gap_iqr", "median"),
        flagged_before=("flagged_normal_before", "mean"),
        flagged_after=("flagged_normal_after", "mean"),
    )
    print(summary.round(3).to_markdown())


if __name__ == "__main__":
    main()

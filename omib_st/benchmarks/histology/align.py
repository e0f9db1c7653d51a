"""The affine map from a section's spot coordinates to an image of it in an unknown frame.

The her2st web app shows section A1 in a frame of its own (rescaled, shifted, background masked
black). The map is fitted from geometry alone: the spot lattice must lie on the tissue and the
tissue must be covered by the lattice. Labels are never used, so they stay free to check it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from omib_st.benchmarks.reporting import save_figure
from omib_st.errors import OmibError

BLACK = 20
"""Pixels whose brightest channel is at most this are the app's masked background."""
REACH = 0.75
"""A tissue pixel is covered when a spot lies within this many lattice spacings (a square
lattice leaves no point farther than 1/√2 ≈ 0.71 spacings from a node)."""
DOWNSAMPLE = 8
"""The mask is fitted at 1/``DOWNSAMPLE`` of the image resolution at most …"""
MIN_SPACING = 6
COARSE_ITERATIONS = 150
"""Nelder–Mead steps from each starting orientation before only the two best go on."""
"""… and at least ``MIN_SPACING`` downsampled pixels between neighbouring spots."""
N_SAMPLES = 1500
"""Tissue pixels, and background pixels near the tissue, drawn (seeded) for the fit."""


@dataclass(frozen=True)
class Alignment:
    """An affine map ``image_xy = matrix[:, :2] @ xy + matrix[:, 2]`` and how well it fits."""

    matrix: np.ndarray
    on_tissue: float
    """Fraction of spots that land on the tissue mask."""
    coverage: float
    """Fraction of tissue pixels within :data:`REACH` lattice spacings of a spot."""
    spacing_px: float
    """Median nearest-neighbour distance of the mapped spots, in image pixels."""
    start: str
    """The starting orientation (:data:`ORIENTATIONS`) the chosen fit came from."""
    alternatives: dict[str, float] = field(default_factory=dict)
    """Fit objective (px of the downsampled mask) reached from every starting orientation (the
    two best refined to convergence, the others after :data:`COARSE_ITERATIONS` steps)."""

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """Map ``[n, 2]`` spot coordinates into the image."""
        return np.asarray(xy, dtype=np.float64) @ self.matrix[:, :2].T + self.matrix[:, 2]

    @property
    def scales(self) -> tuple[float, float]:
        """Singular values of the linear part: equal for a pure rotation and scaling."""
        values = np.linalg.svd(self.matrix[:, :2], compute_uv=False)
        return float(values[0]), float(values[1])

    @property
    def flipped(self) -> bool:
        """Whether the map mirrors the spot frame."""
        return bool(np.linalg.det(self.matrix[:, :2]) < 0)

    @property
    def rotation_deg(self) -> float:
        """Rotation angle of the linear part (polar decomposition), in degrees."""
        u, _, vt = np.linalg.svd(self.matrix[:, :2])
        rotation = u @ vt
        return float(np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0])))

    def to_dict(self) -> dict:
        return {
            "matrix": self.matrix.round(6).tolist(),
            "on_tissue": round(self.on_tissue, 4),
            "coverage": round(self.coverage, 4),
            "spacing_px": round(self.spacing_px, 3),
            "scales": [round(s, 6) for s in self.scales],
            "rotation_deg": round(self.rotation_deg, 3),
            "flipped": self.flipped,
            "start": self.start,
            "alternatives": {k: round(v, 3) for k, v in self.alternatives.items()},
        }


ORIENTATIONS = {
    "identity": ((1, 0), (0, 1)),
    "rot90": ((0, -1), (1, 0)),
    "rot180": ((-1, 0), (0, -1)),
    "rot270": ((0, 1), (-1, 0)),
    "flip_x": ((-1, 0), (0, 1)),
    "flip_y": ((1, 0), (0, -1)),
    "transpose": ((0, 1), (1, 0)),
    "anti_transpose": ((0, -1), (-1, 0)),
}
"""The eight flips and quarter turns a fit starts from (all are tried)."""


def app_tissue_mask(image: np.ndarray, *, black: int = BLACK) -> np.ndarray:
    """Tissue of an image whose background is masked black: the largest connected non-black
    region (an inset or annotation elsewhere is dropped), holes filled."""
    from scipy import ndimage

    mask = np.asarray(image)[..., :3].max(axis=-1) > black
    labels, n = ndimage.label(ndimage.binary_opening(mask, iterations=2))
    if n == 0:
        raise OmibError("the image is black everywhere", "give the app image with its tissue")
    largest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    return ndimage.binary_fill_holes(labels == largest)


def _lattice_spacing(xy: np.ndarray) -> float:
    from scipy.spatial import cKDTree

    return float(np.median(cKDTree(xy).query(xy, k=2)[0][:, 1]))


class _Objective:
    """What a wrong map costs, in pixels of the downsampled mask: mean distance of the mapped
    spots to the tissue, mean distance by which tissue pixels lie beyond :data:`REACH` spacings
    of every spot, and mean distance by which background pixels near the tissue lie within half
    a spacing of a spot (so the lattice neither spills over nor shrinks inside the edge)."""

    def __init__(
        self, points: np.ndarray, mask: np.ndarray, spacing: float, rng: np.random.Generator
    ):
        from scipy import ndimage

        self.points, self.spacing = points, _lattice_spacing(points)
        self.outside = ndimage.distance_transform_edt(~mask)
        self.tissue = self._sample(mask, rng)
        self.background = self._sample((self.outside > 0) & (self.outside <= spacing), rng)
        self.far = float(max(mask.shape))

    @staticmethod
    def _sample(where: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        ys, xs = np.nonzero(where)
        pick = rng.choice(len(xs), min(N_SAMPLES, len(xs)), replace=False)
        return np.column_stack([xs[pick], ys[pick]]).astype(np.float64)

    def __call__(self, matrix: np.ndarray) -> float:
        from scipy import ndimage
        from scipy.spatial import cKDTree

        mapped = self.apply(matrix)
        off = ndimage.map_coordinates(
            self.outside, [mapped[:, 1], mapped[:, 0]], order=1, mode="constant", cval=self.far
        )
        spacing = self.spacing * np.sqrt(abs(np.linalg.det(matrix[:, :2])))
        tree = cKDTree(mapped)
        uncovered = np.maximum(tree.query(self.tissue)[0] - REACH * spacing, 0)
        spilled = np.maximum(spacing / 2 - tree.query(self.background)[0], 0)
        return float(off.mean() + uncovered.mean() + spilled.mean())

    def apply(self, matrix: np.ndarray) -> np.ndarray:
        return self.points @ matrix[:, :2].T + matrix[:, 2]


def _similarity(params: np.ndarray, flip: np.ndarray) -> np.ndarray:
    log_scale, angle, tx, ty = params
    c, s = np.cos(angle), np.sin(angle)
    return np.column_stack([np.exp(log_scale) * np.array([[c, -s], [s, c]]) @ flip, [tx, ty]])


def fit_alignment(
    points: np.ndarray, mask: np.ndarray, *, seed: int = 0, downsample: int = DOWNSAMPLE
) -> Alignment:
    """Fit the affine map of spot coordinates ``points`` ``[n, 2]`` onto the tissue ``mask``.

    From each of the eight :data:`ORIENTATIONS`, a similarity (scale, angle, shift) is
    initialised by matching the centroid and spread of the spots to those of the tissue and
    refined (Nelder–Mead) on :class:`_Objective`, shortly for all, to convergence for the two
    best; the best one is refined again as a full affine map. ``seed`` only draws the tissue and
    background pixels the objective is measured on.
    """
    from scipy.optimize import minimize

    points = np.asarray(points, dtype=np.float64)
    ys, xs = np.nonzero(mask)
    spread = np.sqrt((xs.var() + ys.var()) / points.var(axis=0).sum())  # first guess of the scale
    spacing = spread * _lattice_spacing(points)
    downsample = int(np.clip(spacing // MIN_SPACING, 1, downsample))
    small = mask[::downsample, ::downsample]
    objective = _Objective(points, small, spacing / downsample, np.random.default_rng(seed))
    tissue_centre = np.array([xs.mean(), ys.mean()]) / downsample
    spread /= downsample

    def refine(start, flip, maxiter):
        result = minimize(
            lambda p: objective(_similarity(p, flip)),
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": maxiter},
        )
        return float(result.fun), result.x

    fits, flips = {}, {k: np.array(v, dtype=np.float64) for k, v in ORIENTATIONS.items()}
    for name, flip in flips.items():  # a short search from every start …
        shift = tissue_centre - spread * flip @ points.mean(axis=0)
        fits[name] = refine(np.array([np.log(spread), 0.0, *shift]), flip, COARSE_ITERATIONS)
    for name in sorted(fits, key=lambda k: fits[k][0])[:2]:  # … then the two best to the end
        fits[name] = refine(fits[name][1], flips[name], 1000)
    fits = {k: (value, _similarity(params, flips[k])) for k, (value, params) in fits.items()}
    best = min(fits, key=lambda k: fits[k][0])
    result = minimize(
        lambda p: objective(p.reshape(2, 3)),
        fits[best][1].ravel(),
        method="Nelder-Mead",
        options={"xatol": 1e-4, "fatol": 1e-5, "maxiter": 2000},
    )
    matrix = result.x.reshape(2, 3) * downsample  # small pixel i is full pixel i × downsample
    on_tissue, coverage, spacing = _fit_quality(points, matrix, mask)
    return Alignment(matrix, on_tissue, coverage, spacing, best, {k: v[0] for k, v in fits.items()})


def _fit_quality(
    points: np.ndarray, matrix: np.ndarray, mask: np.ndarray
) -> tuple[float, float, float]:
    """Fraction of mapped spots on the tissue, fraction of tissue pixels (every second one)
    within :data:`REACH` spacings of a spot, and the mapped spots' spacing in pixels."""
    from scipy.spatial import cKDTree

    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    spacing = _lattice_spacing(mapped)
    col, row = np.rint(mapped).astype(int).T
    inside = (row >= 0) & (row < mask.shape[0]) & (col >= 0) & (col < mask.shape[1])
    on_tissue = np.zeros(len(points), dtype=bool)
    on_tissue[inside] = mask[row[inside], col[inside]]
    ys, xs = np.nonzero(mask[::2, ::2])
    covered = cKDTree(mapped).query(np.column_stack([xs, ys]) * 2.0)[0] <= REACH * spacing
    return float(on_tissue.mean()), float(covered.mean()), spacing


def plot_alignment(
    image: np.ndarray,
    xy: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike,
    *,
    title: str = "",
    colours: dict[str, str] | None = None,
    dpi: int = 100,
) -> None:
    """The image with the mapped spots drawn over it, coloured by label (PNG)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 9.6), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(image)
    labels = np.asarray(labels, dtype=object).astype(str)
    for label in dict.fromkeys(labels):
        where = labels == label
        colour = (colours or {}).get(label)  # None: matplotlib's next colour
        ax.scatter(
            xy[where, 0],
            xy[where, 1],
            s=14,
            color=colour,
            edgecolors="black",
            linewidths=0.3,
            label=label if label != "nan" else "unlabelled",
        )
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    save_figure(fig, path, dpi=dpi)

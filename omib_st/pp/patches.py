"""H&E patches around spots, cut lazily per batch at the right scale."""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from anndata import AnnData

from omib_st.errors import OmibError
from omib_st.io.image import image_size, read_image, to_rgb_uint8
from omib_st.io.library import get_library_id
from omib_st.io.validate import get_coords
from omib_st.pp.crop import crop_resize
from omib_st.pp.stain import LabStats, lab_stats, reinhard

STAIN_SAMPLE = 256
"""Spot patches whose LAB statistics make a section's stain (:meth:`PatchExtractor.lab_stats`)."""

Resolution = Literal["auto", "fullres", "hires", "lowres"]


class PatchExtractor:
    """Square H&E patches centred on spots, resampled to ``size × size``.

    Patches are cut only for the spots asked for (``extractor[idx]``), so memory is bounded by
    the batch, not the section. A full-resolution image given as a file is decoded on first use.
    Build it with :meth:`from_adata`; :meth:`normalised` gives the same patches with the
    section's stain mapped onto a reference.

    Parameters
    ----------
    image
        ``H × W × 3`` image, or the path of an image file.
    centers
        ``n_spots × 2`` spot centres in pixels of ``image`` (x = column, y = row).
    spot_px
        Spot diameter in pixels of ``image``.
    size
        Side of the returned patches in pixels.
    scale
        Patch side in spot diameters: each crop is ``scale × spot_px`` pixels of ``image``.
    resolution
        Name of the image (``"fullres"``, ``"hires"``, ``"lowres"``), for reporting.
    scalef
        Scale factor of ``image`` relative to the full-resolution coordinates.
    """

    def __init__(
        self,
        image: np.ndarray | str | os.PathLike,
        centers: np.ndarray,
        *,
        spot_px: float,
        size: int = 64,
        scale: float = 1.0,
        resolution: str = "fullres",
        scalef: float = 1.0,
    ):
        if size < 1 or scale <= 0 or not spot_px > 0:
            raise OmibError(
                f"patch size {size}, scale {scale} and spot diameter {spot_px} px must be positive",
                "fix the patch settings or the spot_diameter_fullres scale factor",
            )
        self._image = None if isinstance(image, str | os.PathLike) else to_rgb_uint8(image)
        self._path = Path(image) if self._image is None else None
        self.centers = np.asarray(centers, dtype=np.float64)
        self.spot_px = float(spot_px)
        self.size = int(size)
        self.scale = float(scale)
        self.resolution = resolution
        self.scalef = float(scalef)
        self.stain: tuple[LabStats, LabStats] | None = None
        """Reinhard normalisation applied to every patch: (the section's source, the target)."""
        self._check_inside()

    @property
    def image(self) -> np.ndarray:
        """The ``H × W × 3`` uint8 image patches are cut from (decoded on first access)."""
        if self._image is None:
            self._image = read_image(self._path)[0]
        return self._image

    @property
    def side_px(self) -> float:
        """Side of each crop in pixels of :attr:`image`, before resampling."""
        return self.scale * self.spot_px

    def _image_shape(self) -> tuple[int, int]:
        if self._image is not None:
            return self._image.shape[:2]
        width, height = image_size(self._path)
        return height, width

    def _check_inside(self) -> None:
        height, width = self._image_shape()
        if self.side_px > max(height, width):
            raise OmibError(
                f"patches of {self.side_px:.4g} px ({self.scale:g} × a spot of {self.spot_px:.4g} px) "
                f"are larger than the image ({width}×{height} px) of the {self.resolution} image",
                "check spot_diameter_fullres and patch.scale",
            )
        tol = self.spot_px / 2
        x, y = self.centers[:, 0], self.centers[:, 1]
        outside = (x < -tol) | (x > width - 1 + tol) | (y < -tol) | (y > height - 1 + tol)
        if outside.any():
            raise OmibError(
                f"{int(outside.sum())} of {len(outside)} spots fall outside the {self.resolution} "
                f"image ({width}×{height} px) at obsm['spatial'] × {self.scalef:g}",
                'obsm["spatial"] must hold full-resolution pixels (x = column, y = row) and the '
                "image and scale factor must belong to this sample",
            )

    def __len__(self) -> int:
        return len(self.centers)

    def __getitem__(self, idx) -> np.ndarray:
        """Patches of the spots ``idx`` (int, slice or integer array): uint8 ``B × 3 × size × size``."""
        single = np.isscalar(idx)
        patches = self._cut(np.atleast_1d(idx) if single else idx)
        if self.stain is not None:
            patches = reinhard(patches, target=self.stain[1], source=self.stain[0])
        return patches[0] if single else patches

    def _cut(self, idx) -> np.ndarray:
        """The patches as they are in the image."""
        return crop_resize(self.image, self.centers[idx], self.side_px, self.size)

    def lab_stats(self, n: int = STAIN_SAMPLE) -> LabStats:
        """The section's stain: LAB statistics of the tissue pixels of ``n`` spot patches as they
        are in the image, spread evenly over the spots in row-major order of their centres (so
        the same spots whatever their order in the data)."""
        order = np.lexsort((self.centers[:, 0], self.centers[:, 1]))
        pick = np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(np.int64)
        return lab_stats(self._cut(np.sort(order[pick])))

    def normalised(self, target: LabStats, source: LabStats | None = None) -> PatchExtractor:
        """This extractor with every patch Reinhard-normalised from ``source`` (default: the
        section's own :meth:`lab_stats`) onto ``target``; the image is shared, not copied."""
        source = self.lab_stats() if source is None else source
        out = copy.copy(self)
        out.stain = (source, target)
        return out

    def __repr__(self) -> str:
        stain = ", Reinhard-normalised" if self.stain is not None else ""
        return (
            f"PatchExtractor({len(self)} spots, {self.resolution} image, scalef {self.scalef:g}, "
            f"spot {self.spot_px:.1f} px, crop {self.side_px:.1f} px -> {self.size} px{stain})"
        )

    @classmethod
    def from_adata(
        cls,
        adata: AnnData,
        *,
        size: int = 64,
        scale: float = 1.0,
        resolution: Resolution = "auto",
        library_id: str | None = None,
        image: np.ndarray | str | os.PathLike | None = None,
    ) -> PatchExtractor:
        """Patch extractor for the spots of ``adata``.

        Parameters
        ----------
        adata
            Sample with ``obsm["spatial"]`` and ``uns["spatial"][library_id]``.
        size
            Side of the returned patches in pixels.
        scale
            Patch side in spot diameters (``spot_diameter_fullres``).
        resolution
            Image to cut from: ``"fullres"`` (``metadata["source_image_path"]``), ``"hires"``,
            ``"lowres"``, or ``"auto"``: the smallest available image whose crops span at least
            ``size`` pixels (no upsampling), else the sharpest one.
        library_id
            Library of ``uns["spatial"]``; may be left out when there is only one.
        image
            A full-resolution image (file path or array) to use instead; its scale factor is 1.

        Returns
        -------
        The extractor; ``adata`` is not modified.
        """
        coords = get_coords(adata)
        lib = get_library_id(adata, library_id)
        entry = adata.uns["spatial"][lib]
        diameter = _spot_diameter(entry, f'uns["spatial"]["{lib}"]')
        if image is not None:
            return cls(image, coords, spot_px=diameter, size=size, scale=scale)
        candidates = _candidate_images(entry, f'uns["spatial"]["{lib}"]', resolution)
        if resolution == "auto":
            resolution = _auto_resolution(candidates, scale * diameter, size)
        elif resolution not in candidates:
            raise OmibError(
                f'no {resolution} image in uns["spatial"]["{lib}"] '
                f"(available: {', '.join(candidates)})",
                "choose an available resolution or 'auto'",
            )
        picked, scalef = candidates[resolution]
        return cls(
            picked,
            coords * scalef,
            spot_px=diameter * scalef,
            size=size,
            scale=scale,
            resolution=resolution,
            scalef=scalef,
        )


def _spot_diameter(entry: dict, where: str) -> float:
    """``spot_diameter_fullres`` of a library: the patches' unit of size."""
    scalefactors = entry.get("scalefactors") or {}
    if "spot_diameter_fullres" not in scalefactors:
        raise OmibError(
            f'{where}["scalefactors"]["spot_diameter_fullres"] is missing',
            "add it (Space Ranger's scalefactors_json.json has it) so patches can be sized",
        )
    return float(scalefactors["spot_diameter_fullres"])


def _candidate_images(entry: dict, where: str, resolution: str) -> dict[str, tuple[object, float]]:
    """The images patches can be cut from, by resolution, with their scale factors: the
    full-resolution file when it exists, and hires/lowres images that have a scale factor."""
    scalefactors = dict(entry.get("scalefactors") or {})
    candidates: dict[str, tuple[object, float]] = {}
    source = (entry.get("metadata") or {}).get("source_image_path")
    if source:
        if Path(str(source)).is_file():
            candidates["fullres"] = (str(source), 1.0)
        elif resolution == "fullres":
            raise OmibError(
                f"full-resolution image {source} ({where}['metadata']['source_image_path']) "
                "does not exist",
                "give the image with image=... or use resolution='hires'",
            )
        elif resolution == "auto":
            warnings.warn(  # attributed to the caller of PatchExtractor.from_adata
                f"full-resolution image {source} not found; patches come from a smaller image",
                UserWarning,
                stacklevel=3,
            )
    for res, array in dict(entry.get("images") or {}).items():
        key = f"tissue_{res}_scalef"
        if res in ("hires", "lowres") and key in scalefactors:
            candidates[res] = (array, float(scalefactors[key]))
    if not candidates:
        raise OmibError(
            f"{where} has no image with a scale factor",
            "read the sample with its images or give a full-resolution image with image=...",
        )
    return candidates


def _auto_resolution(candidates: dict[str, tuple[object, float]], side: float, size: int) -> str:
    """The smallest image whose crops of ``side`` full-resolution pixels span at least ``size``
    pixels (no upsampling), else the sharpest one."""
    by_scale = sorted(candidates, key=lambda res: candidates[res][1])
    enough = [res for res in by_scale if side * candidates[res][1] >= size]
    return enough[0] if enough else by_scale[-1]

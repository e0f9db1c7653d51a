"""Morphology descriptors: names, shapes, per-patch independence, nuclei on drawn blobs,
co-occurrence against scikit-image, local binary patterns, per-spot spot + context."""

import numpy as np
import pytest
import torch

from omib_st.errors import OmibError
from omib_st.pp import morphology as morph
from omib_st.pp.morphology import (
    DESCRIPTOR_NAMES,
    descriptor_names,
    morphology_descriptors,
    spot_descriptors,
)
from omib_st.pp.texture import LBP_POINTS

STROMA = (228, 178, 212)  # pink, eosin
NUCLEUS = (70, 45, 125)  # dark purple, haematoxylin


def _patch(centres, radius, size=48, axes=None):
    """One uint8 [3, size, size] patch: pink stroma with dark nuclei (discs or ellipses)."""
    yy, xx = np.mgrid[:size, :size]
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = STROMA
    ry, rx = axes or (radius, radius)
    for cy, cx in centres:
        image[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = NUCLEUS
    return image.transpose(2, 0, 1)


def _grid(n, step=12, offset=6, per_row=4):
    return [(offset + step * (i // per_row), offset + step * (i % per_row)) for i in range(n)]


def _column(values, name):
    return values[:, DESCRIPTOR_NAMES.index(name)]


def test_shape_dtype_names_and_torch_input():
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    values = morphology_descriptors(patches)
    assert values.shape == (5, len(DESCRIPTOR_NAMES)) and values.dtype == np.float32
    assert np.isfinite(values).all()
    assert len(set(DESCRIPTOR_NAMES)) == len(DESCRIPTOR_NAMES)
    np.testing.assert_array_equal(morphology_descriptors(torch.from_numpy(patches)), values)
    assert morphology_descriptors(patches[:0]).shape == (0, len(DESCRIPTOR_NAMES))
    with pytest.raises(OmibError, match="uint8 RGB patches"):
        morphology_descriptors(patches.astype(np.float32))


def test_each_row_depends_on_its_patch_only(monkeypatch):
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    patches = np.stack([_patch(_grid(k), 3) for k in (1, 4, 9)] + [noise])
    together = morphology_descriptors(patches)
    monkeypatch.setattr(morph, "CHUNK", 3)  # a chunk boundary inside the batch
    np.testing.assert_allclose(morphology_descriptors(patches), together, rtol=1e-5, atol=1e-6)
    alone = np.concatenate([morphology_descriptors(p[None]) for p in patches])
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)


def test_more_and_larger_nuclei_raise_count_area_and_haematoxylin():
    few, many = _patch(_grid(3), 3), _patch(_grid(12), 3)
    small, large = (
        _patch(_grid(4, step=24, offset=12, per_row=2), 3),
        _patch(_grid(4, step=24, offset=12, per_row=2), 7),
    )
    values = morphology_descriptors(np.stack([few, many, small, large]))
    count = _column(values, "nuclei_count")
    assert count[0] == 3 and count[1] == 12 and count[2] == 4 and count[3] == 4
    assert _column(values, "nuclei_density")[1] > 3 * _column(values, "nuclei_density")[0]
    area = _column(values, "nucleus_area_mean")
    assert area[3] > 4 * area[2] > 0
    for name in ("nuclei_area_fraction", "h_mean", "h_p90", "od_mean"):
        column = _column(values, name)
        assert column[1] > column[0] and column[3] > column[2], name
    assert _column(values, "grey_mean")[1] < _column(values, "grey_mean")[0]


def test_elongated_nuclei_are_more_eccentric_and_less_circular():
    centres = _grid(4, step=24, offset=12, per_row=2)
    values = morphology_descriptors(np.stack([_patch(centres, 6), _patch(centres, 0, axes=(3, 9))]))
    eccentricity = _column(values, "nucleus_eccentricity_mean")
    assert eccentricity[0] < 0.3 < 0.8 < eccentricity[1]
    circularity = _column(values, "nucleus_circularity_mean")
    assert circularity[0] > circularity[1]


def test_blank_patch_has_no_nuclei_and_is_not_tissue():
    glass = np.full((1, 3, 32, 32), 245, dtype=np.uint8)
    values = morphology_descriptors(glass)
    assert _column(values, "nuclei_count")[0] == 0
    assert _column(values, "tissue_fraction")[0] == 0
    lbp = values[0, [DESCRIPTOR_NAMES.index(f"lbp_{k}") for k in range(LBP_POINTS + 2)]]
    assert lbp.sum() == pytest.approx(1.0) and lbp.max() > 0.8  # one code but at the border


def test_spot_descriptors_describe_spot_and_context(synthetic_adata):
    adata = synthetic_adata[:12].copy()
    values = spot_descriptors(adata, size=16, context=3.0)
    names = descriptor_names()
    assert values.shape == (12, len(names)) == (12, 2 * len(DESCRIPTOR_NAMES))
    assert (
        names[0] == f"spot:{DESCRIPTOR_NAMES[0]}" and names[-1] == f"context:{DESCRIPTOR_NAMES[-1]}"
    )
    spot_only = spot_descriptors(adata, size=16, context=None)
    np.testing.assert_array_equal(values[:, : len(DESCRIPTOR_NAMES)], spot_only)
    assert not np.allclose(values[:, : len(DESCRIPTOR_NAMES)], values[:, len(DESCRIPTOR_NAMES) :])
    inverted = spot_descriptors(adata, size=16, context=None, transform=lambda p: 255 - p)
    assert not np.allclose(inverted, spot_only)

"""omib_st.datasets.lattice: the Visium hex lattice and lesion placement."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from omib_st.datasets.lattice import MARGIN_UM, lattice, place_lesions
from omib_st.errors import OmibError


def test_hex_lattice_has_six_neighbours_at_the_spacing():
    rows, cols, xy = lattice(6, 8, spacing=100.0)
    assert len(xy) == 48 and (cols % 2 == rows % 2).all()
    assert xy.min(axis=0) == pytest.approx([MARGIN_UM, MARGIN_UM])
    distances, _ = cKDTree(xy).query(xy, k=7)
    inner = (rows > 0) & (rows < 5) & (cols > 1) & (cols < 13)
    np.testing.assert_allclose(distances[inner, 1:], 100.0)


def test_lesions_sit_in_their_own_strips_inside_the_section():
    _, _, xy = lattice(30, 40)
    centres = place_lesions(np.random.default_rng(0), xy, ["both", "expression", "image"], 400.0)
    assert centres.shape == (3, 2) and (np.diff(centres[:, 0]) > 0).all()
    assert (centres >= xy.min(axis=0) + 500).all() and (centres <= xy.max(axis=0) - 500).all()
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)[np.triu_indices(3, 1)]
    assert gaps.min() > 2 * 400  # lesions do not overlap


def test_a_small_section_has_no_room():
    _, _, xy = lattice(3, 3)
    with pytest.raises(OmibError, match="too small for its lesions"):
        place_lesions(np.random.default_rng(0), xy, ["both"], 200.0)

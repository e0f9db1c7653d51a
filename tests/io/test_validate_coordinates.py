"""omib_st.io.validate.coordinates: obsm["spatial"] present, numeric, finite, not degenerate."""

import re

import numpy as np
import pytest

from omib_st.errors import OmibError
from omib_st.io.validate import coordinate_problems, get_coords


def test_valid_coordinates(synthetic_adata):
    assert coordinate_problems(synthetic_adata) == []
    coords = get_coords(synthetic_adata)
    assert coords.dtype == np.float64 and coords.shape == (synthetic_adata.n_obs, 2)


def test_missing_spatial(synthetic_adata):
    del synthetic_adata.obsm["spatial"]
    (message,) = coordinate_problems(synthetic_adata)
    assert message.startswith('obsm["spatial"] is missing; store full-resolution pixel')
    with pytest.raises(OmibError, match=r'obsm\["spatial"\] is missing'):
        get_coords(synthetic_adata)


def test_bad_coordinates(synthetic_adata):
    coords = synthetic_adata.obsm["spatial"].copy()
    coords[3, 1] = np.nan
    synthetic_adata.obsm["spatial"] = coords
    (message,) = coordinate_problems(synthetic_adata)
    assert "NaN or infinite coordinates for 1 spot" in message
    assert synthetic_adata.obs_names[3] in message
    synthetic_adata.obsm["spatial"] = np.zeros((synthetic_adata.n_obs, 3))
    (message,) = coordinate_problems(synthetic_adata)
    assert "has shape (320, 3); expected (320, 2)" in message
    synthetic_adata.obsm["spatial"] = np.full((synthetic_adata.n_obs, 2), "x")
    assert "non-numeric dtype <U1" in coordinate_problems(synthetic_adata)[0]


def test_every_spot_at_one_pixel(synthetic_adata):
    synthetic_adata.obsm["spatial"] = np.full((synthetic_adata.n_obs, 2), 7.0)
    (message,) = coordinate_problems(synthetic_adata)
    assert 'all 320 spots of obsm["spatial"] are at the same pixel (7, 7)' in message
    get_coords(synthetic_adata)  # finite numbers: get_coords does not judge the geometry


def test_shared_positions_are_degenerate(synthetic_adata):
    spread = synthetic_adata.obsm["spatial"][:40]
    synthetic_adata.obsm["spatial"] = np.repeat(spread, 8, axis=0)  # 8 spots per position
    (message,) = coordinate_problems(synthetic_adata)
    assert "more than half of the spots share their position" in message


def test_packing_denser_than_a_lattice_is_degenerate(synthetic_adata):
    lattice = synthetic_adata.obsm["spatial"].copy()  # spaced 360 px apart, 20 spots a row
    apart = lattice[[0, 40, 80, 120, 160]]  # two rows apart: not neighbours of each other
    stacked = np.repeat(apart, 30, axis=0)  # 150 spots on 5 positions: 30 neighbours each
    synthetic_adata.obsm["spatial"] = np.concatenate([lattice[:170], stacked])
    (message,) = coordinate_problems(synthetic_adata)
    assert re.search(r"spots would have \d\d neighbours on average within 1.2 lattice", message)
    assert "(360 px; a spot lattice has 4 to 6)" in message
    fewer = np.repeat(apart, 6, axis=0)  # 30 stacked spots: still lattice-like on average
    synthetic_adata.obsm["spatial"] = np.concatenate([lattice[:290], fewer])
    assert coordinate_problems(synthetic_adata) == []

"""omib_st.io.validate.layout: the types of uns["spatial"] and its slots."""

from pathlib import Path

import numpy as np
import pytest

from omib_st.io.validate import is_file, is_number, layout_problems


def test_the_visium_layout_has_no_problem(synthetic_adata):
    assert layout_problems(synthetic_adata) == []
    del synthetic_adata.uns["spatial"]
    assert layout_problems(synthetic_adata) == []  # nothing to check without it


@pytest.mark.parametrize(
    "value, expected",
    [
        ([1], 'uns["spatial"] is a list, not a mapping of libraries'),
        (np.zeros(3), 'uns["spatial"] is an array of dtype float64, not a mapping of libraries'),
    ],
)
def test_spatial_must_be_a_mapping(synthetic_adata, value, expected):
    synthetic_adata.uns["spatial"] = value
    (message,) = layout_problems(synthetic_adata)
    assert message.startswith(expected + "; store uns") and "squidpy.read.visium" in message


def test_every_wrong_slot_is_listed(synthetic_adata):
    entry = synthetic_adata.uns["spatial"]["synthetic"]
    entry["images"]["hires"] = np.full((2, 2), "a")
    entry["scalefactors"]["tissue_hires_scalef"] = "0.5"
    entry["scalefactors"]["spot_diameter_fullres"] = True
    entry["metadata"]["source_image_path"] = 3
    problems = layout_problems(synthetic_adata)
    where = 'uns["spatial"]["synthetic"]'
    assert [p.split(";")[0] for p in problems] == [
        f'{where}["images"]["hires"] is an array of dtype <U1, not an image',
        f'{where}["scalefactors"]["tissue_hires_scalef"] = \'0.5\' is not a number',
        f'{where}["scalefactors"]["spot_diameter_fullres"] = True is not a number',
        f'{where}["metadata"]["source_image_path"] is a int, not a path',
    ]


@pytest.mark.parametrize("slot", ["images", "scalefactors", "metadata"])
def test_slots_must_be_mappings(synthetic_adata, slot):
    synthetic_adata.uns["spatial"]["synthetic"][slot] = [1]
    (message,) = layout_problems(synthetic_adata)
    assert message.startswith(f'uns["spatial"]["synthetic"]["{slot}"] is a list, not a mapping')


def test_a_library_must_be_a_mapping_and_long_names_are_shortened(synthetic_adata):
    synthetic_adata.uns["spatial"] = {"L" * 500: "x"}
    (message,) = layout_problems(synthetic_adata)
    assert message.startswith('uns["spatial"]["' + "L" * 39 + '…"] is a str, not a mapping')


def test_is_number():
    numbers = (1, 1.5, np.float32(3), np.array(2.0), np.int64(-1))
    not_numbers = (True, np.bool_(True), "1", np.array([2.0]), None, np.array("a"))
    assert all(map(is_number, numbers))
    assert not any(map(is_number, not_numbers))


def test_is_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert is_file(tmp_path / "f") and is_file(str(tmp_path / "f"))
    for value in (tmp_path, tmp_path / "nope", "a" * 5000, "a\0b", 3, None, Path("")):
        assert not is_file(value)

"""omib_st.io.validate.images: images, scale factors, spots on the images, --plot."""

import numpy as np
import pytest

from omib_st.errors import OmibError
from omib_st.io import get_library_id, validate
from omib_st.io.validate import plot_problem
from omib_st.io.validate.images import image_problems


def _raises(adata, match, **kwargs):
    with pytest.raises(OmibError, match=match) as err:
        validate(adata, require_image=True, **kwargs)
    message = str(err.value)
    assert "\n" not in message and message.endswith(".")
    return message


def test_image_problems(synthetic_adata):
    lib = get_library_id(synthetic_adata)
    entry = synthetic_adata.uns["spatial"][lib]
    del entry["scalefactors"]["tissue_hires_scalef"]
    _raises(synthetic_adata, r'\["tissue_hires_scalef"\] is missing')
    entry["scalefactors"]["tissue_hires_scalef"] = 3.0
    _raises(synthetic_adata, r"= 3 is absurd \(must be in \(0, 1\]\)")
    entry["scalefactors"]["tissue_hires_scalef"] = 0.5
    message = _raises(synthetic_adata, r"spots fall outside")
    assert "tissue_hires_scalef" in message
    synthetic_adata.uns["spatial"] = {
        lib: {k: v for k, v in entry.items() if k != "images"} | {"images": {}}
    }
    _raises(synthetic_adata, r'\["images"\] is missing or empty')
    del synthetic_adata.uns["spatial"]
    _raises(synthetic_adata, r'uns\["spatial"\] is missing or empty')


def test_a_source_image_file_stands_in_for_the_images(synthetic_adata, tmp_path):
    entry = synthetic_adata.uns["spatial"]["synthetic"]
    entry["images"] = {}
    entry["metadata"]["source_image_path"] = str(tmp_path / "slide.tif")
    _raises(synthetic_adata, r"is missing or empty and its source image .*slide.tif does not exist")
    (tmp_path / "slide.tif").write_bytes(b"")
    validate(synthetic_adata, require_image=True)


def test_spot_diameter_required_and_positive(synthetic_adata):
    scalefactors = synthetic_adata.uns["spatial"]["synthetic"]["scalefactors"]
    del scalefactors["spot_diameter_fullres"]
    _raises(synthetic_adata, r'\["spot_diameter_fullres"\] is missing')
    scalefactors["spot_diameter_fullres"] = -1
    _raises(synthetic_adata, r'\["spot_diameter_fullres"\] = -1 is absurd \(must be > 0\)')
    scalefactors["spot_diameter_fullres"] = 1e6
    message = _raises(synthetic_adata, "a spot would span more than the whole hires image")
    assert "(893×665 px)" in message


def test_image_shapes(synthetic_adata):
    images = synthetic_adata.uns["spatial"]["synthetic"]["images"]
    images["hires"] = np.zeros((20, 20, 5))
    _raises(synthetic_adata, r'\["images"\]\["hires"\] has shape \(20, 20, 5\); store an H×W×3')
    images["hires"] = np.zeros((0, 20, 3))
    _raises(synthetic_adata, r'\["images"\]\["hires"\] is empty \(\(0, 20, 3\)\)')


def test_each_image_is_checked(synthetic_adata):
    scalefactors = synthetic_adata.uns["spatial"]["synthetic"]["scalefactors"]
    del scalefactors["tissue_hires_scalef"], scalefactors["tissue_lowres_scalef"]
    coords = synthetic_adata.obsm["spatial"]
    problems = list(image_problems(synthetic_adata, None, coords))
    assert ["hires" in problems[0], "lowres" in problems[1], len(problems)] == [True, True, 2]


def test_swapped_coordinates_hint(synthetic_adata):
    synthetic_adata.obsm["spatial"] = synthetic_adata.obsm["spatial"][:, ::-1].copy()
    _raises(synthetic_adata, r"spots fall outside .*x and y look swapped")


def test_spots_are_placed_only_given_coordinates(synthetic_adata):
    far = synthetic_adata.obsm["spatial"] * 100
    assert list(image_problems(synthetic_adata, None, None)) == []
    problems = list(image_problems(synthetic_adata, None, far))
    assert [p.split(" fall outside ")[0] for p in problems] == ["320 of 320 spots"] * 2
    assert '["images"]["hires"]' in problems[0] and '["images"]["lowres"]' in problems[1]


def test_plot_problem(synthetic_adata):
    assert plot_problem(synthetic_adata) is None
    synthetic_adata.uns["spatial"]["synthetic"]["images"] = {"hires": np.zeros((0, 4, 3))}
    message = plot_problem(synthetic_adata)
    assert message.startswith('--plot draws the scores over the H&E image, but uns["spatial"]')
    assert message.endswith("leave --plot out, or add the sample's image.")
    synthetic_adata.uns["spatial"]["other"] = {}
    assert "several libraries" in plot_problem(synthetic_adata)
    synthetic_adata.uns["spatial"] = [1]
    assert plot_problem(synthetic_adata).startswith('uns["spatial"] is a list')

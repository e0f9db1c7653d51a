"""omib_st.io.validate.contract: every problem listed, the first one raised, in one line."""

import pytest

from omib_st.errors import OmibError
from omib_st.io import find_problems, validate


def _raises(adata, match, **kwargs):
    with pytest.raises(OmibError, match=match) as err:
        validate(adata, **kwargs)
    message = str(err.value)
    assert "\n" not in message and message.endswith(".")
    return message


def test_valid_sample_passes(synthetic_adata):
    validate(synthetic_adata, require_image=True)
    assert find_problems(synthetic_adata, require_image=True) == []


def test_find_problems_lists_all(synthetic_adata):
    synthetic_adata.X.data[0] = -5
    del synthetic_adata.obsm["spatial"]
    problems = find_problems(synthetic_adata, require_image=True)
    assert len(problems) == 2
    assert "negative" in problems[0] and 'obsm["spatial"]' in problems[1]


def test_validate_raises_the_first_problem(synthetic_adata):
    synthetic_adata.X.data[0] = -5
    del synthetic_adata.obsm["spatial"]
    first = find_problems(synthetic_adata)[0]
    assert _raises(synthetic_adata, "negative") == first


def test_image_checks_only_when_asked(synthetic_adata):
    synthetic_adata.uns["spatial"]["synthetic"]["images"] = {}
    validate(synthetic_adata)
    _raises(synthetic_adata, r'\["images"\] is missing or empty', require_image=True)


def test_spatial_checks_can_be_left_out(synthetic_adata):
    del synthetic_adata.obsm["spatial"]
    assert find_problems(synthetic_adata, require_spatial=False) == []
    # an image needs positions on it, whatever require_spatial says
    problems = find_problems(synthetic_adata, require_spatial=False, require_image=True)
    assert problems and 'obsm["spatial"] is missing' in problems[0]


def test_duplicated_names(synthetic_adata):
    names = synthetic_adata.obs_names.tolist()
    names[1] = names[0]
    synthetic_adata.obs_names = names
    _raises(synthetic_adata, r"obs_names has 1 duplicated spot name\(s\) \(e.g. 'r000c000'\)")
    genes = synthetic_adata.var_names.tolist()
    genes[2] = genes[3] = genes[0]
    synthetic_adata.var_names = genes
    problems = find_problems(synthetic_adata)
    assert "var_names has 1 duplicated gene name(s) (e.g. 'Gene0000')" in problems[1]
    assert problems[1].endswith("adata.var_names_make_unique().")


def test_empty(synthetic_adata):
    _raises(synthetic_adata[:0].copy(), r"the AnnData is empty \(0 spots × 120 genes\)")


def test_library_id_is_passed_to_the_image_checks(synthetic_adata):
    synthetic_adata.uns["spatial"]["other"] = synthetic_adata.uns["spatial"]["synthetic"]
    _raises(synthetic_adata, "several libraries", require_image=True)
    validate(synthetic_adata, require_image=True, library_id="other")


def test_the_package_keeps_its_import_paths():
    from omib_st.io import validate as from_io
    from omib_st.io.validate import (
        MAX_MEAN_DEGREE,
        MAX_SPOT_COUNTS,
        coordinate_problems,
        get_coords,
        is_file,
        is_number,
        layout_problems,
        plot_problem,
    )
    from omib_st.io.validate import validate as from_package

    assert from_io is from_package and callable(plot_problem) and callable(layout_problems)
    assert MAX_SPOT_COUNTS == 2**24 and MAX_MEAN_DEGREE == 12
    assert all(map(callable, (coordinate_problems, get_coords, is_file, is_number)))

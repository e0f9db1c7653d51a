import matplotlib
import numpy as np
import pandas as pd
import pytest

from omib_st.errors import OmibError
from omib_st.pl import anomaly


@pytest.fixture
def scored(synthetic_adata):
    adata = synthetic_adata
    adata.obs["omib_score"] = np.linspace(0, 1, adata.n_obs)
    adata.obs["omib_anomaly"] = adata.obs["omib_score"] > 0.8
    return adata


@pytest.fixture
def svg_backend():
    previous = matplotlib.get_backend()
    matplotlib.use("svg")
    yield
    matplotlib.use(previous)


def test_plot_saves_a_png_and_leaves_backend_and_adata_alone(scored, svg_backend, tmp_path):
    before = scored.obs.copy()
    figure = anomaly(scored, save=tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 1000
    assert matplotlib.get_backend() == "svg"  # a notebook's backend is not switched
    pd.testing.assert_frame_equal(scored.obs, before)  # labels not turned into categories
    assert len(figure.axes) >= 2


def test_plot_before_detect_is_one_clear_error(synthetic_adata):
    with pytest.raises(OmibError, match="omib_score"):
        anomaly(synthetic_adata)


def test_her2st_map_leaves_the_backend_alone(svg_backend, tmp_path):
    from omib_st.benchmarks.her2st.run import plot_map

    grid = pd.DataFrame(
        {
            "array_col": [0, 1, 0, 1],
            "array_row": [0, 0, 1, 1],
            "pathology": ["invasive cancer", "breast glands", "nan", "undetermined"],
            "score": [1.0, 0.1, 0.2, 0.3],
            "anomaly": [True, False, False, False],
        }
    )
    plot_map(grid, tmp_path / "map.png", "A1")
    assert (tmp_path / "map.png").stat().st_size > 1000 and matplotlib.get_backend() == "svg"


def test_a_section_without_an_image_is_drawn_at_its_spots(scored, svg_backend, tmp_path):
    """The plot uses the image exactly when the model would (``has_image``): scale factors
    without an image give a plain scatter of the spots, not an error."""
    from omib_st.model.tissue_data import has_image

    (entry,) = scored.uns["spatial"].values()
    entry.pop("images")
    assert not has_image(scored)
    anomaly(scored, save=tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 1000

"""Fixtures of the model tests: one small fitted detector and the section it was fitted on."""

import pytest


@pytest.fixture(scope="session")
def normal_reference():
    """A lesion-free synthetic section (320 spots, with an H&E image)."""
    from omib_st.datasets import synthetic_visium

    return synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=())


@pytest.fixture(scope="session")
def fitted(tiny_config, normal_reference):
    """The tiny detector (expression and image) fitted on :func:`normal_reference`."""
    from omib_st.model import OmibDetector

    return OmibDetector(tiny_config).fit(normal_reference)

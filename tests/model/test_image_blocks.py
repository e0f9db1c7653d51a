"""Raw image blocks of a section's spots (omib_st.model.image_blocks)."""

import numpy as np
import pytest

from omib_st.datasets import synthetic_visium
from omib_st.model import image_blocks
from omib_st.model.image_blocks import n_descriptors, raw_blocks
from omib_st.nn import ImageEncoder
from omib_st.pp import PatchExtractor


@pytest.fixture(scope="module")
def section():
    adata = synthetic_visium(n_rows=6, n_cols=8, n_genes=20, seed=0, lesions=())
    return adata, PatchExtractor.from_adata(adata, size=16)


def test_blocks_do_not_depend_on_how_spots_are_batched(section, monkeypatch):
    adata, extractor = section
    encoder = ImageEncoder("test_resnet", 4, freeze=True).eval()
    spots = np.arange(0, adata.n_obs, 2)

    def blocks():
        return raw_blocks(
            ["thumbnail", "cnn", "context"],
            {},
            None,
            adata,
            extractor,
            spots,
            encoder=encoder,
            features=True,
        )

    whole = blocks()
    monkeypatch.setattr(image_blocks, "BATCH", 5)
    batched = blocks()
    assert set(whole) == {"thumbnail", "features", "cnn", "context"}
    for key, value in whole.items():
        assert value.shape[0] == len(spots) and value.dtype == np.float32
        np.testing.assert_allclose(batched[key], value, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(whole["cnn"], whole["features"])  # the frozen encoder, once
    assert whole["context"].shape[1] == 2 * whole["cnn"].shape[1]  # two context scales


def test_descriptor_width_covers_the_spot_and_its_context():
    from omib_st.pp.morphology import DESCRIPTOR_NAMES

    assert n_descriptors() == 2 * len(DESCRIPTOR_NAMES)

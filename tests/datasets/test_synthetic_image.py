"""omib_st.datasets.synthetic_image: the H&E-like image of a synthetic section."""

import numpy as np

from omib_st.datasets.fields import smooth_fields
from omib_st.datasets.synthetic_image import GLASS, render


def _render(seed=0, disks=()):
    fields = smooth_fields(np.random.default_rng(9), 3, 6, (1500.0, 4000.0))
    box = (np.array([400.0, 400.0]), np.array([1600.0, 1400.0]))
    return render(np.random.default_rng(seed), (360, 400), 0.2, fields, list(disks), box)


def test_glass_around_tissue_inside():
    image = _render()
    assert image.shape == (360, 400, 3) and image.dtype == np.uint8
    corner, tissue = image[:20, :20].astype(float), image[100:260, 100:300]
    assert abs(corner.mean() - GLASS) < 3 and corner.std() < 5
    assert np.median(tissue[..., 1]) < GLASS - 20  # eosin absorbs green: tissue is pink


def test_a_lesion_is_darker_and_purple():
    normal, lesion = _render(), _render(disks=[(np.array([1000.0, 900.0]), 200.0)])
    box = (slice(160, 200), slice(180, 220))  # inside the lesion
    assert lesion[box].mean() < normal[box].mean() - 15
    red, blue = lesion[box][..., 0].mean(), lesion[box][..., 2].mean()
    assert blue > red - 10  # haematoxylin: more blue relative to red than eosin-pink stroma


def test_the_seed_fixes_the_image():
    np.testing.assert_array_equal(_render(seed=3), _render(seed=3))
    assert not np.array_equal(_render(seed=3), _render(seed=4))

"""The reference spots of a fit (omib_st.model.reference): normal masks, the seeded subsample
and the one train / held-out split that the detector and the baselines share."""

import numpy as np
import pytest

from omib_st.datasets import synthetic_visium
from omib_st.errors import OmibError
from omib_st.model.reference import (
    MIN_TRAIN_SPOTS,
    normal_mask,
    reference_masks,
    split_reference,
    split_spots,
    subsample,
)
from omib_st.model.supervised import IGNORED, NEGATIVE, POSITIVE


@pytest.mark.parametrize("n, fraction", [(400, 0.1), (37, 0.3), (5, 0.01)])
def test_held_out_split_is_deterministic_disjoint_and_complete(n, fraction):
    train, held_out = split_reference(n, 0, fraction)
    again = split_reference(n, 0, fraction)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(held_out, again[1])
    assert not np.intersect1d(train, held_out).size
    np.testing.assert_array_equal(np.union1d(train, held_out), np.arange(n))
    assert len(held_out) == max(1, round(fraction * n))
    assert (np.diff(train) > 0).all() and (np.diff(held_out) > 0).all()


def test_held_out_split_follows_the_seed_and_can_be_empty():
    assert not np.array_equal(split_reference(400, 0, 0.1)[1], split_reference(400, 1, 0.1)[1])
    train, held_out = split_reference(50, 0, 0.0)
    np.testing.assert_array_equal(train, np.arange(50))
    assert held_out.size == 0


def test_split_spots_splits_the_masked_spots_by_the_shared_rule():
    masks = [np.arange(30) % 3 != 0, np.arange(20) % 2 == 0]
    spots = np.flatnonzero(np.concatenate(masks))
    train, held_out = split_spots(masks, 7, 0.25)
    fit_at, held_at = split_reference(len(spots), 7, 0.25)
    np.testing.assert_array_equal(train, spots[fit_at])
    np.testing.assert_array_equal(held_out, spots[held_at])
    few = [np.arange(6) < MIN_TRAIN_SPOTS]  # four spots, one held out: three left
    with pytest.raises(
        OmibError, match=f"only 4 labelled reference spots .*at least {MIN_TRAIN_SPOTS}"
    ):
        split_spots(few, 0, 0.25, "labelled")


def test_normal_mask_selects_the_named_values_and_refuses_bad_ones():
    adata = synthetic_visium(n_rows=8, n_cols=10, n_genes=20, seed=0)
    mask = normal_mask(adata, "lesion", ["none"])
    np.testing.assert_array_equal(mask, (adata.obs["lesion"] == "none").to_numpy())
    assert normal_mask(adata, None, None).all()
    with pytest.raises(OmibError, match='obs\\["nope"\\] not found'):
        normal_mask(adata, "nope", ["none"])
    with pytest.raises(OmibError, match="no normal values"):
        normal_mask(adata, "lesion", [])
    with pytest.raises(OmibError, match="no spot has"):
        normal_mask(adata, "lesion", ["x"])


def test_subsample_is_seeded_and_keeps_only_masked_spots():
    masks = [np.arange(100) % 2 == 0, np.arange(60) % 3 == 0]
    kept = subsample(masks, 30, seed=0)
    assert [len(k) for k in kept] == [100, 60]
    assert sum(k.sum() for k in kept) == 30
    assert all((k <= m).all() for k, m in zip(kept, masks))
    again = subsample(masks, 30, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(kept, again))
    assert subsample(masks, 1000, seed=0) is masks


def test_supervised_masks_leave_out_ignored_spots():
    adata = synthetic_visium(n_rows=4, n_cols=5, n_genes=20, seed=0, lesions=())
    classes = [np.array([POSITIVE, NEGATIVE, IGNORED, NEGATIVE] * 5)]
    (mask,) = reference_masks([adata], classes, None, None, max_spots=None, seed=0)
    np.testing.assert_array_equal(mask, classes[0] != IGNORED)

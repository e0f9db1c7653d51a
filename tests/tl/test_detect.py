import numpy as np
import pytest
import scanpy as sc

import omib_st as om
from omib_st.config import replace
from omib_st.errors import OmibError


@pytest.fixture(scope="module")
def reference():
    return om.datasets.synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=1, lesions=())


def test_writes_every_documented_slot_in_place(synthetic_adata, reference, tiny_config, tmp_path):
    before = set(synthetic_adata.obs) | set(synthetic_adata.obsm) | set(synthetic_adata.uns)
    assert om.tl.detect(synthetic_adata, reference=reference, config=tiny_config) is None
    obs, uns = synthetic_adata.obs, synthetic_adata.uns["omib"]
    assert obs["omib_score"].dtype == np.float32 and obs["omib_anomaly"].dtype == bool
    assert synthetic_adata.obsm["X_omib"].shape == (synthetic_adata.n_obs, 16)
    for key in (
        "mode",
        "version",
        "params",
        "modalities",
        "beta",
        "bound",
        "r",
        "threshold",
        "reference_stats",
    ):
        assert key in uns, key
    assert uns["mode"] == "one_class" and uns["source"] == "reference"
    assert uns["image_used"] and uns["beta"] > 0
    assert uns["bound"]["m_upper_safe"] == pytest.approx(uns["beta"])
    added = (set(obs) | set(synthetic_adata.obsm) | set(synthetic_adata.uns)) - before
    assert added == {"omib_score", "omib_anomaly", "X_omib", "omib"}  # nothing undocumented
    path = tmp_path / "scored.h5ad"
    om.io.write_h5ad(synthetic_adata, path)
    back = sc.read_h5ad(path)
    np.testing.assert_array_equal(back.obs["omib_score"], obs["omib_score"])
    assert back.uns["omib"]["params"]["omib"]["fusion"] == "cross_attention"


def test_copy_returns_a_new_object_and_leaves_the_input(synthetic_adata, reference, tiny_config):
    result = om.tl.detect(
        synthetic_adata, reference=reference, config=tiny_config, key_added="x", copy=True
    )
    assert "x_score" in result.obs and "x_score" not in synthetic_adata.obs


@pytest.mark.parametrize("trim", [0.2, 0.5])
def test_self_referenced_mode_retrains_without_its_highest_scoring_spots(
    synthetic_adata, tiny_config, trim
):
    config = replace(tiny_config, **{"scoring.self_trim": trim})
    with pytest.warns(UserWarning, match="self-referenced") as record:
        om.tl.detect(synthetic_adata, config=config, use_image=False)
    assert record[0].filename == __file__  # the warning points at the caller of detect
    info = synthetic_adata.uns["omib"]
    assert info["source"] == "self-referenced"
    kept = round(synthetic_adata.n_obs * (1 - trim))
    assert info["n_train_spots"] == kept - round(config.train.val_fraction * kept)
    assert np.isfinite(synthetic_adata.obs["omib_score"]).all()


def test_only_one_reference_choice(synthetic_adata, reference):
    with pytest.raises(OmibError, match="only one"):
        om.tl.detect(synthetic_adata, reference=reference, normal_key="lesion")


def test_without_held_out_spots_detect_warns_and_trains_on_every_reference_spot(
    synthetic_adata, reference, tiny_config
):
    config = replace(tiny_config, **{"train.val_fraction": 0.0, "train.max_epochs": 1})
    with pytest.warns(UserWarning, match="val_fraction is 0.*training spots themselves"):
        om.tl.detect(synthetic_adata, reference=reference, config=config, use_image=False)
    assert synthetic_adata.uns["omib"]["n_train_spots"] == reference.n_obs
    assert synthetic_adata.uns["omib"]["params"]["train"]["val_fraction"] == 0.0


def test_a_config_without_the_fusion_block_never_reaches_training(tiny_config):
    # omib.omf: false removes the fused head the detector scores: the configuration itself is
    # refused, so no detect call can be made with it
    with pytest.raises(OmibError, match="omib.omf: false removes.*keep omib.omf: true"):
        replace(tiny_config, **{"omib.omf": False})

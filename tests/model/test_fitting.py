"""The steps of a fit (omib_st.model.fitting): argument checks, and what a resumed checkpoint
must match."""

import numpy as np
import pytest

from omib_st.config import replace
from omib_st.errors import OmibError
from omib_st.model import OmibDetector
from omib_st.model.fitting import run_id


def test_run_id_ignores_hardware_but_not_settings_spots_or_labels(tiny_config, synthetic_adata):
    refs = [synthetic_adata]
    train, held = np.arange(0, 300), np.arange(300, 320)

    def key(config=tiny_config, genes=("a", "b"), train=train, labels=None):
        return run_id(config, list(genes), ["expression", "spot"], refs, train, held, labels)

    assert key() == key()
    hardware = replace(
        tiny_config, **{"train.device": "cpu", "train.num_workers": 3, "train.progress_bar": True}
    )
    assert key(hardware) == key()
    assert key(replace(tiny_config, **{"train.lr": 0.5})) != key()
    assert key(genes=("a", "c")) != key()
    assert key(train=train[1:]) != key()
    assert key(labels=np.zeros(320)) != key()


def test_mode_and_modalities_are_chosen_before_training(tiny_config, synthetic_adata):
    sample = synthetic_adata.copy()
    del sample.uns["spatial"]
    with pytest.raises(OmibError, match="image-only model needs"):
        OmibDetector(tiny_config).fit(sample, use_expression=False)
    with pytest.raises(OmibError, match="no reference section"):
        OmibDetector(tiny_config).fit([])
    detector = OmibDetector(replace(tiny_config, **{"train.max_epochs": 1}))
    detector.fit(sample, use_image=None)
    assert detector.use_image is False and detector.mode == "one_class"
    assert detector.training["n_train_spots"] + detector.training["n_val_spots"] == sample.n_obs

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


@pytest.fixture(scope="session")
def rewrite_model():
    """Edit a saved model folder as an older omib-st would have written it: ``config`` and
    ``weights`` change the parsed ``config.yaml`` / ``weights.pt`` in place, and the checksums in
    ``model.json`` follow, so the folder still loads."""
    import json

    import torch
    import yaml

    from omib_st.model.persistence import CONFIG, META, WEIGHTS, file_sha256, meta_sha256

    def rewrite(path, *, config=None, weights=None):
        meta = json.loads((path / META).read_text())
        if config is not None:
            saved = yaml.safe_load((path / CONFIG).read_text())
            config(saved)
            (path / CONFIG).write_text(yaml.safe_dump(saved, sort_keys=False))
            meta["config_sha256"] = file_sha256(path / CONFIG)
        if weights is not None:
            saved = torch.load(path / WEIGHTS, weights_only=True)
            weights(saved)
            torch.save(saved, path / WEIGHTS)
            meta["weights_sha256"] = file_sha256(path / WEIGHTS)
        meta["sha256"] = meta_sha256(meta)
        (path / META).write_text(json.dumps(meta))

    return rewrite

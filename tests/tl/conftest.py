import pytest

from omib_st.config import load_config

TINY = {
    "preprocess": {"n_top_genes": 100},
    "patch": {"size": 16},
    "expression": {"hidden_dim": 32, "out_dim": 16},
    "image": {"backbone": "test_resnet", "out_dim": 16},
    "omib": {"latent_dim": 8, "fused_dim": 16},
    "train": {"warmup_epochs": 1, "max_epochs": 2, "batch_size": 128, "progress_bar": False},
    "mi": {"steps": 20, "batch_size": 64},
}


@pytest.fixture(scope="session")
def tiny_config():
    """A detector small enough to train in seconds on CPU."""
    return load_config(TINY)

"""Shared pieces of the reliability tests: a tiny saved model, file snapshots, a CLI runner."""

from __future__ import annotations

import pytest
import torch
import yaml
from _reliability import small_section


@pytest.fixture(autouse=True)
def _no_gpu(monkeypatch):
    """Behave as on a CPU-only machine, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture(scope="session")
def knn_config(tiny_config):
    """The tiny configuration on a 6-nearest-neighbour graph (so a 4-spot sample is too small)."""
    from omib_st.config import replace

    return replace(tiny_config, **{"graph.method": "knn", "graph.n_neighbors": 6})


@pytest.fixture(scope="session")
def shared(tmp_path_factory, knn_config):
    """Read-only inputs: ``ref.h5ad`` (normal), ``cfg.yaml`` (tiny, knn) and ``model/`` fitted on it."""
    from omib_st.config import to_dict
    from omib_st.io import write_h5ad
    from omib_st.model import OmibDetector

    root = tmp_path_factory.mktemp("shared")
    reference = small_section(seed=1, lesions=())
    write_h5ad(reference, root / "ref.h5ad")
    (root / "cfg.yaml").write_text(yaml.safe_dump(to_dict(knn_config)))
    OmibDetector(knn_config).fit(reference).save(root / "model")
    return root


@pytest.fixture(scope="session")
def _section_template():
    return small_section(seed=0)


@pytest.fixture
def section(_section_template):
    """A fresh copy of an 80-spot section with lesions and images."""
    return _section_template.copy()

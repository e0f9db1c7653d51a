"""The labelled sections of a her2st folder, read with their pathologist labels grouped."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.errors import OmibError

ANOMALOUS = ("invasive cancer", "cancer in situ")
"""Pathologist labels that count as anomalous tissue."""
NORMAL = ("adipose tissue", "breast glands", "connective tissue", "immune infiltrate")
"""Pathologist labels that count as normal tissue (the only spots a model is trained on)."""
GROUP_KEY = "label_group"
"""obs column written by :func:`load_section`: ``anomalous``, ``normal`` or ``excluded``."""
GROUPS = ("anomalous", "normal", "excluded")
LABELS_PATTERN = "*_labeled_coordinates.tsv"


def discover_sections(root: str | os.PathLike) -> list[str]:
    """Names of the labelled sections in a her2st folder, sorted.

    A section ``S`` is labelled when ``labels/S_labeled_coordinates.tsv``,
    ``counts/S.tsv.gz`` and ``spots/S_selection.tsv`` all exist; any such section is found,
    including ones this code has never seen.
    """
    root = Path(root)
    if not root.is_dir():
        raise OmibError(f"her2st folder {root} does not exist", "give the folder with --data")
    found = []
    for path in sorted((root / "labels").glob(LABELS_PATTERN)):
        name = path.name.removesuffix(LABELS_PATTERN[1:])
        if (root / "counts" / f"{name}.tsv.gz").is_file() and (
            root / "spots" / f"{name}_selection.tsv"
        ).is_file():
            found.append(name)
    if not found:
        raise OmibError(
            f"no labelled section in {root} (need labels/<S>_labeled_coordinates.tsv with "
            "counts/<S>.tsv.gz and spots/<S>_selection.tsv)",
            "give the her2st folder described in ../shared/data/her2st/README.md",
        )
    return found


def patient(section: str) -> str:
    """The patient of a her2st section: its first letter (``"B"`` for ``"B1"``)."""
    return section[:1]


def label_groups(pathology: pd.Series | pd.Categorical) -> pd.Categorical:
    """``anomalous`` / ``normal`` / ``excluded`` (undetermined, unlabelled or unknown label)."""
    labels = pd.Series(np.asarray(pathology, dtype=object))
    group = np.where(
        labels.isin(ANOMALOUS), "anomalous", np.where(labels.isin(NORMAL), "normal", "excluded")
    )
    return pd.Categorical(group, categories=GROUPS)


def load_section(root: str | os.PathLike, section: str, *, image: bool = True) -> AnnData:
    """One labelled section through :func:`omib_st.io.read_her2st`, plus ``obs["label_group"]``.

    Labels are joined on rounded adjusted coordinates (rows with missing coordinates dropped) by
    the reader, into ``obs["pathology"]``. Every spot under tissue stays in the section,
    undetermined and unlabelled ones included (they are part of its graph); they are grouped as
    ``excluded`` and left out of the metrics.
    """
    import warnings

    from omib_st.io import read_her2st

    with warnings.catch_warnings():  # a few selected spots lack counts in every section
        warnings.filterwarnings("ignore", message=".*have no row in.*", category=UserWarning)
        adata = read_her2st(root, section, image=image, labels=True)
    if "pathology" not in adata.obs:
        raise OmibError(
            f"her2st section {section} has no labels file in {root}",
            f"add labels/{section}_labeled_coordinates.tsv or drop the section",
        )
    adata.obs[GROUP_KEY] = label_groups(adata.obs["pathology"])
    return adata


def load_sections(
    root: str | os.PathLike, sections: list[str] | None = None, *, image: bool = True
) -> dict[str, AnnData]:
    """The labelled sections (default: all found by :func:`discover_sections`), by name."""
    names = discover_sections(root) if sections is None else list(sections)
    return {name: load_section(root, name, image=image) for name in names}


def evaluated(adata: AnnData) -> np.ndarray:
    """Spots that count in the metrics (anomalous or normal; not undetermined or unlabelled)."""
    return (adata.obs[GROUP_KEY] != "excluded").to_numpy()


def is_anomalous(adata: AnnData) -> np.ndarray:
    """Ground truth per spot: labelled invasive cancer or cancer in situ."""
    return (adata.obs[GROUP_KEY] == "anomalous").to_numpy()

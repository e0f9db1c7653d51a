"""The her2st sections with real H&E: B4, C2–C6 (proxy truth: the authors' cancer clusters) and
A1 (pathologist labels, on the web app's image through a fitted affine map)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.her2st.data import (  # noqa: F401  (re-exported: the same rules)
    GROUP_KEY,
    GROUPS,
    evaluated,
    is_anomalous,
    patient,
)
from omib_st.benchmarks.her2st.data import load_section as load_labelled_section
from omib_st.benchmarks.histology.align import Alignment, app_tissue_mask, fit_alignment
from omib_st.errors import OmibError

SECTIONS = ("B4", "C2", "C3", "C4", "C5", "C6")
"""The her2st sections with a full-resolution H&E in ``images/<S>.jpg`` (and clusters)."""
A1 = "A1"
A1_IMAGE = "A1_app.png"
TRUTH_KEY = "truth"
"""obs column of the label a spot is judged by: its cluster annotation (``cancer 1``,
``adipose``…) or, for A1, the pathologist's label."""
NORMAL_VALUES = ("normal",)
"""Value of ``obs["label_group"]`` that marks the spots a model may train on."""


def cluster_annotations(root: str | os.PathLike) -> pd.DataFrame:
    """``clusters/motivation.csv``: one row per (patient, cluster) with its annotation.

    The file is not valid CSV (annotations such as ``immune : APC, macrophages`` hold unquoted
    commas), so each line is read as patient, cluster, then the annotation up to the
    ``Marker genes…`` field or the first empty field.
    """
    import re

    path = Path(root) / "clusters" / "motivation.csv"
    if not path.is_file():
        raise OmibError(f"{path} not found", "give the her2st folder with clusters/")
    row = re.compile(r"^(?P<patient>[^,]+),(?P<cluster>\d+),(?P<annotation>.*?)(?:,Marker|,,|,?$)")
    rows = [
        m.groupdict()
        for line in path.read_text().splitlines()[1:]
        if (m := row.match(line.strip()))
    ]
    table = pd.DataFrame(rows, columns=["patient", "cluster", "annotation"])
    table["annotation"] = table["annotation"].str.strip()
    return table.astype({"cluster": int})


def cluster_groups(annotation: pd.Series) -> pd.Categorical:
    """``anomalous`` for ``cancer …`` clusters, ``excluded`` for ``unknown`` or unclustered
    spots, ``normal`` otherwise (immune, connective tissue, glands, adipose…)."""
    text = pd.Series(np.asarray(annotation, dtype=object)).fillna("unknown").astype(str)
    group = np.where(
        text.str.startswith("cancer"),
        "anomalous",
        np.where(text == "unknown", "excluded", "normal"),
    )
    return pd.Categorical(group, categories=GROUPS)


def load_section(root: str | os.PathLike, section: str, *, image: bool = True) -> AnnData:
    """One section with its full-resolution H&E (unless ``image`` is False) and its expression
    cluster per spot.

    Adds ``obs["cluster"]``, ``obs["truth"]`` (the cluster's annotation) and
    ``obs["label_group"]`` (:func:`cluster_groups`). Clusters are joined on the array
    coordinates ``x``, ``y``.
    """
    from omib_st.io import read_her2st

    root = Path(root)
    if image and not (root / "images" / f"{section}.jpg").is_file():
        raise OmibError(f"no images/{section}.jpg in {root}", "give the her2st folder with images/")
    with warnings.catch_warnings():  # a few selected spots lack counts in every section
        warnings.filterwarnings("ignore", message=".*have no row in.*", category=UserWarning)
        adata = read_her2st(root, section, image=image, labels=False)
    clusters = pd.read_csv(root / "clusters" / f"{section}.tsv.gz", sep="\t")
    key = clusters["x"].astype(int).astype(str) + "x" + clusters["y"].astype(int).astype(str)
    cluster = pd.Series(clusters["label"].to_numpy(), index=key.to_numpy())
    spots = adata.obs["array_col"].astype(str) + "x" + adata.obs["array_row"].astype(str)
    adata.obs["cluster"] = cluster.reindex(spots.to_numpy()).to_numpy()
    names = cluster_annotations(root)
    names = names[names["patient"] == patient(section)].set_index("cluster")["annotation"]
    adata.obs[TRUTH_KEY] = pd.Categorical(adata.obs["cluster"].map(names).to_numpy())
    adata.obs[GROUP_KEY] = cluster_groups(adata.obs[TRUTH_KEY])
    return adata


def load_a1(root: str | os.PathLike, alignment: Alignment | None = None) -> AnnData:
    """Section A1 with its pathologist labels, placed on ``images/A1_app.png``.

    ``obsm["spatial"]`` holds the spots mapped into the app image by ``alignment`` (default:
    :func:`fit_alignment` of the spot pixels against :func:`app_tissue_mask`), and
    ``uns["spatial"]["A1"]`` the image, its spot diameter (half the mapped lattice spacing) and
    the map itself (``uns["spatial"]["A1"]["alignment"]``).
    """
    from omib_st.io.image import downscale, read_image
    from omib_st.io.st import LOWRES_SIDE

    root = Path(root)
    path = root / "images" / A1_IMAGE
    image = read_image(path)[0]
    adata = load_labelled_section(root, A1, image=False)
    if alignment is None:
        alignment = fit_alignment(adata.obsm["spatial"], app_tissue_mask(image))
    adata.obsm["spatial"] = alignment.apply(adata.obsm["spatial"])
    adata.obs[TRUTH_KEY] = adata.obs["pathology"]
    lowres, factor = downscale(image, LOWRES_SIDE)
    adata.uns["spatial"][A1] = {
        "images": {"hires": image, "lowres": lowres},
        "scalefactors": {
            "spot_diameter_fullres": alignment.spacing_px / 2,
            "tissue_hires_scalef": 1.0,
            "tissue_lowres_scalef": factor,
        },
        "metadata": {"platform": "ST", "source_image_path": str(path.resolve())},
        "alignment": alignment.to_dict(),
    }
    return adata


def discover_sections(root: str | os.PathLike) -> list[str]:
    """Sections of a her2st folder with an H&E (``images/<S>.jpg``), clusters, counts and
    spots, sorted; A1 is added last when ``images/A1_app.png`` and its labels exist."""
    root = Path(root)
    found = sorted(
        p.stem
        for p in (root / "images").glob("*.jpg")
        if all(
            (root / f).is_file()
            for f in (
                f"clusters/{p.stem}.tsv.gz",
                f"counts/{p.stem}.tsv.gz",
                f"spots/{p.stem}_selection.tsv",
            )
        )
    )
    if not found:
        raise OmibError(
            f"no section with images/<S>.jpg, clusters, counts and spots in {root}",
            "give the her2st folder described in ../shared/data/her2st/README.md",
        )
    a1 = [A1_IMAGE, f"../labels/{A1}_labeled_coordinates.tsv", f"../counts/{A1}.tsv.gz"]
    return found + ([A1] if all((root / "images" / f).is_file() for f in a1) else [])


def load_sections(root: str | os.PathLike, sections: list[str] | None = None) -> dict[str, AnnData]:
    """The benchmark's sections by name (default: :func:`discover_sections`; on the her2st data
    :data:`SECTIONS` and A1)."""
    names = discover_sections(root) if sections is None else list(sections)
    return {name: load_a1(root) if name == A1 else load_section(root, name) for name in names}


def is_normal(adata: AnnData) -> np.ndarray:
    """Spots a model may train on."""
    return adata.obs[GROUP_KEY].isin(NORMAL_VALUES).to_numpy()

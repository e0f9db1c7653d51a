"""Shared fixtures: a tiny synthetic Visium section, a Space Ranger folder builder, her2st."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from anndata import AnnData
from scipy import io as sio
from scipy import sparse

from omib_st.datasets import synthetic_visium

REPO = Path(__file__).resolve().parents[1]
HER2ST = REPO.parent / "shared" / "data" / "her2st"


@pytest.fixture(scope="session")
def _synthetic_template() -> AnnData:
    return synthetic_visium(n_rows=16, n_cols=20, n_genes=120, seed=0)


@pytest.fixture
def synthetic_adata(_synthetic_template) -> AnnData:
    """A tiny synthetic Visium section (320 spots × 120 genes, three lesions); a fresh copy."""
    return _synthetic_template.copy()


@pytest.fixture(scope="session")
def her2st_root() -> Path:
    """``<repo>/../shared/data/her2st``; tests using it are marked ``shared_data``."""
    if not (HER2ST / "counts").is_dir():
        pytest.skip(f"../shared/data/her2st not found: expected the her2st data at {HER2ST}")
    return HER2ST


def write_10x_h5(
    path: Path,
    counts: sparse.csr_matrix,
    barcodes,
    ids,
    names,
    *,
    library_id: str = "lib_h5",
    chemistry: str = "Spatial 3' v1",
    software: str = "spaceranger-2.0.0",
) -> None:
    """A feature-barcode matrix in the CellRanger v3 HDF5 format (Space Ranger's ``.h5``)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["library_ids"] = np.array([library_id.encode()])
        f.attrs["chemistry_description"] = chemistry.encode()
        f.attrs["software_version"] = software.encode()
        matrix = f.create_group("matrix")
        matrix.create_dataset("barcodes", data=np.array(barcodes, dtype="S"))
        matrix.create_dataset("data", data=counts.data.astype(np.int32))
        matrix.create_dataset("indices", data=counts.indices.astype(np.int64))
        matrix.create_dataset("indptr", data=counts.indptr.astype(np.int64))
        matrix.create_dataset("shape", data=np.array(counts.shape[::-1], dtype=np.int32))
        features = matrix.create_group("features")
        features.create_dataset("id", data=np.array(ids, dtype="S"))
        features.create_dataset("name", data=np.array(names, dtype="S"))
        features.create_dataset("feature_type", data=np.array([b"Gene Expression"] * len(ids)))
        features.create_dataset("genome", data=np.array([b"GRCh38"] * len(ids)))
        features.create_dataset("_all_tag_keys", data=np.array([b"genome"]))


def _write_mtx(folder: Path, counts: sparse.csr_matrix, barcodes, ids, names) -> None:
    """A feature-barcode matrix as the CellRanger v3 ``matrix.mtx.gz`` folder."""
    folder.mkdir()
    with gzip.open(folder / "matrix.mtx.gz", "wb") as f:
        sio.mmwrite(f, sparse.coo_matrix(counts.T.astype(np.int64)), field="integer")
    with gzip.open(folder / "features.tsv.gz", "wt") as f:
        f.writelines(f"{i}\t{n}\tGene Expression\n" for i, n in zip(ids, names))
    with gzip.open(folder / "barcodes.tsv.gz", "wt") as f:
        f.writelines(f"{b}\n" for b in barcodes)


@pytest.fixture
def make_spaceranger(tmp_path) -> Callable[..., tuple[Path, dict]]:
    """Build a small Space Ranger ``outs`` folder on disk; returns it and the truth written."""

    def make(*, positions: str = "new", counts: str = "h5", name: str = "outs"):
        from PIL import Image

        rng = np.random.default_rng(1)
        n_spots, n_genes = 30, 12
        barcodes = [f"{''.join(rng.choice(list('ACGT'), 16))}-1" for _ in range(n_spots)]
        ids = [f"ENSG{i:011d}" for i in range(n_genes)]
        names = [f"GENE{i}" for i in range(n_genes - 1)] + ["GENE0"]  # one duplicated symbol
        matrix = sparse.random(n_spots, n_genes, density=0.5, random_state=2, format="csr")
        matrix.data = np.ceil(matrix.data * 20)
        in_tissue = np.ones(n_spots, dtype=int)
        in_tissue[:5] = 0
        array_row = np.arange(n_spots) // 6
        array_col = 2 * (np.arange(n_spots) % 6) + array_row % 2
        pxl_col = 1000 + 50 * array_col + 0.5
        pxl_row = 800 + 87 * array_row + 0.25
        outs = tmp_path / name
        spatial = outs / "spatial"
        spatial.mkdir(parents=True)
        # The positions file lists every barcode of the slide, including ones with no counts.
        extra = ["TTTTTTTTTTTTTTTT-1"]
        rows = [
            (b, t, r, c, pr, pc)
            for b, t, r, c, pr, pc in zip(
                barcodes, in_tissue, array_row, array_col, pxl_row, pxl_col
            )
        ] + [(extra[0], 0, 40, 40, 9000, 9000)]
        lines = [",".join(str(v) for v in row) for row in rows]
        if positions == "new":
            header = "barcode,in_tissue,array_row,array_col,pxl_row_in_fullres,pxl_col_in_fullres"
            (spatial / "tissue_positions.csv").write_text("\n".join([header, *lines]) + "\n")
        else:
            (spatial / "tissue_positions_list.csv").write_text("\n".join(lines) + "\n")
        scalefactors = {
            "tissue_hires_scalef": 0.2,
            "tissue_lowres_scalef": 0.06,
            "spot_diameter_fullres": 40.5,
            "fiducial_diameter_fullres": 65.4,
        }
        (spatial / "scalefactors_json.json").write_text(json.dumps(scalefactors))
        hires = rng.integers(0, 255, (500, 450, 3), dtype=np.uint8)
        Image.fromarray(hires).save(spatial / "tissue_hires_image.png")
        Image.fromarray(hires[::3, ::3]).save(spatial / "tissue_lowres_image.png")
        if counts == "h5":
            write_10x_h5(outs / "filtered_feature_bc_matrix.h5", matrix, barcodes, ids, names)
        else:
            _write_mtx(outs / "filtered_feature_bc_matrix", matrix, barcodes, ids, names)
        truth = {
            "counts": matrix,
            "barcodes": barcodes,
            "ids": ids,
            "names": names,
            "in_tissue": in_tissue.astype(bool),
            "array_row": array_row,
            "array_col": array_col,
            "spatial": np.column_stack([pxl_col, pxl_row]),
            "scalefactors": scalefactors,
            "hires": hires,
        }
        return outs, truth

    return make


TINY_DETECTOR = {
    "preprocess": {"n_top_genes": 100},
    "patch": {"size": 16},
    "expression": {"hidden_dim": 32, "out_dim": 16},
    "image": {"backbone": "test_resnet", "out_dim": 16, "thumbnail": 8},
    "omib": {"latent_dim": 8, "fused_dim": 16},
    "train": {"warmup_epochs": 1, "max_epochs": 2, "batch_size": 128, "progress_bar": False},
    "mi": {"steps": 20, "batch_size": 64},
}
"""A detector configuration small enough to train in seconds on CPU."""


@pytest.fixture(scope="session")
def tiny_config():
    from omib_st.config import load_config

    return load_config(TINY_DETECTOR)

"""Real-H&E benchmark: cluster truth, the A1 alignment, image baselines, runner, robustness, CLI
and workflow, on a fake her2st folder with drawn H&E (tumour spots crowded with large dark
nuclei), plus checks on the real sections."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from omib_st.benchmarks.histology import baselines as bl
from omib_st.benchmarks.histology.align import app_tissue_mask, fit_alignment
from omib_st.benchmarks.histology.data import (
    GROUP_KEY,
    cluster_annotations,
    cluster_groups,
    discover_sections,
    load_a1,
    load_section,
    load_sections,
)
from omib_st.benchmarks.histology.robustness import robustness_markdown, stain_robustness
from omib_st.benchmarks.histology.run import (
    COLUMNS,
    FeatureStore,
    folds,
    run_fold,
    summary_markdown,
)
from omib_st.cli import main

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflows" / "histology" / "Snakefile"
SPACING, N_GRID, N_GENES = 40, 8, 30
A1_SCALE, A1_SHIFT = 0.5, np.array([30.0, 60.0])
MOTIVATION = """patient,cluster,annotated as,based on,ref1,ref2
B,0,unknown,,,
B,1,immune : APC, myeloid,Marker genes include: HLA-D*,,
B,2,cancer,Marker genes include: ERBB2,,
C,0,unknown,,,
C,1,connective tissue,Marker genes include: COL1A1,,
C,2,cancer 1,Marker genes include: ERBB2,,
"""


def _lattice(drop_corner: bool = False) -> pd.DataFrame:
    x, y = np.meshgrid(np.arange(2, 2 + N_GRID), np.arange(3, 3 + N_GRID))
    table = pd.DataFrame({"x": x.ravel(), "y": y.ravel()})
    if drop_corner:  # an L-shaped section, so its orientation is unambiguous
        table = table[~((table.x >= 6) & (table.y <= 5))]
    table["pixel_x"] = SPACING * (table.x - 1.0)
    table["pixel_y"] = SPACING * (table.y - 2.0)
    return table.reset_index(drop=True)


def _draw(spots: pd.DataFrame, tumour: np.ndarray, rng, shape=(400, 400)) -> np.ndarray:
    """Pink stroma; each spot gets a few small nuclei, tumour spots many large dark ones."""
    image = np.empty((*shape, 3), dtype=np.uint8)
    image[:] = (228, 178, 212)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for (cx, cy), is_tumour in zip(spots[["pixel_x", "pixel_y"]].to_numpy(), tumour):
        n, radius, colour = (14, 3.2, (55, 35, 110)) if is_tumour else (3, 1.8, (110, 80, 160))
        for dx, dy in rng.uniform(-16, 16, size=(n, 2)):
            disc = (xx - cx - dx) ** 2 + (yy - cy - dy) ** 2 <= radius**2
            image[disc] = colour
    return np.clip(image + rng.integers(-6, 7, image.shape), 0, 255).astype(np.uint8)


def _write_counts(root: Path, name: str, spots: pd.DataFrame, rng) -> None:
    counts = rng.poisson(5, size=(len(spots), N_GENES))
    frame = pd.DataFrame(counts, index=spots.x.astype(str) + "x" + spots.y.astype(str),
                         columns=[f"G{i}" for i in range(N_GENES)])  # fmt: skip
    frame.to_csv(root / "counts" / f"{name}.tsv.gz", sep="\t")
    spots.assign(new_x=spots.x, new_y=spots.y, selected=1).to_csv(
        root / "spots" / f"{name}_selection.tsv", sep="\t", index=False
    )


def _write_section(root: Path, name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    spots = _lattice()
    tumour = spots.x.to_numpy() >= 6
    _write_counts(root, name, spots, rng)
    cluster = np.where(tumour, 2, 1)
    cluster[spots.y.to_numpy() == 3] = 0  # an "unknown" row
    clusters = spots.assign(label=cluster).iloc[:-1]  # the last spot has no cluster
    clusters.to_csv(root / "clusters" / f"{name}.tsv.gz", sep="\t")
    Image.fromarray(_draw(spots, tumour, rng)).save(root / "images" / f"{name}.jpg", quality=95)


def _write_a1(root: Path) -> None:
    rng = np.random.default_rng(9)
    spots = _lattice(drop_corner=True)
    tumour = spots.x.to_numpy() >= 6
    _write_counts(root, "A1", spots, rng)
    label = np.where(tumour, "invasive cancer", "connective tissue").astype(object)
    label[0] = "undetermined"
    spots.assign(x=spots.x + 0.02, y=spots.y - 0.03, label=label).to_csv(
        root / "labels" / "A1_labeled_coordinates.tsv", sep="\t", index=False
    )
    app = spots.assign(pixel_x=spots.pixel_x * A1_SCALE + A1_SHIFT[0],
                       pixel_y=spots.pixel_y * A1_SCALE + A1_SHIFT[1])  # fmt: skip
    drawn = _draw(app, tumour, rng, shape=(320, 300))
    yy, xx = np.mgrid[:320, :300]
    near = np.zeros((320, 300), dtype=bool)
    for cx, cy in app[["pixel_x", "pixel_y"]].to_numpy():  # tissue: squares around the spots
        near |= (np.abs(xx - cx) <= SPACING * A1_SCALE / 2) & (
            np.abs(yy - cy) <= SPACING * A1_SCALE / 2
        )
    drawn[~near] = 0
    drawn[5:40, 240:295] = (230, 220, 230)  # the app's annotation inset
    Image.fromarray(drawn).save(root / "images" / "A1_app.png")


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory) -> Path:
    """B1, C1, C2 (images, clusters, counts, spots) and A1 (app image, labels)."""
    root = tmp_path_factory.mktemp("her2st")
    for folder in ("counts", "spots", "labels", "clusters", "images"):
        (root / folder).mkdir()
    (root / "clusters" / "motivation.csv").write_text(MOTIVATION)
    for seed, name in enumerate(("B1", "C1", "C2")):
        _write_section(root, name, seed)
    _write_a1(root)
    return root


@pytest.fixture(scope="module")
def sections(fake_data):
    return load_sections(fake_data)


def test_cluster_annotations_survive_unquoted_commas(fake_data):
    table = cluster_annotations(fake_data)
    assert table.loc[(table.patient == "B") & (table.cluster == 1), "annotation"].item() == (
        "immune : APC, myeloid"
    )
    groups = cluster_groups(pd.Series(["cancer 2", "unknown", None, "breast glands 1"]))
    assert list(groups) == ["anomalous", "excluded", "excluded", "normal"]


def test_discovery_and_cluster_truth(fake_data, sections):
    assert discover_sections(fake_data) == ["B1", "C1", "C2", "A1"]
    b1 = sections["B1"]
    tumour = (b1.obs.array_col >= 6).to_numpy()
    groups = b1.obs[GROUP_KEY].astype(str).to_numpy()
    unknown = (b1.obs.array_row == 3).to_numpy()
    assert (groups[unknown] == "excluded").all()
    assert (groups[~unknown & tumour][:-1] == "anomalous").all()
    assert (groups[~unknown & ~tumour] == "normal").all()
    assert groups[-1] == "excluded"  # no cluster
    assert b1.obs["truth"].iloc[-2] == "cancer"


def test_alignment_recovers_a_known_map_and_its_orientation(fake_data, sections):
    a1 = sections["A1"]
    spots = pd.read_csv(fake_data / "spots" / "A1_selection.tsv", sep="\t")
    expected = spots[["pixel_x", "pixel_y"]].to_numpy() * A1_SCALE + A1_SHIFT
    np.testing.assert_allclose(a1.obsm["spatial"], expected, atol=2.5)
    info = a1.uns["spatial"]["A1"]["alignment"]
    assert not info["flipped"] and info["on_tissue"] > 0.97 and info["coverage"] > 0.9
    assert min(v for k, v in info["alternatives"].items() if k.startswith("flip")) > 2 * min(
        info["alternatives"].values()
    )
    assert a1.uns["spatial"]["A1"]["scalefactors"]["spot_diameter_fullres"] == pytest.approx(
        SPACING * A1_SCALE / 2, rel=0.05
    )
    mirrored = spots[["pixel_x", "pixel_y"]].to_numpy() * [-1, 1]
    image = np.asarray(Image.open(fake_data / "images" / "A1_app.png"))
    fit = fit_alignment(mirrored, app_tissue_mask(image))
    assert fit.flipped
    np.testing.assert_allclose(fit.apply(mirrored), expected, atol=2.5)


def test_alignment_objective_keeps_the_lattice_off_the_tissue_edge(fake_data):
    from omib_st.benchmarks.histology.align import _Objective

    points = pd.read_csv(fake_data / "spots" / "A1_selection.tsv", sep="\t")
    points = points[["pixel_x", "pixel_y"]].to_numpy(dtype=float)
    mask = app_tissue_mask(np.asarray(Image.open(fake_data / "images" / "A1_app.png")))
    objective = _Objective(points, mask, SPACING * A1_SCALE, np.random.default_rng(0))
    true = np.column_stack([A1_SCALE * np.eye(2), A1_SHIFT])
    centre = points.mean(axis=0) * A1_SCALE + A1_SHIFT
    grown = true * 1.08  # outer spots move a quarter spacing out, still on the tissue
    grown[:, 2] = centre - 1.08 * A1_SCALE * points.mean(axis=0)
    assert objective(true) < 0.05 < objective(grown)


def test_colour_histograms_and_seeded_random_cnn():
    patches = np.random.default_rng(0).integers(0, 256, (4, 3, 16, 16), dtype=np.uint8)
    hist = bl.colour_histograms(patches)
    assert hist.shape == (4, 3 * bl.COLOUR_BINS)
    np.testing.assert_allclose(hist.reshape(4, 3, -1).sum(axis=2), 1.0)
    state = torch.random.get_rng_state()
    first = bl.cnn_features(patches, bl.random_cnn(1, "test_resnet"))
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(first, bl.cnn_features(patches, bl.random_cnn(1, "test_resnet")))
    assert not np.allclose(first, bl.cnn_features(patches, bl.random_cnn(2, "test_resnet")))


def test_knn_scores_are_mean_distances_in_reference_z_units():
    reference = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    sd = reference[:, 0].std()
    far, near = bl.knn_scores(reference, np.array([[2.0 + 100 * sd, 5.0]]), reference[1:2], k=2)
    assert far[0] == pytest.approx(100 - 0.5 * (1 + 0) * 2 / sd, rel=1e-9)  # z units, mean of 2
    assert near[0] == pytest.approx(0.5 * 2 / sd)  # the constant column is dropped


def test_leave_one_section_out_and_a1_folds(sections):
    by_target = {f.target: f.references for f in folds(list(sections))}
    assert by_target == {"B1": ("C1", "C2"), "C1": ("B1", "C2"), "C2": ("B1", "C1"),
                         "A1": ("B1", "C1", "C2")}  # fmt: skip


def test_image_baselines_find_the_drawn_tumour(sections):
    store = FeatureStore(sections)
    records = []
    for fold in folds(list(sections)):
        records += run_fold(sections, fold, ["knn_descriptors", "knn_color_reinhard"], seed=0,
                            store=store, log=None)[0]  # fmt: skip
    table = pd.DataFrame(records)
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS or set(COLUMNS) <= set(table.columns)
    assert (table.error == "").all()
    descriptors = table[table.method == "knn_descriptors"].set_index("target")
    assert (descriptors.auc.drop("A1") > 0.95).all() and descriptors.auc["A1"] > 0.7  # half res
    assert descriptors.loc["A1", "n_evaluated"] == len(sections["A1"]) - 1  # undetermined
    summary = summary_markdown(table)
    assert "kNN, morphology descriptors" in summary and "| A1 |" in summary.replace(
        " A1 |", "| A1 |"
    )


def test_stain_robustness_reports_shifts_in_iqr_units(sections):
    small = {k: v for k, v in sections.items() if k != "A1"}
    table = stain_robustness(small, ["C1"], kind="color", log=None)
    assert set(table.perturbation) == {"hed_jitter", "brightness_jitter", "section_hed",
                                       "section_darker"}  # fmt: skip
    assert set(table.stain) == {"raw", "reinhard"} and np.isfinite(table.median_shift_iqr).all()
    darker = table.set_index(["stain", "perturbation"]).median_shift_iqr
    assert abs(darker["reinhard", "section_darker"]) < abs(darker["raw", "section_darker"])
    assert "section_darker" in robustness_markdown(table)


def test_cli_writes_the_table(fake_data, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["benchmark", "histology", "--data", str(fake_data), "--out", str(out),
                 "--methods", "knn_color", "--seeds", "0", "--targets", "C1", "A1"])  # fmt: skip
    assert code == 0
    table = pd.read_csv(out / "table.csv")
    assert set(table.target) == {"C1", "A1"} and (out / "features" / "color" / "A1.npy").is_file()
    assert "kNN, colour histograms" in (out / "table.md").read_text()


@pytest.mark.benchmark
def test_quick_omib_hooks_and_workflow(fake_data, tmp_path):
    exe = shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))
    methods = "knn_descriptors knn_cnn_reinhard omib_image omib_fused omib_expression"
    result = subprocess.run(
        [exe, "-s", str(SNAKEFILE), "--cores", "2", "--config", f"data={fake_data}", "seeds=1",
         f"methods={methods}", "targets=C1 A1", "quick=true"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "results" / "histology" / "table.csv")
    assert len(table) == 10 and (table.error.fillna("") == "").all(), table[["method", "error"]]
    omib = table[table.method.str.startswith("omib")].set_index(["method", "target"])
    assert (
        omib.image_used.loc["omib_image"].all() and not omib.image_used.loc["omib_expression"].any()
    )
    assert (tmp_path / "results" / "histology" / "sections" / "A1_alignment.json").is_file()


@pytest.mark.shared_data
def test_real_sections_truth_and_a1_alignment(her2st_root):
    assert discover_sections(her2st_root) == ["B4", "C2", "C3", "C4", "C5", "C6", "A1"]
    c2 = load_section(her2st_root, "C2")
    counts = c2.obs[GROUP_KEY].value_counts()
    assert counts["anomalous"] == 83 and counts["normal"] == 88
    a1 = load_a1(her2st_root)
    info = a1.uns["spatial"]["A1"]["alignment"]
    assert info["on_tissue"] > 0.98 and info["coverage"] > 0.95 and not info["flipped"]
    assert abs(info["rotation_deg"]) < 2 and info["scales"][1] / info["scales"][0] > 0.97
    assert a1.obs[GROUP_KEY].value_counts()["normal"] == 38
    # the pathologist's "cancer in situ" spots sit on the ducts at the section's left edge
    in_situ = a1.obsm["spatial"][(a1.obs["pathology"] == "cancer in situ").to_numpy()]
    assert np.median(in_situ[:, 0]) < 0.2 * a1.obsm["spatial"][:, 0].max()

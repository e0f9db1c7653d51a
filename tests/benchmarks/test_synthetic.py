"""Synthetic benchmark (SIM-I/II/III): runner, table, CLI and the Snakemake workflow."""

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omib_st.benchmarks.synthetic import (
    METHODS,
    SETTINGS,
    plan,
    read_records,
    run_synthetic,
    run_table,
    summary_markdown,
    write_outputs,
    write_record,
)
from omib_st.benchmarks.synthetic_data import make_synthetic
from omib_st.cli import main

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflows" / "synthetic" / "Snakefile"
# Smaller than --quick: the default suite runs every method once in a few seconds.
TINY = {
    "n_train": 1000, "n_val": 300, "n_test": 600, "train.warmup_epochs": 3,
    "train.max_epochs": 5, "train.patience": 0, "train.batch_size": 64, "train.lr": 3e-3,
    "mi.steps": 30,
}  # fmt: skip


def test_synthetic_data_shapes_and_bayes_level():
    data = make_synthetic("SIM-II", n_train=50, n_val=10, n_test=20, seed=3)
    assert data["train"].inputs["v1"].shape == (50, 64)
    assert data["test"].optimal.shape == (20, 24)
    assert set(data["val"].target.unique().tolist()) <= {0, 1}
    again = make_synthetic("SIM-II", n_train=50, n_val=10, n_test=20, seed=3)
    assert (again["train"].inputs["v2"] == data["train"].inputs["v2"]).all()


@pytest.fixture(scope="module")
def tiny_table():
    import torch

    torch.set_num_threads(1)
    return run_table(["SIM-I"], METHODS, [0], beta_scales=[1.0, 100.0], log=None, **TINY)


def test_every_method_gives_a_row_with_metrics(tiny_table):
    rows = tiny_table
    assert sorted(rows.method.unique()) == sorted(METHODS)
    assert len(rows) == len(METHODS) + 1  # + OMIB at β = 100 × M_u
    assert rows.test_acc.between(0, 1).all()
    omib = rows[(rows.method == "omib") & (rows.beta_scale == 1.0)].iloc[0]
    assert omib.test_acc > 0.7  # chance is ~0.5
    assert omib.beta == pytest.approx(omib.m_upper_safe)  # β = 1 × M_u^safe
    assert omib.H_joint > 0 and 0.01 <= omib.r_v2 <= 1.99
    assert rows[rows.method == "optimal"].test_acc.iloc[0] > 0.8
    assert math.isnan(rows[rows.method == "optimal"].beta.iloc[0])
    fixed = rows[rows.method == "fixed_r"].iloc[0]
    assert fixed.r_v2 == 1.0


def test_huge_beta_is_scaled_and_compresses(tiny_table):
    rows = tiny_table[tiny_table.method == "omib"].set_index("beta_scale")
    assert rows.loc[100.0].beta == pytest.approx(100 * rows.loc[100.0].m_upper_safe)
    assert rows.loc[100.0].kl_v1 < rows.loc[1.0].kl_v1


def test_outputs_and_records_round_trip(tiny_table, tmp_path):
    paths = write_outputs(tiny_table, tmp_path)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    markdown = paths["md"].read_text()
    assert "| OMIB |" in markdown and "optimum − OMIB" in markdown and "| 100 |" in markdown
    for i, record in enumerate(tiny_table.to_dict("records")):
        write_record(tmp_path / f"run{i}.json", record)
    back = read_records(sorted(tmp_path.glob("run*.json")))
    assert len(back) == len(tiny_table)
    assert summary_markdown(back).count("\n") == markdown.count("\n")


def test_plan_adds_sweep_points_once():
    runs = plan(["SIM-III"], ["omib", "optimal"], [0, 1], beta_scales=[0.1, 1.0, 10.0])
    assert len(runs) == 2 * (2 + 2)
    with pytest.raises(ValueError):
        plan(["SIM-IV"], ["omib"], [0])
    with pytest.raises(ValueError):
        run_synthetic("SIM-I", method="nope")


def test_cli_writes_table_markdown_and_plot(tmp_path, capsys):
    args = ["benchmark", "synthetic", "--setting", "SIM-III", "--methods", "omib", "optimal",
            "--seeds", "1", "--quick", "--n-train", "600", "--epochs", "2", "--warmup-epochs",
            "1", "--threads", "1", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    for name in ("table.csv", "table.md", "accuracy_vs_beta.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "optimal [a0, a1, a2]" in capsys.readouterr().out


def _snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("snakemake") or str(Path(sys.executable).with_name("snakemake"))
    return subprocess.run([exe, "-s", str(SNAKEFILE), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=1800)  # fmt: skip


def test_workflow_dry_run(tmp_path):
    result = _snakemake("-n", "--cores", "1", "--config", "seeds=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    text = result.stdout + result.stderr
    # 3 settings × 2 seeds × (7 methods + 5 extra β points) runs, and the aggregation.
    n_runs = len(SETTINGS) * 2 * (len(METHODS) + 5)
    assert re.search(rf"^run\s+{n_runs}$", text, re.MULTILINE), text[-2000:]
    assert re.search(r"^aggregate\s+1$", text, re.MULTILINE)


@pytest.mark.benchmark
def test_workflow_quick_run(tmp_path):
    result = _snakemake("--cores", "2", "--config", "quick=true", "settings=[SIM-I]",
                        f"results={tmp_path / 'out'}", cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("table.csv", "table.md", "accuracy_vs_beta.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    table = read_records(sorted((tmp_path / "out" / "runs").rglob("*.json")))
    assert len(table) == len(METHODS) + 5
    assert table[table.method == "omib"].test_acc.max() > 0.7

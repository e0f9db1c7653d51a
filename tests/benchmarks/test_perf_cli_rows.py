import pytest

from omib_st.benchmarks.perf import spot_epochs_per_second
from omib_st.benchmarks.perf.cli_rows import (
    cli_rows_markdown,
    detect_command,
    fit_command,
    her2st_fit_row,
    visium_detect_row,
)


def test_throughput_is_spots_times_epochs_per_training_second():
    training = {"n_train_spots": 600, "epochs": 60, "train_seconds": 20.0}
    assert spot_epochs_per_second(training) == 1800.0
    assert spot_epochs_per_second({**training, "train_seconds": None}) is None


def test_the_commands_are_the_users_with_defaults(tmp_path):
    command = fit_command(["a.h5ad", "b.h5ad"], tmp_path / "m", seed=3)
    assert command[1:4] == ["-m", "omib_st", "fit"] and "--set" not in command
    assert command[command.index("--seed") + 1] == "3"
    assert "breast glands" in command[command.index("--normal-values") + 1 :]
    command = detect_command("s.h5ad", "r.h5ad", tmp_path / "o.h5ad")
    assert command[1:5] == ["-m", "omib_st", "detect", "s.h5ad"] and "--set" not in command
    assert command[command.index("--reference") + 1] == "r.h5ad"


@pytest.mark.slow
def test_visium_row_times_detect_and_scores_the_planted_lesions(tmp_path, monkeypatch):
    from omib_st.benchmarks.perf import cli_rows

    monkeypatch.setattr(cli_rows, "VISIUM_4K", {"n_rows": 30, "n_cols": 30, "n_genes": 200})
    row = visium_detect_row(tmp_path, threads=1)
    assert row["n_spots"] == 900 and row["n_genes"] == 200 and row["device"] == "cpu"
    assert row["wall_s"] > row["train_s"] > 0 and row["spot_epochs_per_s"] > 0
    assert row["auc"] > 0.8


@pytest.mark.slow
@pytest.mark.shared_data
def test_her2st_row_times_the_cli_fit_on_the_six_sections(her2st_root, tmp_path):
    row = her2st_fit_row(her2st_root, tmp_path, threads=1)
    assert row["n_train_spots"] == 608 and row["n_genes"] == 3000
    assert row["wall_s"] > row["train_s"] > 0 and row["spot_epochs_per_s"] > 0
    assert row["peak_rss_gb"] > 0.1 and row["device"] == "cpu"
    text = cli_rows_markdown([row], "omib-st benchmark perf")
    assert "| her2st fit |" in text and "| 608 |" in text

import pytest

from omib_st.benchmarks.perf import spot_epochs_per_second
from omib_st.benchmarks.perf_her2st import COLUMNS, fit_command, her2st_fit_row, her2st_markdown


def test_throughput_is_spots_times_epochs_per_training_second():
    training = {"n_train_spots": 600, "epochs": 60, "train_seconds": 20.0}
    assert spot_epochs_per_second(training) == 1800.0
    assert spot_epochs_per_second({**training, "train_seconds": None}) is None


def test_the_command_is_the_users_fit_with_defaults(tmp_path):
    command = fit_command(["a.h5ad", "b.h5ad"], tmp_path / "m", seed=3)
    assert command[1:4] == ["-m", "omib_st", "fit"] and "--set" not in command
    assert command[command.index("--seed") + 1] == "3"
    assert "breast glands" in command[command.index("--normal-values") + 1 :]


@pytest.mark.slow
@pytest.mark.shared_data
def test_her2st_row_times_the_cli_fit_on_the_six_sections(her2st_root, tmp_path):
    row = her2st_fit_row(her2st_root, tmp_path, threads=1)
    assert row["n_train_spots"] == 608 and row["n_genes"] == 3000
    assert row["fit_s"] > row["train_s"] > 0 and row["spot_epochs_per_s"] > 0
    assert row["fit_peak_rss_gb"] > 0.1
    assert "| 608 |" in her2st_markdown(row, "omib-st benchmark perf") and len(row) == len(COLUMNS)

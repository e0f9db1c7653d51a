"""The benchmarks' shared reporting layer: records, atomic writes, Markdown cells, maps."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from omib_st.benchmarks import reporting
from omib_st.benchmarks.her2st.records import read_runs, write_run
from omib_st.benchmarks.her2st.report import summary_markdown


def test_nan_and_inf_are_written_as_null(tmp_path):
    record = {
        "auc": math.nan,
        "ap": np.float64("inf"),
        "n": np.int64(3),
        "ok": np.bool_(True),
        "nested": {"beta": -math.inf, "list": [1.5, math.nan]},
        "path": tmp_path,
    }
    reporting.write_json(tmp_path / "run.json", record)
    text = (tmp_path / "run.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)  # strict JSON: NaN would not parse as null
    assert back["auc"] is None and back["ap"] is None and back["nested"]["beta"] is None
    assert back["nested"]["list"] == [1.5, None]
    assert back["n"] == 3 and back["ok"] is True and back["path"] == str(tmp_path)


def test_run_records_round_trip_with_nan_as_null(tmp_path):
    records = [
        {"method": "knn", "target": "A1", "seed": 0, "auc": math.nan, "error": "boom"},
        {"method": "knn", "target": "B1", "seed": 0, "auc": 0.75, "error": ""},
    ]
    write_run(tmp_path / "job.json", records, pd.DataFrame(columns=["target", "score"]))
    assert json.loads((tmp_path / "job.json").read_text())[0]["auc"] is None
    table, scores = read_runs([tmp_path / "job.json"])
    assert math.isnan(table.auc[0]) and table.auc[1] == 0.75 and scores.empty


class _Interrupted(Exception):
    pass


class _HalfWrittenTable:
    """A table whose ``to_csv`` writes a first line and then stops with ``error`` (a failing or
    killed writer)."""

    def __init__(self, error: type[BaseException] = _Interrupted):
        self.error = error

    def to_csv(self, path, **kwargs):
        with open(path, "w") as handle:
            handle.write("method,auc\n")
            handle.flush()
            raise self.error


@pytest.mark.parametrize("error", [_Interrupted, KeyboardInterrupt])
def test_an_interrupted_write_leaves_no_partial_file(tmp_path, error):
    with pytest.raises(error):
        reporting.write_csv(tmp_path / "table.csv", _HalfWrittenTable(error))
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one is left


def test_an_interrupted_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "table.csv"
    reporting.write_csv(path, pd.DataFrame({"method": ["knn"], "auc": [0.8]}))
    with pytest.raises(_Interrupted):
        reporting.write_csv(path, _HalfWrittenTable())
    assert path.read_text() == "method,auc\nknn,0.8\n"
    assert list(tmp_path.iterdir()) == [path]


def test_markdown_cell_shows_mean_plus_minus_sd():
    assert reporting.summary_cell(pd.Series([0.5, 0.7])) == "0.600 ± 0.100"  # population sd
    assert reporting.summary_cell(pd.Series([0.5, np.nan]), runs=True) == (
        "0.500 ± 0.000 (1 of 2 runs)"
    )
    assert reporting.summary_cell(pd.Series([np.nan, np.nan])) == "failed"
    assert reporting.summary_cell(pd.Series([], dtype=float)) == "–"
    assert reporting.mean_sd([1.0, 2.0, 3.0], ".2f", ddof=1) == "2.00 ± 1.00"
    assert reporting.header(["method", "A1"]) == ["| method | A1 |", "|---|---|"]


def test_summary_table_cells_are_mean_plus_minus_sd_over_seeds():
    rows = [
        {
            "method": "knn",
            "target": t,
            "seed": s,
            "auc": auc,
            "ap": 0.5,
            "f1_true_fraction": 0.4,
            "f1_own": 0.3,
            "runtime_s": 2.0,
            "n_spots": 10,
            "n_anomalous": 4,
            "n_evaluated": 8,
        }
        for t, s, auc in [("A1", 0, 0.6), ("A1", 1, 0.8), ("B1", 0, 0.9), ("B1", 1, 0.9)]
    ]
    markdown = summary_markdown(pd.DataFrame(rows))
    line = next(x for x in markdown.splitlines() if x.startswith("| kNN distance (PCA) |"))
    # A1: 0.7 ± 0.1 over seeds; B1: 0.9 ± 0; mean over sections per seed 0.75, 0.85 → 0.8 ± 0.05
    assert line == (
        "| kNN distance (PCA) | 0.700 ± 0.100 | 0.900 ± 0.000 | **0.800 ± 0.050** | 2.0 | "
        "0 of 4 | 0 |"
    )


def test_tidy_puts_columns_first_in_method_order():
    table = pd.DataFrame(
        {
            "extra": [1, 2, 3],
            "seed": [1, 0, 0],
            "target": ["A", "A", "B"],
            "method": ["b", "b", "a"],
        }
    )
    tidy = reporting.tidy(table, ["b", "a"], ["method", "target", "seed"])  # not alphabetical
    assert list(tidy.columns) == ["method", "target", "seed", "extra"]
    assert list(tidy.extra) == [2, 1, 3]


def test_map_is_drawn_without_pyplot_state(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    scores = pd.DataFrame(
        {
            "array_col": [0, 1, 0, 1],
            "array_row": [0, 0, 1, 1],
            "pathology": ["invasive cancer", "adipose tissue", "nan", "nan"],
            "score": [2.0, 0.1, 0.5, 0.3],
            "anomaly": [True, False, False, False],
        }
    )
    reporting.plot_map(scores, tmp_path / "map.png", "A1")
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "map.png"]
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures

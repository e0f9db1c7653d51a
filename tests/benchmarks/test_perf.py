import csv

import pytest
import yaml

from omib_st.benchmarks.perf import COLUMNS, lattice, run_phase, section
from omib_st.cli import main


def test_lattice_and_sections():
    assert lattice(5000) == (71, 71) and lattice(500_000)[0] * lattice(500_000)[1] >= 500_000
    adata = section(300, seed=2)
    ordered = section(300, seed=2, shuffle=False)
    assert adata.n_obs == ordered.n_obs >= 300 and adata.obs["is_anomaly"].any()
    assert list(adata.obs_names) != list(ordered.obs_names)  # random order, like barcodes
    assert sorted(adata.obs_names) == sorted(ordered.obs_names)


def _tiny_run(tmp_path, tiny_config, *flags):
    from omib_st.config import to_dict

    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(to_dict(tiny_config)))
    out = tmp_path / "perf"
    code = main([
        "benchmark", "perf", "--sizes", "300", "--fit-spots", "150", "--config",
        str(tmp_path / "tiny.yaml"), "--device", "cpu", "--out", str(out), *flags,
    ])  # fmt: skip
    assert code == 0
    return out


def test_tiny_perf_run_in_process(tmp_path, tiny_config):
    out = _tiny_run(tmp_path, tiny_config, "--in-process")
    (row,) = csv.DictReader((out / "perf.csv").open())
    assert int(row["n_spots"]) >= 300 and float(row["spots_per_s"]) > 0
    assert "--in-process" in (out / "perf.md").read_text()


@pytest.mark.slow
def test_tiny_perf_run_writes_the_tables(tmp_path, tiny_config):
    out = _tiny_run(tmp_path, tiny_config)
    rows = list(csv.DictReader((out / "perf.csv").open()))
    assert len(rows) == 1 and tuple(rows[0]) == COLUMNS
    row = rows[0]
    assert int(row["n_spots"]) >= 300 and int(row["fit_spots"]) == 135  # 150 minus validation
    for key in ("fit_s", "score_s", "spots_per_s", "score_peak_rss_gb", "fit_peak_rss_gb"):
        assert float(row[key]) > 0, key
    # each phase ran in its own process: the scoring process read only its section
    assert float(row["score_peak_rss_gb"]) >= float(row["score_data_rss_gb"]) > 0
    text = (out / "perf.md").read_text()
    assert "Machine: cpu" in text and "omib-st benchmark perf --sizes 300" in text
    assert not list((out / "work").glob("*.h5ad"))  # generated data removed


def test_unknown_phase_and_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match="unknown phase"):
        run_phase("train", {})
    assert main(["benchmark", "perf", "--sizes", "10", "--out", str(tmp_path)]) == 2

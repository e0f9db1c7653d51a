"""The performance benchmark's tables: ``perf.csv`` and ``perf.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLUMNS = (
    "n_spots",
    "fit_spots",
    "image",
    "fit_s",
    "fit_cpu_s",
    "fit_peak_rss_gb",
    "fit_peak_gpu_gb",
    "spot_epochs_per_s",
    "score_s",
    "score_cpu_s",
    "spots_per_s",
    "score_data_rss_gb",
    "score_peak_rss_gb",
    "score_peak_gpu_gb",
    "auc",
    "load_before",
    "load_after",
)
NOTE = (
    "Peak RSS: the process's high-water mark (imports and the data read included); "
    "score_data_rss_gb: its RSS after reading the section and the model. load: 1-minute "
    "load average before / after (other jobs inflate the times).\n"
)


def write_tables(
    rows: list[dict[str, Any]], out: str | Path, machine: dict[str, Any], command: str
) -> None:
    """``perf.csv`` (one row per size) and ``perf.md`` (machine, command, table)."""
    import pandas as pd

    from omib_st.benchmarks.reporting import header, row, write_csv, write_text

    out = Path(out)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    write_csv(out / "perf.csv", table)
    described = ", ".join(f"{k} {v}" for k, v in machine.items() if v is not None)
    lines = header(COLUMNS) + [
        row("" if pd.isna(v) else v for v in values) for values in table.itertuples(index=False)
    ]
    text = (
        f"# omib-st performance\n\nMachine: {described}\n\nCommand: `{command}`\n\n"
        + "\n".join(lines)
        + "\n\n"
        + NOTE
    )
    write_text(out / "perf.md", text)

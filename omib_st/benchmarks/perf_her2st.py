"""The fixed user-facing row of ``omib-st benchmark perf``: ``omib-st fit`` on the six labelled
her2st sections, as a user runs it.

The sections are written as h5ad files with all their genes; the command is the installed CLI
with its defaults, trained on the normal spots, in a child process whose wall time, CPU time and
peak RSS are measured (imports and reading included). The model's own record gives the
training throughput.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from omib_st.benchmarks.her2st.data import NORMAL
from omib_st.benchmarks.perf.phases import spot_epochs_per_second
from omib_st.benchmarks.reporting import header
from omib_st.benchmarks.reporting import row as table_row

COLUMNS = (
    "n_train_spots",
    "n_genes",
    "epochs",
    "fit_s",
    "fit_cpu_s",
    "fit_peak_rss_gb",
    "train_s",
    "spot_epochs_per_s",
    "load_before",
    "load_after",
)


def fit_command(files: list[str], model: str | Path, *, seed: int = 0) -> list[str]:
    """The user's command: the installed CLI with its defaults, trained on the normal spots."""
    return [
        sys.executable,
        "-m",
        "omib_st",
        "fit",
        *files,
        "--out",
        str(model),
        "--force",
        "--normal-key",
        "pathology",
        "--normal-values",
        *NORMAL,
        "--seed",
        str(seed),
    ]


def her2st_fit_row(
    data: str | Path, work: str | Path, *, seed: int = 0, threads: int | None = None
) -> dict[str, Any]:
    """Write the labelled her2st sections of ``data`` to ``work`` (once) and time ``omib-st fit``
    on them in a fresh process; one row of :data:`COLUMNS`."""
    from omib_st.benchmarks.her2st.data import discover_sections, load_sections
    from omib_st.errors import OmibError
    from omib_st.io import write_h5ad

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    names = sorted(discover_sections(data))
    files = [work / f"her2st_{name}.h5ad" for name in names]
    if not all(f.exists() for f in files):
        for name, adata in load_sections(data, names, image=False).items():
            write_h5ad(adata, work / f"her2st_{name}.h5ad", force=True)
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    model, log = work / "her2st_model", work / "her2st_fit.log"
    load_before, start = os.getloadavg()[0], time.perf_counter()
    command = fit_command([str(f) for f in files], model, seed=seed)
    with log.open("w") as output:
        output.write(" ".join(command) + "\n")
        output.flush()
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise OmibError(
            f"omib-st fit failed on the her2st sections (log: {log})",
            "run the command in the log by hand to see why",
        )
    meta = json.loads((model / "model.json").read_text())
    training = meta["training"]
    return {
        "n_train_spots": training["n_train_spots"],
        "n_genes": len(meta["genes"]),
        "epochs": training["epochs"],
        "fit_s": round(seconds, 1),
        "fit_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "fit_peak_rss_gb": round(usage.ru_maxrss * 1024 / 1e9, 2),  # kB on Linux
        "train_s": training.get("train_seconds"),
        "spot_epochs_per_s": round(spot_epochs_per_second(training) or float("nan"), 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def her2st_markdown(row: dict[str, Any], command: str) -> str:
    """The row as a Markdown table under the command that measured it."""
    cells = ["" if row.get(c) is None else row[c] for c in COLUMNS]
    table = "\n".join([*header(COLUMNS), table_row(cells)]) + "\n"
    return (
        f"## her2st-size `omib-st fit` (six sections, all genes, defaults)\n\n"
        f"Command: `{command}`\n\n{table}"
    )

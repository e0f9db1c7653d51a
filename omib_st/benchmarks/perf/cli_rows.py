"""The fixed user-facing rows of ``omib-st benchmark perf``: the CLI as a user runs it.

- ``her2st``: ``omib-st fit`` on the six labelled her2st sections, written as h5ad files with all
  their genes, trained on the normal spots with the defaults (expression only);
- ``visium4k``: ``omib-st detect`` with the defaults on a 3,960-spot synthetic Visium section with
  its H&E image and planted lesions, against a lesion-free reference of the same size.

Each command runs in a child process whose wall time, CPU time and peak RSS are measured (imports
and reading included); the model's own record gives the training throughput.
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
    "row",
    "n_spots",
    "n_train_spots",
    "n_genes",
    "epochs",
    "wall_s",
    "cpu_s",
    "peak_rss_gb",
    "train_s",
    "spot_epochs_per_s",
    "auc",
    "device",
    "load_before",
    "load_after",
)
VISIUM_4K = {"n_rows": 60, "n_cols": 66, "n_genes": 3000}
"""The image row's section: 3,960 spots on the Visium hex lattice, 3,000 genes."""


def fit_command(files: list[str], model: str | Path, *, seed: int = 0) -> list[str]:
    """The user's command: the installed CLI with its defaults, trained on the normal spots."""
    return [
        *_cli("fit"),
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


def detect_command(section: str | Path, reference: str | Path, out: str | Path, *, seed: int = 0):
    """The user's command: ``omib-st detect`` with its defaults."""
    files = [str(section), "--reference", str(reference), "-o", str(out)]
    return [*_cli("detect"), *files, "--force", "--seed", str(seed)]


def her2st_fit_row(
    data: str | Path, work: str | Path, *, seed: int = 0, threads: int | None = None
) -> dict[str, Any]:
    """Time ``omib-st fit`` on the labelled her2st sections of ``data``, written to ``work`` as h5ad
    (once). ``data`` may also be a folder that already holds the ``her2st_*.h5ad`` files."""
    from omib_st.benchmarks.her2st.data import discover_sections, load_sections
    from omib_st.io import write_h5ad

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    files = sorted(Path(data).glob("her2st_*.h5ad"))
    if not files:
        names = sorted(discover_sections(data))
        files = [work / f"her2st_{name}.h5ad" for name in names]
        if not all(f.exists() for f in files):
            for name, adata in load_sections(data, names, image=False).items():
                write_h5ad(adata, work / f"her2st_{name}.h5ad", force=True)
    model = work / "her2st_model"
    command = fit_command([str(f) for f in files], model, seed=seed)
    measured = _timed_child(command, work / "her2st_fit.log", threads)
    return {"row": "her2st fit", **measured, **_model_record(model)}


def visium_detect_row(
    work: str | Path, *, seed: int = 0, threads: int | None = None
) -> dict[str, Any]:
    """Time ``omib-st detect`` on the 3,960-spot synthetic Visium section (written to ``work``
    once) with its image, against a lesion-free reference; one row of :data:`COLUMNS`."""
    import anndata as ad

    from omib_st.benchmarks.metrics import planted_auc
    from omib_st.datasets import synthetic_visium
    from omib_st.io import write_h5ad

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    section, reference = work / "visium4k.h5ad", work / "visium4k_reference.h5ad"
    if not (section.exists() and reference.exists()):
        write_h5ad(synthetic_visium(**VISIUM_4K, seed=0), section, force=True)
        write_h5ad(synthetic_visium(**VISIUM_4K, seed=1, lesions=()), reference, force=True)
    out = work / "visium4k_scored.h5ad"
    command = detect_command(section, reference, out, seed=seed)
    measured = _timed_child(command, work / "visium4k_detect.log", threads)
    run = ad.read_h5ad(out)
    info = run.uns["omib"]
    return {
        "row": "visium 4k detect",
        **measured,
        "n_spots": run.n_obs,
        "n_train_spots": info["n_train_spots"],
        "n_genes": int(info["n_genes"]),
        "epochs": info["epochs"],
        "train_s": info["train_seconds"],
        "spot_epochs_per_s": round(spot_epochs_per_second(info) or float("nan"), 1),
        "auc": round(planted_auc(run, run.obs["omib_score"].to_numpy()), 4),
        "device": info["device"],
    }


def cli_rows_markdown(rows: list[dict[str, Any]], command: str) -> str:
    """The rows as a Markdown table under the command that measured them."""
    lines = [table_row(["" if r.get(c) is None else r[c] for c in COLUMNS]) for r in rows]
    table = "\n".join([*header(COLUMNS), *lines]) + "\n"
    return f"## The CLI as a user runs it (defaults)\n\nCommand: `{command}`\n\n{table}"


def _cli(subcommand: str) -> list[str]:
    return [sys.executable, "-m", "omib_st", subcommand]


def _timed_child(command: list[str], log: Path, threads: int | None) -> dict[str, Any]:
    """Run ``command`` with its output in ``log``; its wall time, own CPU time and peak RSS."""
    from omib_st.errors import OmibError

    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    load_before, start = os.getloadavg()[0], time.perf_counter()
    with log.open("w") as output:
        output.write(" ".join(command) + "\n")
        output.flush()
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise OmibError(
            f"`{' '.join(command[2:4])}` failed (log: {log})",
            "run the command in the log by hand to see why",
        )
    return {
        "wall_s": round(seconds, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_gb": round(usage.ru_maxrss * 1024 / 1e9, 2),  # kB on Linux
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def _model_record(model: Path) -> dict[str, Any]:
    """Size and throughput from a saved model's ``model.json``."""
    meta = json.loads((model / "model.json").read_text())
    training = meta["training"]
    return {
        "n_train_spots": training["n_train_spots"],
        "n_genes": len(meta["genes"]),
        "epochs": training["epochs"],
        "train_s": training.get("train_seconds"),
        "spot_epochs_per_s": round(spot_epochs_per_second(training) or float("nan"), 1),
        "device": training.get("device"),
    }

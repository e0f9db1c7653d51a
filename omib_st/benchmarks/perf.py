"""Speed and memory of the detector on synthetic sections of growing size.

For each size N: a synthetic Visium HD-like section (8 µm bins on the hex lattice, an H&E image,
planted lesions; spots stored in random order, as Space Ranger's barcodes are) and a lesion-free
reference section of the same tissue are written to h5ad; then, each in a fresh process so its
peak memory is its own,

- ``fit``: read the reference, train on ``fit_spots`` of its spots (``train.max_spots``: users
  train on a subsample of a large reference), save the model;
- ``score``: read the section, load the model, score every spot (``omib_st.tl.detect``).

Each phase records wall and CPU seconds, the process's peak RSS (``getrusage`` high-water mark,
imports and the data read included) and its RSS after reading the data, peak GPU memory when CUDA
is used, and the 1-minute load average before and after (the machine may be shared).
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SPOT_SPACING_UM = 8.0
"""Bin size of the synthetic sections (Visium HD's 8 µm bins)."""
DEFAULT_SIZES = (5_000, 50_000, 500_000)
PHASES = ("generate", "fit", "score")
PRESET: dict[str, Any] = {
    "patch": {"size": 32},
    "image": {"backbone": "resnet10t"},
    "train": {"warmup_epochs": 1, "max_epochs": 2, "progress_bar": False},
    "mi": {"steps": 100},
}
"""Default detector settings: the CPU preset of ``omib-st demo`` with a short schedule."""
COLUMNS = (
    "n_spots", "fit_spots", "image", "fit_s", "fit_cpu_s", "fit_peak_rss_gb", "fit_peak_gpu_gb",
    "spot_epochs_per_s", "score_s", "score_cpu_s", "spots_per_s", "score_data_rss_gb",
    "score_peak_rss_gb", "score_peak_gpu_gb", "auc", "load_before", "load_after",
)  # fmt: skip


# ----------------------------------------------------------------------------- data
def lattice(n_spots: int) -> tuple[int, int]:
    """Rows and columns of a near-square lattice of about ``n_spots`` spots."""
    n_cols = max(8, math.ceil(math.sqrt(n_spots)))
    return max(8, math.ceil(n_spots / n_cols)), n_cols


def section(n_spots: int, *, seed: int = 0, lesions: bool = True, shuffle: bool = True):
    """A synthetic HD-like section of about ``n_spots`` 8 µm bins (image at 0.35 px/µm)."""
    import numpy as np

    from omib_st.datasets import synthetic_visium

    n_rows, n_cols = lattice(n_spots)
    adata = synthetic_visium(
        n_rows=n_rows, n_cols=n_cols, seed=seed, spot_spacing=SPOT_SPACING_UM,
        spot_diameter=SPOT_SPACING_UM, lesions=("both", "expression", "image") if lesions else (),
    )  # fmt: skip
    if shuffle:
        adata = adata[np.random.default_rng(seed).permutation(adata.n_obs)].copy()
    return adata


# ----------------------------------------------------------------------------- phases
def _rss() -> int | None:
    """Current resident set size in bytes (Linux), else None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _gpu_peak() -> float | None:
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_allocated() / 1e9


def run_phase(phase: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one phase in this process and measure it (see the module docstring)."""
    if args.get("threads"):
        import torch

        torch.set_num_threads(int(args["threads"]))
    record: dict[str, Any] = {"phase": phase, "load_before": os.getloadavg()[0]}
    if phase == "generate":
        start = time.perf_counter()
        from omib_st.io import write_h5ad

        for key, lesions, seed in (
            ("target", True, args["seed"]),
            ("reference", False, args["seed"] + 1),
        ):
            if args.get(key):
                adata = section(
                    args["n_spots"], seed=seed, lesions=lesions, shuffle=args["shuffle"]
                )
                record[f"{key}_n_spots"] = int(adata.n_obs)
                write_h5ad(adata, args[key], force=True)
                del adata
        record["seconds"] = time.perf_counter() - start
    elif phase == "fit":
        from omib_st.config import load_config
        from omib_st.io import read_h5ad
        from omib_st.model import OmibDetector

        config = load_config(args["config"])
        reference = read_h5ad(args["reference"])
        record["data_rss"] = _rss()
        start, cpu = time.perf_counter(), time.process_time()
        detector = OmibDetector(config).fit(reference, use_image=args["image"])
        record["seconds"], record["cpu_seconds"] = (
            time.perf_counter() - start,
            time.process_time() - cpu,
        )
        record["n_train_spots"] = detector.training["n_train_spots"]
        record["spot_epochs_per_s"] = spot_epochs_per_second(detector.training)
        detector.save(args["model"], force=True)
    elif phase == "score":
        import numpy as np

        import omib_st as om

        adata = om.io.read_h5ad(args["target"])
        detector = om.model.OmibDetector.load(args["model"])
        if args.get("device"):
            detector.config = om.config.replace(detector.config, **{"train.device": args["device"]})
        record["data_rss"] = _rss()
        start, cpu = time.perf_counter(), time.process_time()
        om.tl.detect(adata, model=detector)
        record["seconds"], record["cpu_seconds"] = (
            time.perf_counter() - start,
            time.process_time() - cpu,
        )
        record["n_spots"] = int(adata.n_obs)
        truth = adata.obs["is_anomaly"].to_numpy()
        if truth.any() and not truth.all():
            from sklearn.metrics import roc_auc_score

            record["auc"] = float(roc_auc_score(truth, adata.obs["omib_score"].to_numpy()))
        record["finite"] = bool(np.isfinite(adata.obs["omib_score"].to_numpy()).all())
    else:
        raise ValueError(f"unknown phase {phase!r}; choose from {PHASES}")
    record["peak_rss"] = _peak_rss()
    if phase != "generate":
        record["peak_gpu_gb"] = _gpu_peak()
    record["load_after"] = os.getloadavg()[0]
    return record


def spot_epochs_per_second(training: dict[str, Any]) -> float | None:
    """Training throughput of a fitted detector (its ``training`` record): training spots ×
    epochs / seconds of the training loop (β estimate included)."""
    seconds = training.get("train_seconds")
    if not seconds:
        return None
    return training["n_train_spots"] * training["epochs"] / seconds


def measure(phase: str, args: dict[str, Any], *, isolate: bool = True) -> dict[str, Any]:
    """:func:`run_phase` in a fresh Python process (``isolate``), so that its peak RSS is its own."""
    if not isolate:
        return run_phase(phase, args)
    import omib_st
    from omib_st.errors import OmibError

    root = str(Path(omib_st.__file__).resolve().parents[1])  # this copy of the package
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "omib_st.benchmarks.perf", phase, json.dumps(args)]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise OmibError(
            f"the {phase} phase failed (exit {result.returncode}):\n{tail}", "see above"
        )
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- runner
def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1) if memory else None,
        "gpu": gpu, "torch": torch.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "torch_threads": torch.get_num_threads(),
    }  # fmt: skip


def run_perf(
    sizes: Sequence[int] = DEFAULT_SIZES,
    out: str | Path = "results/perf",
    *,
    fit_spots: int = 2000,
    config: dict[str, Any] | None = None,
    image: bool = True,
    model: str | Path | None = None,
    device: str = "auto",
    seed: int = 0,
    threads: int | None = None,
    shuffle: bool = True,
    isolate: bool = True,
    keep_data: bool = False,
    command: str | None = None,
    log=print,
) -> list[dict[str, Any]]:
    """Generate, fit and score at each size; write ``perf.csv`` and ``perf.md`` into ``out``.

    ``config`` is a detector configuration mapping (default :data:`PRESET`); ``fit_spots`` becomes
    ``train.max_spots``. With ``model`` (a saved model folder) only the score phase runs.
    """
    from omib_st.config import load_config, replace, to_dict

    out = Path(out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    settings = load_config(config if config is not None else PRESET)
    settings = replace(settings, **{"train.max_spots": fit_spots, "train.device": device,
                                    "train.seed": seed})  # fmt: skip
    rows: list[dict[str, Any]] = []
    for n in sizes:
        paths = {k: str(work / f"{k}_{n}.h5ad") for k in ("target", "reference")}
        model_dir = str(model) if model else str(work / f"model_{n}")
        generated = measure(
            "generate",
            {"n_spots": n, "seed": seed, "shuffle": shuffle, "target": paths["target"],
             "reference": None if model else paths["reference"], "threads": threads},
            isolate=isolate,
        )  # fmt: skip
        log(f"[{n}] generated {generated['target_n_spots']} spots in {generated['seconds']:.0f} s")
        fitted: dict[str, Any] = {}
        if not model:
            fitted = measure(
                "fit",
                {"reference": paths["reference"], "model": model_dir, "config": to_dict(settings),
                 "image": image, "threads": threads},
                isolate=isolate,
            )  # fmt: skip
            log(f"[{n}] fit {fitted['seconds']:.0f} s, peak RSS {fitted['peak_rss'] / 1e9:.2f} GB")
        scored = measure(
            "score",
            {"target": paths["target"], "model": model_dir, "device": device, "threads": threads},
            isolate=isolate,
        )  # fmt: skip
        log(f"[{n}] score {scored['seconds']:.0f} s, peak RSS {scored['peak_rss'] / 1e9:.2f} GB")
        rows.append(_row(scored, fitted, image if not model else None))
        if not keep_data:
            for path in paths.values():
                Path(path).unlink(missing_ok=True)
        write_tables(rows, out, machine(), command or "")
    return rows


def _row(scored: dict[str, Any], fitted: dict[str, Any], image: bool | None) -> dict[str, Any]:
    def gb(value):
        return None if value is None else round(value / 1e9, 3)

    def r(value, digits=2):
        return None if value is None else round(value, digits)

    loads = [x for x in (fitted.get("load_before"), scored.get("load_before")) if x is not None]
    return {
        "n_spots": scored["n_spots"], "fit_spots": fitted.get("n_train_spots"),
        "image": image, "fit_s": r(fitted.get("seconds")), "fit_cpu_s": r(fitted.get("cpu_seconds")),
        "fit_peak_rss_gb": gb(fitted.get("peak_rss")), "fit_peak_gpu_gb": r(fitted.get("peak_gpu_gb"), 3),
        "spot_epochs_per_s": r(fitted.get("spot_epochs_per_s"), 1),
        "score_s": r(scored["seconds"], 3), "score_cpu_s": r(scored["cpu_seconds"], 3),
        "spots_per_s": round(scored["n_spots"] / scored["seconds"]),
        "score_data_rss_gb": gb(scored.get("data_rss")), "score_peak_rss_gb": gb(scored["peak_rss"]),
        "score_peak_gpu_gb": r(scored.get("peak_gpu_gb"), 3), "auc": r(scored.get("auc"), 3),
        "load_before": r(max(loads), 2) if loads else None, "load_after": r(scored["load_after"], 2),
    }  # fmt: skip


def write_tables(
    rows: list[dict[str, Any]], out: str | Path, machine: dict[str, Any], command: str
) -> None:
    """``perf.csv`` (one row per size) and ``perf.md`` (machine, command, table)."""
    import pandas as pd

    from omib_st.io import atomic_path

    out = Path(out)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    with atomic_path(out / "perf.csv") as tmp:
        table.to_csv(tmp, index=False)
    described = ", ".join(f"{k} {v}" for k, v in machine.items() if v is not None)
    header = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    body = "".join(
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |\n"
        for row in table.itertuples(index=False)
    )
    text = (
        f"# omib-st performance\n\nMachine: {described}\n\nCommand: `{command}`\n\n{header}{body}\n"
        "Peak RSS: the process's high-water mark (imports and the data read included); "
        "score_data_rss_gb: its RSS after reading the section and the model. load: 1-minute "
        "load average before / after (other jobs inflate the times).\n"
    )
    with atomic_path(out / "perf.md") as tmp:
        tmp.write_text(text)


if (
    __name__ == "__main__"
):  # a phase in a fresh process: python -m omib_st.benchmarks.perf PHASE JSON
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    print(json.dumps(run_phase(sys.argv[1], json.loads(sys.argv[2]))), flush=True)

"""The performance benchmark: generate, fit and score at each size, and what it ran on."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omib_st.benchmarks.perf.phases import measure
from omib_st.benchmarks.perf.report import write_tables

DEFAULT_SIZES = (5_000, 50_000, 500_000)
PRESET: dict[str, Any] = {
    "patch": {"size": 32},
    "image": {"backbone": "resnet10t", "thumbnail": 32},
    "train": {"warmup_epochs": 1, "max_epochs": 2, "progress_bar": False},
    "mi": {"steps": 100},
}
"""Default detector settings: the CPU preset of ``omib-st demo`` with a short schedule."""


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
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1) if memory else None,
        "gpu": gpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
    }


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
    settings = replace(
        settings, **{"train.max_spots": fit_spots, "train.device": device, "train.seed": seed}
    )
    common = {
        "config": to_dict(settings),
        "image": image,
        "device": device,
        "seed": seed,
        "threads": threads,
        "shuffle": shuffle,
        "model": model,
    }
    rows: list[dict[str, Any]] = []
    for n in sizes:
        paths = {k: str(work / f"{k}_{n}.h5ad") for k in ("target", "reference")}
        rows.append(_measure_size(n, paths, work, common, isolate=isolate, log=log))
        if not keep_data:
            for path in paths.values():
                Path(path).unlink(missing_ok=True)
        write_tables(rows, out, machine(), command or "")
    return rows


def _measure_size(
    n: int,
    paths: dict[str, str],
    work: Path,
    common: dict[str, Any],
    *,
    isolate: bool,
    log: Callable[[str], Any],
) -> dict[str, Any]:
    """Generate, fit (unless a model was given) and score at one size; the table's row."""
    model, threads = common["model"], common["threads"]
    model_dir = str(model) if model else str(work / f"model_{n}")
    generated = measure(
        "generate",
        {
            "n_spots": n,
            "seed": common["seed"],
            "shuffle": common["shuffle"],
            "target": paths["target"],
            "reference": None if model else paths["reference"],
            "threads": threads,
        },
        isolate=isolate,
    )
    log(f"[{n}] generated {generated['target_n_spots']} spots in {generated['seconds']:.0f} s")
    fitted: dict[str, Any] = {}
    if not model:
        fitted = measure(
            "fit",
            {
                "reference": paths["reference"],
                "model": model_dir,
                "config": common["config"],
                "image": common["image"],
                "threads": threads,
            },
            isolate=isolate,
        )
        log(f"[{n}] fit {fitted['seconds']:.0f} s, peak RSS {fitted['peak_rss'] / 1e9:.2f} GB")
    scored = measure(
        "score",
        {
            "target": paths["target"],
            "model": model_dir,
            "device": common["device"],
            "threads": threads,
        },
        isolate=isolate,
    )
    log(f"[{n}] score {scored['seconds']:.0f} s, peak RSS {scored['peak_rss'] / 1e9:.2f} GB")
    return _row(scored, fitted, common["image"] if not model else None)


def _row(scored: dict[str, Any], fitted: dict[str, Any], image: bool | None) -> dict[str, Any]:
    def gb(value):
        return None if value is None else round(value / 1e9, 3)

    def r(value, digits=2):
        return None if value is None else round(value, digits)

    loads = [x for x in (fitted.get("load_before"), scored.get("load_before")) if x is not None]
    return {
        "n_spots": scored["n_spots"],
        "fit_spots": fitted.get("n_train_spots"),
        "image": image,
        "fit_s": r(fitted.get("seconds")),
        "fit_cpu_s": r(fitted.get("cpu_seconds")),
        "fit_peak_rss_gb": gb(fitted.get("peak_rss")),
        "fit_peak_gpu_gb": r(fitted.get("peak_gpu_gb"), 3),
        "spot_epochs_per_s": r(fitted.get("spot_epochs_per_s"), 1),
        "score_s": r(scored["seconds"], 3),
        "score_cpu_s": r(scored["cpu_seconds"], 3),
        "spots_per_s": round(scored["n_spots"] / scored["seconds"]),
        "score_data_rss_gb": gb(scored.get("data_rss")),
        "score_peak_rss_gb": gb(scored["peak_rss"]),
        "score_peak_gpu_gb": r(scored.get("peak_gpu_gb"), 3),
        "auc": r(scored.get("auc"), 3),
        "load_before": r(max(loads), 2) if loads else None,
        "load_after": r(scored["load_after"], 2),
    }

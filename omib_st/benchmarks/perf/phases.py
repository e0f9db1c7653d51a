"""One phase of the performance benchmark (``generate``, ``fit``, ``score``), measured: wall and
CPU seconds, peak and post-read RSS, peak GPU memory, load average before and after."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omib_st.benchmarks.perf.data import section

PHASES = ("generate", "fit", "score")


def _peak_rss() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _gpu_peak() -> float | None:
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_allocated() / 1e9


@contextmanager
def _timed(record: dict[str, Any]) -> Iterator[None]:
    """Wall and CPU seconds of the block, into ``record``."""
    start, cpu = time.perf_counter(), time.process_time()
    yield
    record["seconds"] = time.perf_counter() - start
    record["cpu_seconds"] = time.process_time() - cpu


def _generate(args: dict[str, Any], record: dict[str, Any]) -> None:
    """Write the target (with lesions) and the reference section (without) as h5ad."""
    start = time.perf_counter()
    from omib_st.io import write_h5ad

    for key, lesions, seed in (
        ("target", True, args["seed"]),
        ("reference", False, args["seed"] + 1),
    ):
        if args.get(key):
            adata = section(args["n_spots"], seed=seed, lesions=lesions, shuffle=args["shuffle"])
            record[f"{key}_n_spots"] = int(adata.n_obs)
            write_h5ad(adata, args[key], force=True)
            del adata
    record["seconds"] = time.perf_counter() - start


def _fit(args: dict[str, Any], record: dict[str, Any]) -> None:
    """Read the reference, fit the detector on it, save the model."""
    from omib_st.config import load_config
    from omib_st.io import read_h5ad
    from omib_st.model import OmibDetector
    from omib_st.train.memory import resident_bytes

    config = load_config(args["config"])
    reference = read_h5ad(args["reference"])
    record["data_rss"] = resident_bytes()
    with _timed(record):
        detector = OmibDetector(config).fit(reference, use_image=args["image"])
    record["n_train_spots"] = detector.training["n_train_spots"]
    record["spot_epochs_per_s"] = spot_epochs_per_second(detector.training)
    detector.save(args["model"], force=True)


def _score(args: dict[str, Any], record: dict[str, Any]) -> None:
    """Read the section and the model, score every spot; the AUC against the planted lesions."""
    import numpy as np

    import omib_st as om
    from omib_st.benchmarks.metrics import planted_auc
    from omib_st.train.memory import resident_bytes

    adata = om.io.read_h5ad(args["target"])
    detector = om.model.OmibDetector.load(args["model"])
    if args.get("device"):
        detector.config = om.config.replace(detector.config, **{"train.device": args["device"]})
    record["data_rss"] = resident_bytes()
    with _timed(record):
        om.tl.detect(adata, model=detector)
    record["n_spots"] = int(adata.n_obs)
    scores = adata.obs["omib_score"].to_numpy()
    auc = planted_auc(adata, scores)
    if auc is not None:
        record["auc"] = auc
    record["finite"] = bool(np.isfinite(scores).all())


def run_phase(phase: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one phase in this process and measure it (see :mod:`omib_st.benchmarks.perf`)."""
    if args.get("threads"):
        import torch

        torch.set_num_threads(int(args["threads"]))
    record: dict[str, Any] = {"phase": phase, "load_before": os.getloadavg()[0]}
    runners = {"generate": _generate, "fit": _fit, "score": _score}
    if phase not in runners:
        raise ValueError(f"unknown phase {phase!r}; choose from {PHASES}")
    runners[phase](args, record)
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

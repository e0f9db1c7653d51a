"""Where the time of detect goes: torch-profiler breakdown of fit and score on a synthetic section.

    python workflows/perf/profile_detect.py --spots 5000 --device cpu [--config cfg.yaml] [--trace DIR]

Fits the CPU preset of ``omib-st benchmark perf`` (or ``--config``) on a lesion-free reference of
``--spots`` bins and scores a section with lesions, each under ``torch.profiler``; prints the ops
that take the most time, and the share of each phase spent in the profiled torch ops. With
``--trace`` writes Chrome traces (open in https://ui.perfetto.dev) there.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from omib_st.benchmarks.perf import PRESET, section
from omib_st.config import load_config, replace
from omib_st.model import OmibDetector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spots", type=int, default=5000)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--config", help="detector settings YAML (default: the perf preset)")
    parser.add_argument("--rows", type=int, default=12, help="ops listed per phase")
    parser.add_argument("--trace", type=Path, help="folder for Chrome traces")
    args = parser.parse_args()
    settings = yaml.safe_load(Path(args.config).read_text()) if args.config else PRESET
    config = replace(load_config(settings), **{"train.device": args.device})
    reference = section(args.spots, seed=1, lesions=False)
    target = section(args.spots, seed=0)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device == "cuda" else [])
    sort = "self_cuda_time_total" if args.device == "cuda" else "self_cpu_time_total"
    detector = OmibDetector(config)
    for phase, run in (
        ("fit", lambda: detector.fit(reference)),
        ("score", lambda: detector.score(target)),
    ):
        start = time.perf_counter()
        with profile(activities=activities) as prof:
            run()
        wall = time.perf_counter() - start
        events = prof.key_averages()
        in_ops = sum(e.self_cpu_time_total for e in events) / 1e6
        print(f"\n== {phase}: {wall:.1f} s wall, {in_ops:.1f} s CPU in profiled torch ops")
        if args.device == "cuda":
            # the kernels and copies, as torch's own "Self CUDA time total" (no ranges, no ops)
            kernels = [e for e in events if e.device_type == DeviceType.CUDA]
            busy = sum(e.self_device_time_total for e in kernels if not e.is_user_annotation) / 1e6
            print(f"   GPU kernels {busy:.1f} s: busy {busy / wall:.0%} of the wall time")
        print(events.table(sort_by=sort, row_limit=args.rows))
        if args.trace:
            args.trace.mkdir(parents=True, exist_ok=True)
            prof.export_chrome_trace(str(args.trace / f"{phase}.json"))


if __name__ == "__main__":
    main()

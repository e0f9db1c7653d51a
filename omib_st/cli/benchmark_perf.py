"""``omib-st benchmark perf``: time and memory of fit and score on synthetic sections of growing size."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perf",
        help="speed and memory of fit and score on synthetic sections (5k, 50k, 500k spots)",
        description="For each size: write a synthetic Visium HD-like section with an image and "
        "planted lesions and a lesion-free reference; fit on --fit-spots reference spots and "
        "score every spot, each phase in a fresh process. Measures wall and CPU time, spots/s, "
        "peak host memory (RSS) and peak GPU memory. Writes perf.csv and perf.md into --out.",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[5000, 50000, 500000],
        metavar="N",
        help="section sizes in spots (5000 50000 500000; none: only the fixed rows)",
    )
    parser.add_argument(
        "--fit-spots", type=int, default=2000, help="reference spots to train on (train.max_spots)"
    )
    parser.add_argument(
        "--model", metavar="DIR", help="score with this saved model instead of fitting one"
    )
    parser.add_argument("--config", metavar="YAML", help="detector settings (default: CPU preset)")
    parser.add_argument("--epochs", type=int, help="main-stage epochs (train.max_epochs)")
    parser.add_argument("--warmup-epochs", type=int, help="warm-up epochs")
    parser.add_argument("--no-image", action="store_true", help="expression only")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads in each phase")
    parser.add_argument(
        "--ordered",
        action="store_true",
        help="keep spots in lattice order (default: random order, like Space Ranger barcodes)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the phases in this process (peak memory then covers all of them)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the generated h5ad files")
    parser.add_argument(
        "--her2st",
        type=Path,
        metavar="DIR",
        help="her2st folder for the fixed row: `omib-st fit` on its six labelled sections with "
        "the defaults (e.g. ../shared/data/her2st, or a folder of her2st_*.h5ad files)",
    )
    parser.add_argument(
        "--visium-4k",
        action="store_true",
        help="add the fixed row `omib-st detect` with the defaults on a 3,960-spot synthetic "
        "Visium section with its image",
    )
    parser.add_argument("--out", type=Path, default=Path("results/perf"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from omib_st.benchmarks.perf import PRESET, run_perf
    from omib_st.errors import OmibError

    if args.device == "cuda":
        from omib_st.train import resolve_accelerator

        resolve_accelerator("cuda")  # a clear error without a GPU
    if min(args.sizes, default=64) < 64 or args.fit_spots < 16:
        raise OmibError("--sizes below 64 or --fit-spots below 16", "use larger sections")
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise OmibError(f"config file {path} does not exist", "check the --config path")
        config = yaml.safe_load(path.read_text()) or {}
    else:
        config = {k: dict(v) for k, v in PRESET.items()}
    train = config.setdefault("train", {})
    if args.epochs is not None:
        train["max_epochs"] = args.epochs
    if args.warmup_epochs is not None:
        train["warmup_epochs"] = args.warmup_epochs
    if args.her2st is not None or args.visium_4k:
        _cli_rows(args)
    if not args.sizes:
        return 0
    rows = run_perf(
        args.sizes,
        args.out,
        fit_spots=args.fit_spots,
        config=config,
        image=not args.no_image,
        model=args.model,
        device=args.device,
        seed=args.seed,
        threads=args.threads,
        shuffle=not args.ordered,
        isolate=not args.in_process,
        keep_data=args.keep_data,
        command="omib-st benchmark perf " + " ".join(_argv(args)),
    )
    print((args.out / "perf.md").read_text())
    print(f"wrote {args.out}/perf.csv, perf.md ({len(rows)} sizes)")
    return 0


def _cli_rows(args: argparse.Namespace) -> None:
    """The fixed rows: the CLI as a user runs it, timed in child processes → cli_rows.md."""
    from omib_st.benchmarks.perf.cli_rows import (
        cli_rows_markdown,
        her2st_fit_row,
        visium_detect_row,
    )
    from omib_st.io import atomic_path

    work, options = args.out / "work", {"seed": args.seed, "threads": args.threads}
    measures = [lambda: her2st_fit_row(args.her2st, work, **options)] if args.her2st else []
    if args.visium_4k:
        measures.append(lambda: visium_detect_row(work, **options))
    rows: list[dict] = []
    for measure in measures:  # the table is rewritten after each row
        rows.append(measure())
        text = cli_rows_markdown(rows, "omib-st benchmark perf " + " ".join(_argv(args)))
        with atomic_path(args.out / "cli_rows.md") as tmp:
            tmp.write_text(text)
    print(text)


def _argv(args: argparse.Namespace) -> list[str]:
    """The flags as given (for the record in perf.md)."""
    words = ["--sizes", *map(str, args.sizes), "--fit-spots", str(args.fit_spots)]
    for flag in ("model", "config", "epochs", "warmup_epochs", "threads", "her2st"):
        value = getattr(args, flag)
        if value is not None:
            words += [f"--{flag.replace('_', '-')}", str(value)]
    for flag in ("no_image", "ordered", "in_process", "keep_data", "visium_4k"):
        if getattr(args, flag):
            words.append(f"--{flag.replace('_', '-')}")
    return words + ["--device", args.device, "--seed", str(args.seed), "--out", str(args.out)]

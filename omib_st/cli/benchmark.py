"""``omib-st benchmark NAME``: run one of the benchmarks on the shared OMIB core."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

_BENCHMARKS = ("synthetic", "lesions", "her2st", "histology", "cremad", "mosi", "perf")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("benchmark", help=f"run a benchmark ({', '.join(_BENCHMARKS)})")
    names = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
    for name in _BENCHMARKS:
        importlib.import_module(f"omib_st.cli.benchmark_{name}").add_parser(names)


def add_core_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every benchmark shares: schedule, hardware and the ablation switches of the core."""
    parser.add_argument("--epochs", type=int, help="main-stage epochs (train.max_epochs)")
    parser.add_argument(
        "--warmup-epochs", type=int, help="warm-up epochs; 0 = the w/o warm-up ablation"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--fusion", choices=("cross_attention", "concat"), help="concat = w/o cross-attention"
    )
    parser.add_argument(
        "--no-omf", action="store_true", help="late fusion of the TRB heads (no fusion block)"
    )
    parser.add_argument("--fixed-r", action="store_true", help="fix r_m = 1 (no dynamic weights)")
    parser.add_argument("--beta", help='"auto" (= M_u) or a number')
    parser.add_argument("--beta-scale", type=float, help="multiply β (sweeps in units of M_u)")


def core_overrides(args: argparse.Namespace) -> dict:
    """Dotted config overrides from :func:`add_core_arguments` flags (only those given)."""
    overrides = {"train.seed": args.seed, "train.device": args.device}
    if args.epochs is not None:
        overrides["train.max_epochs"] = args.epochs
    if args.warmup_epochs is not None:
        overrides["train.warmup_epochs"] = args.warmup_epochs
    if args.fusion is not None:
        overrides["omib.fusion"] = args.fusion
    if args.no_omf:
        overrides["omib.omf"] = False
    if args.fixed_r:
        overrides["omib.dynamic_r"] = False
    if args.beta is not None:
        overrides["omib.beta"] = args.beta if args.beta == "auto" else float(args.beta)
    if args.beta_scale is not None:
        overrides["omib.beta_scale"] = args.beta_scale
    return overrides


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other setting, dotted for nested ones (e.g. n_fft=512, mi.steps=100); "
        "VALUE is read as YAML; repeatable",
    )


def parse_set(items: list[str]) -> dict:
    """``["a.b=1", "c=x"]`` → ``{"a.b": 1, "c": "x"}`` (values read as YAML)."""
    import yaml

    from omib_st.errors import OmibError

    changes = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise OmibError(f"--set {item!r} is not KEY=VALUE", "e.g. --set n_fft=512")
        parsed = yaml.safe_load(value)
        changes[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return changes


def print_record(record: dict) -> None:
    """One line per split with every metric."""
    what = f"{record['benchmark']} {record['model']} ({'+'.join(record['modalities'])}), "
    what += f"seed {record['seed']}, best epoch {record['best_epoch']}"
    print(what)
    for split in ("val", "test"):
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in record[split].items())
        print(f"  {split:<5} (n={record['n'][split]}): {metrics}")


def add_sequence_arguments(parser: argparse.ArgumentParser, run: Any) -> None:
    """The flags a supervised benchmark (CREMA-D, CMU-MOSI) adds after its own: batch size,
    learning rate, progress bar, the record's path, ``--set`` and the core's; ``run`` runs it."""
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--out", type=Path, help="write the run record here as JSON")
    add_set_argument(parser)
    add_core_arguments(parser)
    parser.set_defaults(run=run)


def sequence_overrides(args: argparse.Namespace, flags: dict[str, str]) -> dict:
    """Dotted overrides of a supervised benchmark (CREMA-D, CMU-MOSI): the core flags, its own
    ``flags`` (argument name → setting, only those given), ``--batch-size``, ``--lr``,
    ``--modalities``, ``--no-progress`` and ``--set`` (last, so it wins)."""
    changes = core_overrides(args)
    flags = {**flags, "batch_size": "train.batch_size", "lr": "train.lr"}
    for flag, key in flags.items():
        if getattr(args, flag) is not None:
            changes[key] = getattr(args, flag)
    if args.modalities is not None:
        changes["modalities"] = tuple(m.strip() for m in args.modalities.split(",") if m.strip())
    if args.no_progress:
        changes["train.progress_bar"] = False
    return changes | parse_set(args.set)


def report_record(record: dict, out: Any) -> int:
    """Print a supervised benchmark's record and write it to ``out`` (JSON) when given."""
    from omib_st.benchmarks.supervised import write_json

    print_record(record)
    if out is not None:
        write_json(out, record)
        print(f"wrote {out}")
    return 0

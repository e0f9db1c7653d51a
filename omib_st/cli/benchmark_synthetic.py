"""``omib-st benchmark synthetic``: the paper's SIM-I / SIM-II / SIM-III check."""

from __future__ import annotations

import argparse
from pathlib import Path

from omib_st.cli.benchmark import add_core_arguments, core_overrides

_SETTINGS = ("SIM-I", "SIM-II", "SIM-III")
_METHODS = ("omib", "optimal", "concat_mlp", "no_warmup", "no_cross_attention", "no_omf", "fixed_r")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synthetic",
        help="the paper's synthetic check (SIM-I/II/III): OMIB vs the optimum, ablations, β sweep",
        description="Train OMIB, the ground-truth optimal representation, a plain concatenation "
        "MLP and the ablations on synthetic two-modality data; select on the validation split, "
        "report test accuracy. Writes table.csv, table.md and accuracy_vs_beta.png into --out.",
    )
    parser.add_argument("--setting", nargs="+", choices=_SETTINGS, default=list(_SETTINGS))
    parser.add_argument("--methods", nargs="+", choices=_METHODS, default=list(_METHODS))
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds, from --seed on (3)")
    parser.add_argument(
        "--beta-sweep", action="store_true", help="also run OMIB at β = s × M_u for --beta-scales"
    )
    parser.add_argument(
        "--beta-scales",
        type=float,
        nargs="+",
        default=[0.1, 0.5, 1.0, 2.0, 10.0, 100.0],
        help="β / M_u points of the sweep (0.1 0.5 1 2 10 100)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/synthetic"))
    parser.add_argument("--quick", action="store_true", help="tiny data and few epochs (smoke)")
    parser.add_argument("--n-train", type=int, help="training samples per setting")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    add_core_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from omib_st.benchmarks.synthetic import run_table, summary_markdown

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    overrides = core_overrides(args)
    overrides.pop("train.seed")
    scale = overrides.pop("omib.beta_scale", 1.0)
    if args.n_train is not None:
        overrides["n_train"] = args.n_train
    seeds = range(args.seed, args.seed + args.seeds)
    table = run_table(
        args.setting,
        args.methods,
        seeds,
        beta_scales=args.beta_scales if args.beta_sweep else None,
        beta_scale=scale,
        out=args.out,
        quick=args.quick,
        **overrides,
    )
    print(summary_markdown(table))
    print(f"wrote {args.out}/table.csv, table.md, accuracy_vs_beta.png ({len(table)} runs)")
    return 0

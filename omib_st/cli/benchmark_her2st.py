"""``omib-st benchmark her2st``: leave-one-patient-out on the labelled her2st sections."""

from __future__ import annotations

import argparse
from pathlib import Path

from omib_st.cli.benchmark import add_core_arguments, add_set_argument, core_overrides, parse_set

_METHODS = (
    "omib",
    "omib_concat",
    "omib_fixed_r",
    "omib_no_warmup",
    "omib_beta10",
    "omib_beta01",
    "knn_scanpy",
    "knn_scanpy_smooth",
    "knn",
    "knn_smooth",
    "iforest",
    "iforest_smooth",
    "lof",
    "lof_smooth",
    "pca_error",
    "pca_error_smooth",
    "logistic",
    "logistic_raw",
    "logistic_thin",
    "logistic_xs",
)
_SUPERVISED_DEFAULT = ("omib", "logistic", "logistic_raw", "logistic_thin", "logistic_xs")
_DEFAULT = ("omib", *(m for m in _METHODS[6:] if m not in _SUPERVISED_DEFAULT))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "her2st",
        help="real data: her2st leave-one-patient-out, omib-st vs baselines and ablations",
        description="For each labelled her2st section, train on the normal spots of the "
        "labelled sections of the other patients and score the whole section; ROC AUC, average "
        "precision, F1 at the true anomaly fraction and at each method's own threshold. Writes "
        "table.csv, table.md, scores.csv.gz and maps/<section>_<method>.png into --out.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data/her2st"),
        help="her2st folder (counts/, spots/, labels/); default ../shared/data/her2st",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="results folder (default results/her2st, or results/her2st_supervised)",
    )
    parser.add_argument(
        "--protocol",
        choices=("one_class", "supervised"),
        default="one_class",
        help="one_class (default): train on the normal spots of the other patients' sections; "
        "supervised (issue 15): train on their labelled spots (tumour vs normal labels)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=_METHODS,
        metavar="METHOD",
        help=f"any of {', '.join(_METHODS)} (default: omib and every baseline of the protocol; "
        "the omib_* ablations on request; logistic, logistic_raw, logistic_thin and "
        "logistic_xs are the supervised protocol's baselines, the others the one-class "
        "protocol's)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0 1 2)")
    parser.add_argument(
        "--targets",
        nargs="+",
        metavar="SECTION",
        help="target sections (default: every labelled section)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke-test preset (few genes and epochs); not a result",
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument(
        "--nested",
        action="store_true",
        help="nested leave-one-patient-out: omib-st's scoring choices picked on the other "
        "patients only, with the --methods baselines on the same folds (writes nested.csv, "
        "grid.csv, nested.md)",
    )
    add_core_arguments(parser)
    parser.set_defaults(seed=None)
    add_set_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    import torch

    from omib_st.benchmarks.her2st.metrics import InvertedScoreWarning
    from omib_st.benchmarks.her2st.run import run_benchmark, summary_markdown
    from omib_st.errors import OmibError

    supervised = args.protocol == "supervised"
    if args.methods is None:
        args.methods = list(_SUPERVISED_DEFAULT if supervised else _DEFAULT)
    if args.out is None:
        args.out = Path("results/her2st_supervised" if supervised else "results/her2st")
    if args.nested and supervised:
        raise OmibError("--nested is a one-class protocol", "leave out --nested or --protocol")
    if args.seed is not None and args.seeds is not None:
        raise OmibError("both --seed and --seeds given", "use --seeds 0 1 2 (or one --seed)")
    seeds = args.seeds or ([args.seed] if args.seed is not None else [0, 1, 2])
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    args.seed = 0
    overrides = core_overrides(args)
    overrides.pop("train.seed")
    if args.device == "auto":
        overrides.pop("train.device")
    overrides.update(parse_set(args.set))
    warnings.simplefilter("ignore", InvertedScoreWarning)  # the log line says it
    if args.nested:
        from omib_st.benchmarks.her2st.nested import nested_markdown, run_nested

        baselines = [m for m in args.methods if not m.startswith("omib")]
        table, _ = run_nested(
            args.data, seeds=seeds, baselines=baselines, overrides=overrides, out=args.out
        )
        print(nested_markdown(table))
        print(f"wrote {args.out}/nested.csv, grid.csv, nested.md")
        return 0
    table, _ = run_benchmark(
        args.data,
        methods=args.methods,
        seeds=seeds,
        targets=args.targets,
        quick=args.quick,
        overrides=overrides,
        out=args.out,
        protocol=args.protocol,
    )
    print()
    print(summary_markdown(table))
    print(f"wrote {args.out}/table.csv, table.md, scores.csv.gz, maps/ ({len(table)} runs)")
    return 0

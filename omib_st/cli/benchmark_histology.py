"""``omib-st benchmark histology``: real H&E, image-only baselines and omib-st variants."""

from __future__ import annotations

import argparse
from pathlib import Path

from omib_st.cli.benchmark import add_set_argument, parse_set

_METHODS = (
    "knn_color",
    "knn_descriptors",
    "knn_cnn",
    "knn_color_reinhard",
    "knn_descriptors_reinhard",
    "knn_cnn_reinhard",
    "omib_image",
    "omib_fused",
    "omib_expression",
)
_DEFAULT = _METHODS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "histology",
        help="real H&E: her2st B4, C2-C6 (cancer clusters) and A1 (pathologist labels)",
        description="Leave-one-section-out over the her2st sections with a full-resolution H&E "
        "(B4, C2-C6; truth: the authors' cancer expression clusters, a proxy), then A1 on the "
        "web app's image against its pathologist labels. Image-only kNN baselines (colour "
        "histograms, morphology descriptors, random-init ResNet-18; raw and Reinhard-normalised) "
        "and omib-st image-only / fused / expression-only. Writes table.csv, "
        "table.md, scores.csv.gz and features/ into --out (and robustness.csv / .md with "
        "--robustness).",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data/her2st"),
        help="her2st folder (images/, clusters/, counts/, spots/, labels/)",
    )
    parser.add_argument("--out", type=Path, default=Path("results/histology"))
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=_METHODS,
        default=list(_DEFAULT),
        metavar="METHOD",
        help=f"any of {', '.join(_METHODS)} (default: all: the six baselines and the three "
        "omib-st models in one run)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--targets",
        nargs="+",
        metavar="SECTION",
        help="target sections (default: every section found, A1 last)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke-test preset for the omib-st methods; not a result",
    )
    parser.add_argument(
        "--robustness",
        action="store_true",
        help="also measure how stain perturbations move the normal spots' descriptor-kNN scores",
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    add_set_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    import torch

    from omib_st.benchmarks.her2st.metrics import InvertedScoreWarning
    from omib_st.benchmarks.histology.run import run_benchmark, summary_markdown

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", InvertedScoreWarning)  # the table shows it
    table, _ = run_benchmark(
        args.data,
        methods=args.methods,
        seeds=args.seeds,
        targets=args.targets,
        quick=args.quick,
        overrides=parse_set(args.set),
        out=args.out,
    )
    print()
    print(summary_markdown(table))
    if args.robustness:
        from omib_st.benchmarks.histology.data import A1, discover_sections, load_sections
        from omib_st.benchmarks.histology.robustness import robustness_markdown, stain_robustness
        from omib_st.benchmarks.histology.run import FeatureStore

        names = [s for s in discover_sections(args.data) if s != A1]
        sections = load_sections(args.data, names)
        targets = [t for t in args.targets or names if t != A1]
        store = FeatureStore(sections, args.out / "features")  # reuses the run's features
        result = stain_robustness(sections, targets, store=store)
        result.to_csv(args.out / "robustness.csv", index=False)
        (args.out / "robustness.md").write_text(robustness_markdown(result))
        print(robustness_markdown(result))
    print(f"wrote {args.out}/table.csv, table.md, scores.csv.gz ({len(table)} runs)")
    return 0

"""``omib-st benchmark lesions``: fused OMIB against single-modality models on the demo section."""

from __future__ import annotations

import argparse
from pathlib import Path

from omib_st.cli.benchmark import add_set_argument, parse_set

_MODELS = ("fused", "expression_only", "image_only")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lesions",
        help="fused vs expression-only vs image-only detectors on planted lesions",
        description="Fit each detector on a lesion-free synthetic section and score a section "
        "with lesions visible in both modalities, in expression only and in the image only. "
        "Writes table.csv and table.md into --out.",
    )
    parser.add_argument("--models", nargs="+", choices=_MODELS, default=list(_MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, nargs=2, default=(40, 50), metavar=("ROWS", "COLS"))
    parser.add_argument(
        "--config", metavar="YAML", help="detector configuration (default: the demo's)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--out", type=Path, default=Path("results/lesions"))
    add_set_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from omib_st.benchmarks.lesions import run_models, summary_markdown
    from omib_st.cli.demo import DEMO_CONFIG
    from omib_st.config import load_config, replace
    from omib_st.io import atomic_path

    config = load_config(args.config if args.config else DEMO_CONFIG)
    config = replace(config, **{"train.device": args.device, **parse_set(args.set)})
    rows, cols = args.size
    table = run_models(args.models, args.seeds, n_rows=rows, n_cols=cols, config=config)
    markdown = summary_markdown(table)
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "table.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(args.out / "table.md") as tmp:
        tmp.write_text(markdown + "\n")
    print(markdown)
    print(f"wrote {args.out}/table.csv, table.md ({len(table)} runs)")
    return 0

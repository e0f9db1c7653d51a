"""``omib-st benchmark mosi``: CMU-MOSI sentiment regression (text + audio + vision)."""

from __future__ import annotations

import argparse
from pathlib import Path

from omib_st.cli.benchmark import (
    add_sequence_arguments,
    report_record,
    sequence_overrides,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mosi",
        help="CMU-MOSI sentiment regression (MMSA or MAG-BERT pickle)",
        description="Train OMIB (or a unimodal baseline) on CMU-MOSI; select on the valid "
        "split; report Acc-7, Acc-2 / F1 (non-zero and has-zero), MAE and correlation on test.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="MMSA pickle (train/valid/test dicts, e.g. aligned_50.pkl) or MAG-BERT mosi.pkl",
    )
    parser.add_argument(
        "--modalities",
        help="two or three of text,audio,vision (OMIB; the first is the "
        "reference) or one (unimodal baseline); default text,audio,vision",
    )
    parser.add_argument(
        "--text",
        choices=("auto", "features", "tokens"),
        help="MMSA text: BERT features (text) or token ids (text_bert) with a learned embedding",
    )
    parser.add_argument("--encoder", choices=("transformer", "lstm"), help="sequence encoder")
    parser.add_argument("--loss", choices=("mse", "l1"), help="regression loss (mse)")
    add_sequence_arguments(parser, run)


def overrides(args: argparse.Namespace) -> dict:
    """Dotted :class:`MosiConfig` overrides from the flags given."""
    return sequence_overrides(
        args,
        {
            "text": "text",
            "encoder": "encoder",
            "loss": "loss",
        },
    )


def run(args: argparse.Namespace) -> int:
    from omib_st.benchmarks.mosi import MosiConfig, run_mosi
    from omib_st.config import replace

    config = replace(MosiConfig(), **overrides(args))
    record = run_mosi(args.data, config)
    print(f"read the {record['layout']} layout; text as {record['text']}")
    return report_record(record, args.out)

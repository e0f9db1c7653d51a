"""``omib-st benchmark cremad``: CREMA-D emotion recognition (audio + visual)."""

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
        "cremad",
        help="CREMA-D emotion recognition (audio + visual, OGM-GE layout)",
        description="Train OMIB (or a unimodal baseline) on CREMA-D; select on a validation "
        "split carved from train.csv; report test accuracy and macro-F1.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="folder with train.csv and test.csv (no header, clip,LABEL rows), and by default "
        "AudioWAV/<clip>.wav and visual/Image-01-FPS/<clip>/*.jpg",
    )
    parser.add_argument("--audio-dir", type=Path, help="WAV folder (default DATA/AudioWAV)")
    parser.add_argument(
        "--visual-dir", type=Path, help="folder holding Image-NN-FPS/ (default DATA/visual)"
    )
    parser.add_argument("--fps", type=int, help="frame extraction rate in Image-NN-FPS (1)")
    parser.add_argument("--frames", type=int, help="frames used per clip (1)")
    parser.add_argument(
        "--modalities", help="audio,visual (OMIB; the first is the reference), audio or visual"
    )
    parser.add_argument("--backbone", help="timm backbone of both encoders (resnet18)")
    parser.add_argument("--image-size", type=int, help="frame side in pixels (224)")
    parser.add_argument("--spectrogram", choices=("stft", "logmel"), help="audio front end")
    parser.add_argument("--workers", type=int, help="data-loading processes (0)")
    add_sequence_arguments(parser, run)


def overrides(args: argparse.Namespace) -> dict:
    """Dotted :class:`CremadConfig` overrides from the flags given."""
    return sequence_overrides(
        args,
        {
            "fps": "fps",
            "frames": "frames",
            "backbone": "backbone",
            "image_size": "image_size",
            "spectrogram": "spectrogram",
            "workers": "train.num_workers",
        },
    )


def run(args: argparse.Namespace) -> int:
    from omib_st.benchmarks.cremad import CremadConfig, run_cremad
    from omib_st.config import replace

    config = replace(CremadConfig(), **overrides(args))
    record = run_cremad(args.data, config, audio_dir=args.audio_dir, visual_dir=args.visual_dir)
    skipped = record["skipped"]
    if any(skipped.values()):
        print(
            f"skipped clips missing on disk: {skipped['train']} in train.csv, "
            f"{skipped['test']} in test.csv"
        )
    return report_record(record, args.out)

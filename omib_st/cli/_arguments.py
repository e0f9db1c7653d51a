"""The arguments the detect / fit / score commands share, their checks, and the configuration
they build (``--config`` with ``--device``, ``--seed`` and the hardware flags applied)."""

from __future__ import annotations

import argparse

from omib_st.errors import OmibError, short


def add_common(parser: argparse.ArgumentParser, *, plot: bool = True) -> None:
    parser.add_argument(
        "--config", metavar="YAML", help="detector configuration (unknown keys are errors)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: config (auto)")
    parser.add_argument("--seed", type=int, help="random seed (default: config, 0)")
    parser.add_argument("--layer", help="layer holding raw counts (default: X)")
    parser.add_argument("--library-id", help='library of uns["spatial"] (default: the only one)')
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    if plot:
        parser.add_argument(
            "--plot", metavar="PNG", help="also draw the scores over the H&E into PNG"
        )


def add_reference_choice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--normal-key", metavar="COL", help="obs column marking known-normal spots")
    parser.add_argument(
        "--normal-values", nargs="+", metavar="V", help="values of COL that are normal"
    )
    parser.add_argument(
        "--label-key",
        metavar="COL",
        help="supervised mode: obs column of annotated spots (not with --normal-key)",
    )
    parser.add_argument(
        "--positive", nargs="+", metavar="V", help="values of --label-key that are anomalous"
    )
    parser.add_argument(
        "--ignore",
        nargs="+",
        metavar="V",
        help="values of --label-key left out of training (e.g. undetermined)",
    )
    parser.add_argument(
        "--no-image", action="store_true", help="expression only, even if images exist"
    )
    parser.add_argument(
        "--devices",
        type=int,
        metavar="N",
        help="devices per node (GPUs, or CPU processes); > 1 trains with DDP (train.devices)",
    )
    parser.add_argument("--num-nodes", type=int, metavar="N", help="nodes (train.num_nodes)")
    parser.add_argument(
        "--strategy", metavar="NAME", help="Lightning strategy, e.g. ddp (train.strategy)"
    )


def check_label_arguments(args: argparse.Namespace) -> None:
    """The supervised arguments are consistent: --label-key with --positive, never with
    --normal-key; --positive / --ignore only with --label-key."""
    if args.label_key is not None and args.normal_key is not None:
        raise OmibError(
            "--label-key and --normal-key were both given",
            "use --label-key for supervised training or --normal-key for one-class, not both",
        )
    if args.label_key is None and (args.positive or args.ignore):
        raise OmibError("--positive/--ignore were given without --label-key", "add --label-key COL")
    if args.label_key is not None and not args.positive:
        raise OmibError(
            f"--label-key {args.label_key} needs --positive",
            "pass --positive V ... (the labels of anomalous spots)",
        )


def check_seed(seed: int | None) -> None:
    """A seed numpy, torch and Lightning all accept."""
    if seed is not None and not 0 <= seed < 2**32:
        raise OmibError(
            f"--seed {seed} is not a seed (0 to 4294967295)", "give a non-negative seed"
        )


def refuse_config_with_model(args: argparse.Namespace) -> None:
    """A saved model carries its configuration; a --config beside it would be ignored."""
    if args.config is not None:
        raise OmibError(
            "--config is not used with a saved model (the model carries its own configuration)",
            "leave --config out, or refit with 'omib-st fit --config' to change settings",
        )


def build_config(args: argparse.Namespace, *, train: bool = True):
    """The configuration of --config with --device/--seed applied; the device (and, when it
    will train, the strategy) are checked now."""
    from omib_st.config import load_config, replace

    config = load_config(args.config)
    overrides = {}
    if args.device is not None:
        overrides["train.device"] = args.device
    if args.seed is not None:
        overrides["train.seed"] = args.seed
    for flag in ("devices", "num_nodes", "strategy"):
        if getattr(args, flag, None) is not None:
            overrides[f"train.{flag}"] = getattr(args, flag)
    config = replace(config, **overrides) if overrides else config
    check_device(config.train.device)
    if train:
        check_strategy(config.train.strategy)
    return config


def check_strategy(strategy: str) -> None:
    """Refuse a Lightning strategy name Lightning does not know, before any data is read."""
    if strategy == "auto":
        return
    from lightning.pytorch.strategies import StrategyRegistry

    known = sorted(
        name for name in StrategyRegistry.available_strategies() if "find_unused" not in name
    )
    if strategy not in StrategyRegistry.available_strategies():
        raise OmibError(
            f"train.strategy (--strategy) {short(strategy)} is not a Lightning strategy",
            f"use auto or one of {', '.join(known)}",
        )


def check_device(device: str | None) -> None:
    """Refuse an unavailable device before any data is read (as the training would later)."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise OmibError(
                "--device cuda was requested but no CUDA GPU is visible", "use --device cpu or auto"
            )

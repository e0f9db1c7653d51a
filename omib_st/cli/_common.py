"""Arguments and I/O shared by the detect / fit / score / demo commands."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from omib_st.errors import OmibError


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
        "--no-image", action="store_true", help="expression only, even if images exist"
    )
    parser.add_argument(
        "--devices", type=int, metavar="N",
        help="devices per node (GPUs, or CPU processes); > 1 trains with DDP (train.devices)",
    )  # fmt: skip
    parser.add_argument("--num-nodes", type=int, metavar="N", help="nodes (train.num_nodes)")
    parser.add_argument(
        "--strategy", metavar="NAME", help="Lightning strategy, e.g. ddp (train.strategy)"
    )


def build_config(args: argparse.Namespace):
    """The configuration of --config with --device/--seed applied; the device is checked now."""
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
    return config


def check_device(device: str | None) -> None:
    """Refuse an unavailable device before any data is read (as the training would later)."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise OmibError(
                "--device cuda was requested but no CUDA GPU is visible", "use --device cpu or auto"
            )


def refuse_config_with_model(args: argparse.Namespace) -> None:
    """A saved model carries its configuration; a --config beside it would be ignored."""
    if args.config is not None:
        raise OmibError(
            "--config is not used with a saved model (the model carries its own configuration)",
            "leave --config out, or refit with 'omib-st fit --config' to change settings",
        )


def is_main_process() -> bool:
    """False in the extra processes of a multi-process (DDP) fit: they train, process 0 writes."""
    import sys

    if "lightning" not in sys.modules:
        return True
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def read_sample(path: str):
    """An h5ad file or a Space Ranger folder (Visium; Visium HD: outs at 8 µm, or square_XXXum)."""
    from omib_st.io import read_sample

    return read_sample(path)


def output_for(sample: str, out: str | None, suffix: str = ".omib.h5ad") -> Path:
    """``out``, or ``<sample>.omib.h5ad`` beside the input; never the input itself."""
    source = Path(sample)
    target = Path(out) if out else source.with_name(source.name.removesuffix(".h5ad") + suffix)
    if target.resolve() == source.resolve():
        raise OmibError(
            f"the output {target} is the input file",
            "give another -o; the input is never overwritten",
        )
    return target


def check_writable(paths: list[Path], force: bool) -> None:
    """Refuse before any work starts if an output exists (unless --force)."""
    for path in paths:
        if path is not None and Path(path).exists() and not force:
            raise OmibError(f"{path} already exists", "choose another output or pass --force")


def write_outputs(
    adata,
    h5ad: Path,
    plot: str | None,
    force: bool,
    truth: str | None = None,
    stack: contextlib.ExitStack | None = None,
) -> None:
    """Write the h5ad (and the plot) atomically: both appear, or neither.

    With ``stack`` the files stay staged as temporary files until the stack closes, so several
    samples' outputs appear together, or none when one of them fails.
    """
    from omib_st.io import atomic_path, write_h5ad

    with contextlib.ExitStack() as own:
        staging = own if stack is None else stack
        for path in (h5ad, plot):
            if path and Path(path).exists() and not force:
                raise OmibError(f"{path} already exists", "choose another output or pass --force")
        write_h5ad(adata, staging.enter_context(atomic_path(h5ad)))
        if plot:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from omib_st.pl import anomaly

            figure = anomaly(adata, truth=truth)
            try:
                tmp = staging.enter_context(atomic_path(Path(plot)))
                figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
            finally:
                plt.close(figure)


def summary(adata, key: str = "omib") -> str:
    info = adata.uns[key]
    n_anomalous = int(adata.obs[f"{key}_anomaly"].sum())
    image = "expression + H&E" if info.get("image_used") else "expression only (no image)"
    return (f"{adata.n_obs} spots scored ({image}, mode: {info['mode']}); {n_anomalous} "
            f"({n_anomalous / adata.n_obs:.1%}) above the threshold {info['threshold']:.3g}")  # fmt: skip

"""Arguments and I/O shared by the detect / fit / score / demo commands."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

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
        "--label-key", metavar="COL",
        help="supervised mode: obs column of annotated spots (not with --normal-key)",
    )  # fmt: skip
    parser.add_argument(
        "--positive", nargs="+", metavar="V", help="values of --label-key that are anomalous"
    )
    parser.add_argument(
        "--ignore", nargs="+", metavar="V",
        help="values of --label-key left out of training (e.g. undetermined)",
    )  # fmt: skip
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
        raise OmibError(f"--label-key {args.label_key} needs --positive",
                        "pass --positive V ... (the labels of anomalous spots)")  # fmt: skip


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


def check_seed(seed: int | None) -> None:
    """A seed numpy, torch and Lightning all accept."""
    if seed is not None and not 0 <= seed < 2**32:
        raise OmibError(
            f"--seed {seed} is not a seed (0 to 4294967295)", "give a non-negative seed"
        )


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


class Files:
    """The inputs and outputs of one command, under the one output rule
    (:func:`omib_st.io.safety.check_outputs`): checked before any work, again when more inputs
    become known (the images a sample names) and again right before writing."""

    def __init__(self, args: argparse.Namespace, inputs: list, outputs: list):
        self.force = bool(getattr(args, "force", False))
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.outputs = [o for o in outputs if o is not None and o.path is not None]
        self.check()

    def check(self, outputs: list | None = None) -> None:
        from omib_st.io.safety import check_outputs

        check_outputs(self.outputs if outputs is None else outputs, self.inputs, force=self.force)

    def read(self, path, what: str = "sample", *, plot: str | None = None, library_id=None):
        """Read a sample (:func:`read_sample`) and add the image files it names to the inputs."""
        adata = read_sample(path, what)
        if plot:
            from omib_st.io.validate import plot_problem

            problem = plot_problem(adata, library_id)
            if problem:
                raise OmibError(problem)
        sources = [
            entry["metadata"]["source_image_path"]
            for entry in (adata.uns.get("spatial") or {}).values()
            if (entry.get("metadata") or {}).get("source_image_path")
        ]
        if sources:
            self.inputs += [Path(s) for s in sources]
            self.check()
        return adata


def output(path, flag: str, kind: str = "file", *, create_parent: bool = False):
    """An :class:`~omib_st.io.safety.Output` (None when ``path`` is None)."""
    from omib_st.io.safety import Output

    return None if path is None else Output(Path(path), flag, kind, create_parent)


def checkpoint_output(config):
    """``train.checkpoint_dir`` as an output folder (None when unset)."""
    return output(config.train.checkpoint_dir, "train.checkpoint_dir", "folder", create_parent=True)


def read_sample(path: str, what: str = "sample"):
    """An h5ad file or a Space Ranger folder (Visium; Visium HD: outs at 8 µm, or square_XXXum),
    refused in one line when it is empty or its ``uns["spatial"]`` slots have the wrong type."""
    from omib_st.io import read_sample
    from omib_st.io.validate import layout_problems

    adata = read_sample(path)
    if adata.n_obs == 0 or adata.n_vars == 0:
        missing = "genes" if adata.n_vars == 0 else "spots"
        raise OmibError(
            f"the AnnData is empty ({adata.n_obs} spots × {adata.n_vars} genes): the {what} "
            f"{path} has no {missing}",
            "check the input file and any filtering applied before",
        )
    problems = layout_problems(adata)
    if problems:
        raise OmibError(f"{what} {path}: {problems[0]}")
    return adata


def output_for(sample: str, out: str | None, suffix: str = ".omib.h5ad") -> Path:
    """``out``, or ``<sample>.omib.h5ad`` beside the input."""
    source = Path(sample)
    return Path(out) if out else source.with_name(source.name.removesuffix(".h5ad") + suffix)


def check_scores(adata, key: str = "omib") -> None:
    """Refuse to write scores that are not finite."""
    import numpy as np

    scores = np.asarray(adata.obs[f"{key}_score"], dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise OmibError(
            f"{int(bad.sum())} of {len(scores)} scores came out NaN or infinite; nothing was written",
            "check the sample for extreme values, or refit the model (its weights may be broken)",
        )


def write_outputs(
    adata,
    h5ad: Path,
    plot: str | None,
    files: Files,
    truth: str | None = None,
    stack: contextlib.ExitStack | None = None,
) -> None:
    """Write the h5ad (and the plot) atomically: both appear, or neither.

    With ``stack`` the files stay staged as temporary files until the stack closes, so several
    samples' outputs appear together, or none when one of them fails.
    """
    import warnings

    from omib_st.io import atomic_path, write_h5ad

    check_scores(adata)
    files.check([o for o in files.outputs if o.path in (Path(h5ad), plot and Path(plot))])
    with contextlib.ExitStack() as own:
        staging = own if stack is None else stack
        write_h5ad(adata, staging.enter_context(atomic_path(h5ad)))
        if plot:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from omib_st.pl import anomaly

            quiet_import("squidpy")
            with warnings.catch_warnings():  # the plotting stack's deprecation notices
                for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                    warnings.simplefilter("ignore", category)
                figure = anomaly(adata, truth=truth)
            try:
                tmp = staging.enter_context(atomic_path(Path(plot)))
                figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
            finally:
                plt.close(figure)


def quiet_import(name: str) -> None:
    """Import ``name`` without the warnings its dependencies emit on import (squidpy: docrep's
    SyntaxWarnings), which the user cannot act on; the global filters are left as they were."""
    import importlib
    import sys
    import warnings

    if name not in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module(name)


def summary(adata, key: str = "omib") -> str:
    info = adata.uns[key]
    n_anomalous = int(adata.obs[f"{key}_anomaly"].sum())
    image = "expression + H&E" if info.get("image_used") else "expression only (no image)"
    if info.get("image_used") and info.get("image_backbone"):  # e.g. the CPU fast path
        image += f"; image backbone {info['image_backbone']}, target {info.get('image_target')}"
    return (f"{adata.n_obs} spots scored ({image}, mode: {info['mode']}); {n_anomalous} "
            f"({n_anomalous / adata.n_obs:.1%}) above the threshold {info['threshold']:.3g}")  # fmt: skip


def load_model(path: str):
    """A saved model whose text files are first read with bounded size, depth and aliases."""
    from omib_st.model import OmibDetector
    from omib_st.model.checks import check_model_text

    check_model_text(path)
    return OmibDetector.load(path)

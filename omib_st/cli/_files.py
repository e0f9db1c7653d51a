"""The files of a command: inputs and outputs checked under the one output rule before any work
(:class:`Files`), samples read with one-line errors, and saved models read safely."""

from __future__ import annotations

import argparse
from pathlib import Path

from omib_st.errors import OmibError


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


def load_model(path: str):
    """A saved model whose text files are first read with bounded size, depth and aliases."""
    from omib_st.model import OmibDetector
    from omib_st.model.checks import check_model_text

    check_model_text(path)
    return OmibDetector.load(path)

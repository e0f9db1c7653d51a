"""The output rule of every command: an output is never an input, never holds one and never
lies inside an input folder, and ``--force`` replaces only an earlier omib-st output."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from omib_st.errors import OmibError
from omib_st.io.safety.untrusted import load_json

MODEL_FILES = frozenset({"model.json", "weights.pt", "config.yaml"})
"""The files of an omib-st model folder (its manifest is model.json)."""


@dataclass(frozen=True)
class Output:
    """One output of a command: ``kind`` is ``file`` (h5ad, PNG), ``model`` (a model folder)
    or ``folder`` (a checkpoint folder, written into rather than replaced)."""

    path: Path
    flag: str
    kind: str = "file"
    create_parent: bool = False
    """The command creates the parent folder (``omib-st demo --out``)."""


def _resolve(path: Path) -> Path:
    try:
        return Path(os.path.abspath(path)).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return Path(os.path.abspath(path))


def _overlap(output: Path, source: Path) -> str | None:
    """How ``output`` would touch the input ``source``, or None."""
    out, inp = _resolve(output), _resolve(source)
    if out == inp:
        return "is the input"
    try:
        if output.exists() and source.exists() and os.path.samefile(output, source):
            return "is the input"  # a hard link
    except OSError:
        pass
    if inp.is_relative_to(out):
        return "holds the input"
    if out.is_relative_to(inp) and inp.is_dir():
        return "lies inside the input folder"
    return None


def is_model_folder(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``omib-st fit``: a readable manifest
    (model.json with a format version) and no file that is not part of a model."""
    if not path.is_dir() or path.is_symlink():
        return False
    names = {p.name for p in path.iterdir()}
    if "model.json" not in names or not names <= MODEL_FILES:
        return False
    if any(not (path / name).is_file() or (path / name).is_symlink() for name in names):
        return False
    try:
        manifest = load_json(path / "model.json", "model manifest", "", max_bytes=64 << 20)
    except OmibError:
        return False
    return isinstance(manifest, dict) and "format_version" in manifest


def _existing_problem(output: Output, force: bool) -> OmibError | None:
    path = output.path
    if output.kind == "folder" or not (path.exists() or path.is_symlink()):
        return None
    if output.kind == "model":
        if not path.is_dir() or path.is_symlink():
            return OmibError(
                f"{output.flag} {path} is a file, not a model folder", f"give another {output.flag}"
            )
        if not any(path.iterdir()) and force:
            return None  # an empty folder: nothing is lost
        if not force:
            return OmibError(f"{path} already exists", "choose another output or pass --force")
        if not is_model_folder(path):
            return OmibError(
                f"{output.flag} {path} is a folder that is not an omib-st model (it holds other "
                "files or no model.json); --force replaces only an earlier model",
                f"give another {output.flag}, or remove the folder yourself",
            )
        return None
    if path.is_dir() and not path.is_symlink():
        return OmibError(
            f"{output.flag} {path} is a folder", "give a file name (e.g. OUT.h5ad or OUT.png)"
        )
    if not force:
        return OmibError(f"{path} already exists", "choose another output or pass --force")
    return None


def _location_problem(output: Output) -> OmibError | None:
    """The folder that will hold ``output`` must exist (or be creatable) and be writable."""
    parent = output.path.parent if output.kind != "folder" else output.path
    while output.create_parent or output.kind == "folder":
        if parent.exists() or parent == parent.parent:
            break
        parent = parent.parent
    if not parent.exists():
        return OmibError(
            f"the folder {parent} of {output.flag} {output.path} does not exist",
            "create it first or choose another path",
        )
    if not parent.is_dir():
        where = "" if parent == output.path else f"{parent} in "
        return OmibError(
            f"{where}{output.flag} {output.path} is a file, not a folder", "choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        return OmibError(
            f"the folder {parent} of {output.flag} {output.path} is not writable",
            "choose a folder you can write to",
        )
    return None


def check_outputs(
    outputs: Iterable[Output], inputs: Iterable[str | os.PathLike], *, force: bool
) -> None:
    """The output rule of every command, checked before any work and again before writing.

    Each output must not be an input, hold one (a folder above it) or lie inside an input
    folder (paths compared after resolving links); its folder must exist and be writable; an
    existing output is replaced only with ``force``, and then only a file, or a model folder
    recognised by its manifest (:func:`is_model_folder`); two outputs may not overlap.
    """
    outputs = [o for o in outputs if o is not None and o.path is not None]
    sources = [Path(s) for s in inputs if s is not None]
    for i, output in enumerate(outputs):
        for source in sources:
            how = _overlap(output.path, source)
            if how:
                raise OmibError(
                    f"{output.flag} {output.path} {how} {source}",
                    f"give another {output.flag}; inputs are never overwritten",
                )
        for other in outputs[:i]:
            if _overlap(output.path, other.path) or _overlap(other.path, output.path):
                raise OmibError(
                    f"{other.flag} {other.path} and {output.flag} {output.path} overlap",
                    "give each output its own path",
                )
        problem = _location_problem(output) or _existing_problem(output, force)
        if problem:
            raise problem

"""Reading untrusted text and guarding outputs: the one place these rules live.

- :func:`short` bounds any value printed in an error message;
- :func:`read_text`, :func:`load_json` and :func:`load_yaml` read config files and model-folder
  files with bounded size, nesting depth and alias expansion, so that malformed or hostile
  content gives one :class:`~omib_st.errors.OmibError` line;
- :func:`check_outputs` is the output rule of every command: an output is never an input, never
  holds one and never lies inside an input folder, and ``--force`` replaces only an earlier
  omib-st output.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omib_st.errors import OmibError, WriteError, short_name

MAX_DEPTH = 32
"""Deepest nesting accepted in a config file or a model folder's JSON/YAML."""
MAX_NODES = 100_000
"""Largest YAML document, counted after alias expansion (a config has a few hundred nodes)."""
MODEL_FILES = frozenset({"model.json", "weights.pt", "config.yaml"})
"""The files of an omib-st model folder (its manifest is model.json)."""

# ---------------------------------------------------------------------------------- text


def read_text(path: Path, what: str, fix: str, *, max_bytes: int) -> str:
    """The UTF-8 text of ``path``, refused when larger than ``max_bytes`` or not text."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise OmibError(
                f"{what} {path} is {size:,} bytes (at most {max_bytes:,} are read)", fix
            )
        data = path.read_bytes()
    except OSError as err:
        raise OmibError(f"cannot read {what} {path} ({err.strerror or err})", fix) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise OmibError(
            f"{what} {path} is not UTF-8 text (byte {err.start}); it may be a binary file", fix
        ) from None
    if "\x00" in text:
        raise OmibError(f"{what} {path} holds NUL bytes; it is not a text file", fix)
    return text


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend(
                    (v, level + 1) for v in (item.values() if isinstance(item, dict) else item)
                )
    return deepest


def load_json(path: Path, what: str, fix: str, *, max_bytes: int) -> Any:
    """Parse ``path`` as JSON with bounded size and depth; one-line errors."""
    text = read_text(path, what, fix, max_bytes=max_bytes)
    try:
        value = json.loads(text)
    except RecursionError:
        raise OmibError(f"{path} is not valid JSON (nested too deeply)", fix) from None
    except ValueError as err:  # JSONDecodeError, or numbers too long to convert
        raise OmibError(f"{path} is not valid JSON ({short_name(err)})", fix) from None
    if _depth(value) > MAX_DEPTH:
        raise OmibError(f"{path} is not valid JSON (nested more than {MAX_DEPTH} levels)", fix)
    return value


class _TooLarge(Exception):
    pass


def _loader(text: str):
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """``yaml.SafeLoader`` that refuses deep nesting while composing."""

        depth = 0

        def compose_node(self, parent, index):
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise _TooLarge(f"nested more than {MAX_DEPTH} levels")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader(text)


def _expanded_size(root) -> int:
    """Nodes of a composed YAML document once every alias is expanded (recursion refused)."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            children = _children(node, yaml)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise _TooLarge(f"more than {MAX_NODES:,} values once its aliases are expanded")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _TooLarge("an alias refers to a value that contains it")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node, yaml) if id(child) not in sizes)
    return sizes[id(root)]


def _children(node, yaml) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def load_yaml(text: str, where: str | Path, fix: str, *, adjective: str = "valid") -> Any:
    """Parse plain YAML (no tags) with bounded depth and alias expansion; one-line errors
    (``WHERE is not ADJECTIVE YAML (…)``)."""
    import yaml

    loader = _loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except _TooLarge as err:
        raise OmibError(f"{where} is too large to be a configuration ({err})", fix) from None
    except yaml.YAMLError as err:
        first = short_name((str(err).splitlines() or [type(err).__name__])[0], 200)
        raise OmibError(f"{where} is not {adjective} YAML ({first})", fix) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as err:
        # ints too long to convert, unhashable keys, nesting that escaped the depth bound
        raise OmibError(f"{where} is not {adjective} YAML ({type(err).__name__})", fix) from None
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------- outputs


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


# ---------------------------------------------------------------------------------- writing

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)


def write_failure(err: BaseException, path: Path) -> WriteError | None:
    """The one-line error for an exception raised while writing ``path``; None when it is not
    a write failure (then it is re-raised as it is)."""
    if isinstance(err, OmibError | KeyboardInterrupt):
        return None
    text = str(err)
    number = getattr(err, "errno", None)
    full = number in _FULL or "No space left" in text or "errno = 28" in text
    fix = "free some space (or choose another folder) and run again; nothing was written"
    if full:
        return WriteError(
            f"the disk is full (or a file-size limit was hit) while writing {path}", fix
        )
    if isinstance(err, OSError) or "write failed" in text or "file write" in text:
        reason = short_name(getattr(err, "strerror", None) or (text.splitlines() or [""])[0] or
                            type(err).__name__)  # fmt: skip
        return WriteError(
            f"writing {path} failed ({reason})",
            "check free space and permissions of the folder and run again; nothing was written",
        )
    return None

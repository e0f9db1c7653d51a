"""Reading untrusted text: config files and model-folder files, with bounded size, nesting
depth and alias expansion, so that malformed or hostile content gives one
:class:`~omib_st.errors.OmibError` line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omib_st.errors import OmibError, short_name

MAX_DEPTH = 32
"""Deepest nesting accepted in a config file or a model folder's JSON/YAML."""
MAX_NODES = 100_000
"""Largest YAML document, counted after alias expansion (a config has a few hundred nodes)."""


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

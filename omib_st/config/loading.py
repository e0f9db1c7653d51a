"""Configurations to and from plain mappings and YAML files.

:func:`from_dict` checks every value against its field's type (the range rules and the checks
between fields run when the sections are made, :mod:`omib_st.config.rules`); :func:`to_dict`
gives the plain nested dict written to ``uns["omib"]["params"]`` and model folders.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Literal

from omib_st.config.tissue import DetectorConfig
from omib_st.errors import OmibError, short, short_name

CONFIG_MAX_BYTES = 1 << 20
"""Largest config file read (far more than a full configuration)."""

_FIX = "fix the value in the configuration (--config YAML)"
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
"""A decimal number, exponent and all, as YAML 1.2 reads it."""


def _coerce_union(path: str, hint: Any, value: Any) -> Any:
    for option in typing.get_args(hint):
        try:
            return _coerce(path, option, value)
        except OmibError:
            pass
    raise OmibError(f"config {path} = {short(value)} has the wrong type", f"expected {hint}")


def _coerce_container(path: str, hint: Any, value: Any) -> Any:
    if typing.get_origin(hint) is tuple:  # tuple[float, ...]: a list (YAML has no tuples)
        if not isinstance(value, list | tuple) or not value:
            raise OmibError(f"config {path} = {short(value)} must be a list of numbers", _FIX)
        item = typing.get_args(hint)[0]
        return tuple(_coerce(f"{path}[{i}]", item, v) for i, v in enumerate(value))
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise OmibError(f"config {path} = {short(value)} must be a mapping of names", _FIX)
    return dict(value)


def _coerce_scalar(path: str, hint: Any, value: Any) -> Any:
    if hint is type(None) and value is not None:
        raise OmibError(f"config {path} = {short(value)} must be null", _FIX)
    if hint is bool and not isinstance(value, bool):
        raise OmibError(f"config {path} = {short(value)} must be true or false", _FIX)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise OmibError(f"config {path} = {short(value)} must be an integer", _FIX)
    if hint is float:
        if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
            value = float(value)  # "1e-3": a float in YAML 1.2, a string to PyYAML (YAML 1.1)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OmibError(f"config {path} = {short(value)} must be a number", _FIX)
        if not math.isfinite(value):
            raise OmibError(f"config {path} = {short(value)} must be a finite number", _FIX)
        return float(value)
    if hint is str and not isinstance(value, str):
        raise OmibError(f"config {path} = {short(value)} must be a string", _FIX)
    return value


def _coerce(path: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against the annotation ``hint``; return it (ints widened to float)."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            allowed = ", ".join(repr(a) for a in typing.get_args(hint))
            raise OmibError(
                f"config {path} = {short(value)} is not allowed", f"use one of {allowed}"
            )
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(path, hint, value)
    if origin in (tuple, dict):
        return _coerce_container(path, hint, value)
    return _coerce_scalar(path, hint, value)


def _drop_removed(cls: type, data: dict[str, Any], path: str, dropped: list[str] | None) -> dict:
    """``data`` without the keys ``cls`` no longer reads (its ``removed``); their dotted names
    and reasons are added to ``dropped``."""
    removed = getattr(cls, "removed", {})
    for key in sorted(set(data) & set(removed)):
        if dropped is not None:
            dropped.append(f"{path}.{key} ({removed[key]})" if path else f"{key} ({removed[key]})")
    return {k: v for k, v in data.items() if k not in removed}


def from_dict(
    cls: type, data: dict[str, Any] | None, _path: str = "", *, dropped: list[str] | None = None
) -> Any:
    """Build the dataclass ``cls`` from a nested mapping, refusing unknown keys and bad values.

    Keys of fields that were removed (a section's ``removed``) are dropped, so older saved
    models still load; each is added to ``dropped`` (with the reason) when it is given.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise OmibError(
            f"config section {_path or '<root>'} must be a mapping, got {short(data)}",
            "write it as 'key: value' lines (see the defaults in omib_st.config)",
        )
    data = _drop_removed(cls, data, _path, dropped)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = sorted(str(key) for key in set(data) - set(fields))
    if unknown:
        raise OmibError(
            f"unknown config key(s) {short_name(', '.join(unknown))} in {_path or '<root>'}",
            f"valid keys are {', '.join(fields)}",
        )
    values = {}
    for name, value in data.items():
        path = f"{_path}.{name}" if _path else name
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = from_dict(hint, value, path, dropped=dropped)
        else:
            values[name] = _coerce(path, hint, value)
    return cls(**values)


def to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict of a config (writes to h5ad, YAML and JSON)."""
    return dataclasses.asdict(config)


def replace(config: Any, **changes: Any) -> Any:
    """Return ``config`` with dotted-path overrides, e.g. ``replace(c, **{"train.seed": 1})``."""
    nested: dict[str, Any] = {}
    for key, value in changes.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[head] = value
    updates = {}
    for key, value in nested.items():
        current = getattr(config, key) if hasattr(config, key) else None
        if isinstance(value, dict) and dataclasses.is_dataclass(current):
            updates[key] = replace(current, **value)
        else:
            updates[key] = value
    merged = {**to_dict(config)}
    for key, value in updates.items():
        merged[key] = to_dict(value) if dataclasses.is_dataclass(value) else value
    return from_dict(type(config), merged)


def load_config(source: str | Path | dict[str, Any] | None = None) -> DetectorConfig:
    """Detector configuration from a YAML file, a mapping, or the defaults (``None``).

    Settings that were removed are ignored with a ``FutureWarning`` naming them."""
    if source is None or isinstance(source, dict):
        data = source
    else:
        from omib_st.io.safety import load_yaml, read_text

        path = Path(source)
        if not path.is_file():
            raise OmibError(f"config file {path} does not exist", "check the --config path")
        fix = "fix the file; only plain YAML (no tags) is read"
        text = read_text(path, "config file", fix, max_bytes=CONFIG_MAX_BYTES)
        data = load_yaml(text, f"config file {path}", fix)
    dropped: list[str] = []
    config = from_dict(DetectorConfig, data, dropped=dropped)
    if dropped:
        warnings.warn(
            f"omib-st: config {'; '.join(dropped)}: no longer read, ignored; remove "
            f"{'it' if len(dropped) == 1 else 'them'} from the configuration",
            FutureWarning,
            stacklevel=2,
        )
    return config

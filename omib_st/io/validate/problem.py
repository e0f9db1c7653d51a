"""How a contract check words a problem: one line, naming a few examples of the culprits."""

from __future__ import annotations

import numpy as np

from omib_st.errors import OmibError, short_name


def problem(what: str, fix: str | None = None) -> str:
    """The one-line message of :class:`~omib_st.errors.OmibError` for ``what`` and ``fix``."""
    return str(OmibError(what, fix))


def examples(names: np.ndarray | list, n: int = 3) -> str:
    """The first ``n`` of ``names``, quoted and shortened, for a message."""
    return ", ".join(repr(short_name(s, 40)) for s in list(names[:n]))


def type_name(value) -> str:
    """``a dict``, ``an array of dtype <U1``: what a slot holds, for a message."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return f"a {type(value).__name__}"

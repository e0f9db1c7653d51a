"""The one exception users see: a single line naming the problem and the fix."""

from __future__ import annotations

import reprlib
from typing import Any


class OmibError(ValueError):
    """A problem with the user's input, configuration or environment.

    The message is one line: what is wrong, where, and how to fix it. The command line prints it
    without a traceback and exits with code 2.
    """

    def __init__(self, problem: str, fix: str | None = None):
        message = problem.rstrip(".") + (f"; {fix.rstrip('.')}" if fix else "") + "."
        super().__init__(" ".join(message.split()))


class WriteError(OmibError):
    """An output could not be written (a full disk, a lost permission); nothing was written."""


SHOWN = 100
"""Characters of a user-supplied value shown in an error message."""

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother, _repr.maxlong = 3, SHOWN, SHOWN, SHOWN
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6


def _bounded(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(value: Any, limit: int = SHOWN) -> str:
    """A bounded ``repr`` of ``value`` for error messages (never builds the full text of a huge
    or deeply nested value, e.g. a YAML alias bomb)."""
    try:
        text = _repr.repr(value)
    except Exception:  # a repr that fails, e.g. an int too long to print
        text = f"<{type(value).__name__}>"
    return _bounded(text, limit)


def short_name(value: Any, limit: int = SHOWN) -> str:
    """``str(value)`` bounded to ``limit`` characters (names, paths, messages)."""
    try:
        text = value[: limit + 1] if isinstance(value, str) else str(value)[: limit + 1]
    except Exception:
        text = f"<{type(value).__name__}>"
    return _bounded(text, limit)

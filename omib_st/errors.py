"""The one exception users see: a single line naming the problem and the fix."""

from __future__ import annotations


class OmibError(ValueError):
    """A problem with the user's input, configuration or environment.

    The message is one line: what is wrong, where, and how to fix it. The command line prints it
    without a traceback and exits with code 2.
    """

    def __init__(self, problem: str, fix: str | None = None):
        message = problem.rstrip(".") + (f"; {fix.rstrip('.')}" if fix else "") + "."
        super().__init__(" ".join(message.split()))

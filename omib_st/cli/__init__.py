"""``omib-st`` command line: thin wrappers that parse, call the Python API and write atomically.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``;
modules import nothing heavy at top level so that ``omib-st --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from omib_st import __version__
from omib_st.errors import OmibError, WriteError

_COMMANDS = ("demo", "detect", "fit", "score", "info", "benchmark")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omib-st",
        description="Find anomalous tissue regions in spatial transcriptomics (expression + H&E).",
    )
    parser.add_argument("--version", action="version", version=f"omib-st {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"omib_st.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``omib-st``; returns the exit code (2 for user errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # A dependency's deprecation notice, not something the user can act on.
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except OmibError as err:
        print(f"omib-st {args.command}: error: {err}", file=sys.stderr)
        if isinstance(err, WriteError) and argv is None:
            _exit_now(2)
        return 2
    except KeyboardInterrupt:
        print(f"omib-st {args.command}: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except OSError as err:  # the environment (a full disk, a folder made read-only meanwhile)
        print(f"omib-st {args.command}: error: {_os_error(err)}", file=sys.stderr)
        return 2


def _exit_now(code: int) -> None:
    """End the ``omib-st`` process now: after a failed write (a full disk) HDF5 may crash
    while the interpreter shuts down, turning exit code 2 into a segmentation fault."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _os_error(err: OSError) -> OmibError:
    from omib_st.errors import short_name

    where = f" ({short_name(err.filename)})" if err.filename else ""
    return OmibError(
        f"{short_name(err.strerror or err)}{where}",
        "check the path, free space and permissions, and run again; outputs are written only "
        "when everything succeeded",
    )


if __name__ == "__main__":
    sys.exit(main())

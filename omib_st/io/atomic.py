"""Writing files and folders that readers never see half-written; a failed write is one line."""

from __future__ import annotations

import errno
import gc
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omib_st.errors import OmibError, WriteError, short_name

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
        first_line = (text.splitlines() or [""])[0]
        reason = short_name(getattr(err, "strerror", None) or first_line or type(err).__name__)
        return WriteError(
            f"writing {path} failed ({reason})",
            "check free space and permissions of the folder and run again; nothing was written",
        )
    return None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


_TEMPORARY = re.compile(r"\.(?P<stem>.*)\.tmp-[0-9a-f]{8}(?P<suffix>.*)")


def _final(path: Path) -> Path:
    """The output a (possibly nested) temporary path stands for, for messages."""
    while match := _TEMPORARY.fullmatch(path.name):
        path = path.with_name(match["stem"] + match["suffix"])
    return path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it onto ``path`` when the block succeeds.

    The temporary path does not exist yet: write a file or create a folder there. It sits in the
    same folder as ``path`` (so the final rename is atomic) and keeps its suffix (so writers that
    pick a format from the extension still work). On success it replaces ``path``, whether a file
    or a folder; on error it is removed and ``path`` is left untouched, and a failed write (a
    full disk, a lost permission) becomes one :class:`~omib_st.errors.OmibError` line. Deciding
    whether an existing ``path`` may be replaced is the caller's job
    (:func:`omib_st.io.safety.check_outputs`).

    Examples
    --------
    >>> with atomic_path("scores.csv") as tmp:
    ...     table.to_csv(tmp)
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise OmibError(
            f"output folder {path.parent} does not exist", "create it first or choose another path"
        )
    token = uuid.uuid4().hex[:8]
    tmp = path.with_name(f".{path.stem}.tmp-{token}{path.suffix}")
    hooks = sys.unraisablehook, sys.excepthook
    sys.unraisablehook = sys.excepthook = _ignore
    try:
        yield tmp
        if not (tmp.exists() or tmp.is_symlink()):
            raise FileNotFoundError(f"nothing was written to the temporary path {tmp}")
        if path.is_dir() and not path.is_symlink():
            # os.replace cannot replace a non-empty folder: swap it aside, then delete it.
            old = path.with_name(f".{path.stem}.old-{token}{path.suffix}")
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    except BaseException as err:
        _remove(tmp)
        failure = write_failure(err, _final(path))
        if failure is not None:  # a full disk, a permission lost meanwhile: one line
            raise failure from None
        raise
    finally:
        gc.collect()  # free what a failed writer left, while its complaints are ignored
        sys.unraisablehook, sys.excepthook = hooks


def _ignore(*args) -> None:
    """``sys.unraisablehook`` and ``sys.excepthook`` during a write: h5py prints a traceback for
    every dataset of a failed write that it cannot close (dozens of lines); the error says it
    all."""

"""Host memory that training has freed, given back to the operating system."""

from __future__ import annotations

import ctypes
import functools
import os

from lightning.pytorch.callbacks import Callback


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on another C library."""
    try:
        return ctypes.CDLL(None).malloc_trim  # the symbols the process has loaded
    except (OSError, AttributeError, TypeError):  # TypeError: Windows
        return None


def resident_bytes() -> int | None:
    """The process's resident set size, or None where ``/proc`` does not give it."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_free_memory() -> bool:
    """Give the heap's free pages back to the operating system; True where glibc did so.

    glibc serves a CPU tensor from its heap once a block of that size has been freed, and keeps
    the pages such blocks leave behind: on a CPU fit whose batches change size (k-hop subgraphs)
    the resident size grows epoch after epoch. Nothing allocated is touched."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


class ReleaseFreeMemory(Callback):
    """After a training epoch, :func:`release_free_memory` when the resident size has grown by
    more than ``growth`` (a fraction) since the last release. Pages given back cost a page
    fault when reused, so releasing after every epoch would slow training."""

    def __init__(self, growth: float = 0.25) -> None:
        self.growth = growth
        self._after_release: int | None = None

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        size = resident_bytes()
        if size is None:
            return
        if self._after_release is None or size > (1 + self.growth) * self._after_release:
            release_free_memory()
            self._after_release = resident_bytes()

"""Inter-process exclusive locks (filelock): one writer per model cache, run directory or cached stage."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout


class LockBusy(Exception):
    """The lock is held by another process (only raised when not waiting)."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str], *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the duration of the block.

    With ``wait=False`` a lock held elsewhere raises ``LockBusy`` at once instead of blocking.
    The lock is the operating system's (flock), so a process that dies releases it: a crash
    never leaves a stale lock behind.
    """
    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path, timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        raise LockBusy(str(lock_path)) from None
    try:
        yield
    finally:
        lock.release()

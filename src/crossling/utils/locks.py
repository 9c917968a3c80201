"""Inter-process exclusive locks on lock files (fcntl.flock): one writer per model cache or run directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class LockBusy(Exception):
    """The lock is held by another process (only raised when not waiting)."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str], *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the duration of the block.

    With ``wait=False`` a lock held elsewhere raises ``LockBusy`` at once instead of blocking.
    The operating system releases the lock when the process dies, so a crash never leaves
    a stale lock behind.
    """
    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # Append mode: taking the lock never changes the file (or its modification time).
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LockBusy(str(lock_path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

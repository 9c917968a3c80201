"""Returning the C heap's free memory to the operating system (glibc ``malloc_trim``), where there is one."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` on another C library (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_heap() -> bool:
    """Give the pages of freed C-heap memory back to the OS (``malloc_trim(0)``); whether it could be done.

    glibc keeps freed blocks in its arenas; after a freed block above the ``mmap`` threshold it
    raises that threshold (up to 32 MiB), so later tensors of up to that size come from the heap,
    where freed memory is kept rather than unmapped. A loop whose tensors change shape from one
    step to the next then grows its resident set while the memory in use stays flat.
    """
    trim = _malloc_trim()
    return trim is not None and (trim(0), True)[1]

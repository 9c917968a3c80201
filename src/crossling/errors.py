"""The exceptions crossling raises for user-facing problems: each carries a one-line message."""

from __future__ import annotations

import errno
import os


class CrosslingError(Exception):
    """Base class: a problem the user can fix, reported in one line without a traceback.

    ``exit_code`` is what the command line exits with: 2 for bad input (config, data, model),
    1 for a fault of the environment (a read-only or full disk).
    """

    exit_code = 2


class ConfigError(CrosslingError):
    """A configuration key is unknown, has the wrong type or value, or names a missing file."""


class DataError(CrosslingError):
    """A data file is malformed (wrong columns, unknown label, bad span) or a split is empty."""


class CorruptFile(DataError, ValueError):
    """A file crossling wrote (``results.json``, a manifest) cannot be parsed: damaged or cut short.

    Also a ``ValueError``, so code that treats an unreadable file as absent (a damaged checkpoint
    is skipped, a damaged cache entry rebuilt) still does.
    """


class ModelError(CrosslingError):
    """A model directory or checkpoint cannot be loaded safely (missing weights, vocab mismatch)."""


class TrainingError(CrosslingError):
    """Training cannot go on (non-finite loss, out of memory)."""


class EnvironmentFault(CrosslingError):
    """The machine refuses what a run needs: a directory is read-only or a file, the disk is full."""

    exit_code = 1


#: errno -> what the user can do about it.
_ADVICE = {
    errno.ENOSPC: "the disk is full; free space there, or write elsewhere (output_dir, --output-dir, CROSSLING_HOME)",
    errno.EDQUOT: "the disk quota is exhausted; free space there, or write elsewhere (output_dir, CROSSLING_HOME)",
    errno.EROFS: "the file system is read-only; choose a writable output_dir (--output-dir) or CROSSLING_HOME",
    errno.EACCES: "permission denied; choose a writable output_dir (--output-dir) or CROSSLING_HOME",
    errno.EPERM: "operation not permitted; choose a writable output_dir (--output-dir) or CROSSLING_HOME",
    errno.ENOTDIR: "a path component is a regular file, not a directory; remove it or choose another path",
    errno.EEXIST: "a regular file is in the way of a directory; remove it or choose another path",
}


def environment_fault(exc: OSError, doing: str = "") -> EnvironmentFault:
    """One-line ``EnvironmentFault`` for an ``OSError``: the path, what failed, and what to do."""
    path = exc.filename if exc.filename is not None else ""
    reason = _ADVICE.get(exc.errno or 0) or (exc.strerror or os.strerror(exc.errno or 0) or str(exc))
    where = f"{path}: " if path else ""
    return EnvironmentFault(f"{where}{doing + ': ' if doing else ''}{reason}")

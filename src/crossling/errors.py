"""The exceptions crossling raises for user-facing problems: each carries a one-line message."""

from __future__ import annotations


class CrosslingError(Exception):
    """Base class: a problem the user can fix, reported in one line without a traceback."""


class ConfigError(CrosslingError):
    """A configuration key is unknown, has the wrong type or value, or names a missing file."""


class DataError(CrosslingError):
    """A data file is malformed (wrong columns, unknown label, bad span) or a split is empty."""


class ModelError(CrosslingError):
    """A model directory or checkpoint cannot be loaded safely (missing weights, vocab mismatch)."""


class TrainingError(CrosslingError):
    """Training cannot go on (non-finite loss, out of memory)."""

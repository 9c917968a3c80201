"""The data-source contract: a source yields typed records for (language, split) and fingerprints them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from crossling.data.records import Record

#: Canonical split names used throughout crossling; sources map their own names onto these.
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class SourceOptions:
    """Options a task's data source is built with (from the ``task`` section of the config).

    Args:
        data_dir: Local directory for file-based sources (``None`` for hub/generated sources).
        skip_bad_lines: Skip malformed lines (and report how many) instead of failing.
        max_examples: Keep at most this many examples per (language, split); ``None`` keeps all.
        params: Extra source-specific parameters (e.g. template-benchmark sizes).
    """

    data_dir: Path | None = None
    skip_bad_lines: bool = False
    max_examples: int | None = None
    params: dict = field(default_factory=dict)


@runtime_checkable
class DataSource(Protocol):
    """Where a task's examples come from (HF hub, local files, the built-in generator)."""

    def load(self, language: str, split: str) -> list[Record]:
        """All records of ``language``/``split`` (split is one of ``SPLITS``).

        Raises ``DataError`` naming the file and line on malformed input, and when the
        split does not exist or is empty.
        """
        ...

    def fingerprint(self, language: str, split: str) -> str:
        """A string that changes whenever the records of ``language``/``split`` would change."""
        ...

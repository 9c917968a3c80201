"""What every file-format reader shares: one-line ``path:line:`` errors and the skip-bad-lines policy."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from crossling.errors import DataError

logger = logging.getLogger(__name__)

R = TypeVar("R")

#: Appended to errors that ``skip_bad_lines=True`` would have skipped.
SKIP_HINT = "(use task.skip_bad_lines to skip such lines)"


class BadExample(Exception):
    """A malformed example (line, sentence, question) that ``skip_bad_lines`` may skip.

    Args:
        line: 1-based line number where the problem is, or ``None`` when it has none.
        why: What was found and what was expected, in one line.
    """

    def __init__(self, line: int | None, why: str) -> None:
        super().__init__(why)
        self.line = line
        self.why = why


def header_hint(line: int, cells: list[str]) -> str:
    """``"; line 1 looks like a header row ..."`` when an unknown label is on the first line of a header-less layout.

    Column names are plain words; a label column's values never are both an unknown label and
    on line 1 of a well-formed file, so that is what a header row looks like.
    """
    if line != 1 or not all(cell.strip() for cell in cells):
        return ""
    return (
        f"; line 1 looks like a header row ({', '.join(repr(c.strip()) for c in cells)}): "
        "this layout has none, remove the line"
    )


def where(path: Path, line: int | None) -> str:
    """``"path:line"`` (or ``"path"`` when the line is unknown), the prefix of every reader error."""
    return f"{path}:{line}" if line is not None else str(path)


def fatal(path: Path, line: int | None, why: str) -> DataError:
    """A ``DataError`` for a problem no skipping can get past (unreadable file, broken JSON)."""
    return DataError(f"{where(path, line)}: {why}")


def json_object(line: str, number: int) -> dict[str, Any]:
    """The JSON object on line ``number`` of a JSON Lines file; ``BadExample`` for invalid JSON or another value."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadExample(
            number, f"expected a JSON object, found invalid JSON ({err.msg}, column {err.colno})"
        ) from None
    if not isinstance(item, dict):
        raise BadExample(number, f"expected a JSON object, found {type(item).__name__}")
    return item


def open_text(path: Path) -> str:
    """The UTF-8 text of ``path`` (a leading BOM dropped), or ``DataError`` if it is missing or not UTF-8."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise fatal(path, line, f"expected UTF-8 text, found byte {err.object[err.start]:#04x}") from None


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` split on ``\\n`` only (``\\r\\n`` endings accepted, other separators kept in the line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def blank_line_blocks(lines: list[str]) -> list[list[tuple[int, str]]]:
    """Non-blank lines with their 1-based numbers, grouped at blank (or whitespace-only) lines.

    Several blank lines in a row are one break; leading and trailing blank lines are ignored.
    """
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


class SkipPolicy:
    """Raise on the first malformed example, or skip and count them (``skip_bad_lines=True``).

    Each example is parsed inside ``with policy.example():``; a ``BadExample`` raised there
    becomes a ``DataError`` naming ``path:line``, or is counted and the example dropped.
    ``finish`` logs one warning with the count and refuses an empty result.

    Args:
        path: The file being read (named in every message).
        skip_bad_lines: Skip malformed examples instead of failing.
        unit: What one example is called in messages (``"sentence"``, ``"question"``, ...).
    """

    def __init__(self, path: Path, skip_bad_lines: bool, unit: str) -> None:
        self.path = path
        self.skip_bad_lines = skip_bad_lines
        self.unit = unit
        self.skipped = 0
        self._seen_ids: dict[str, int | None] = {}

    @contextmanager
    def example(self) -> Iterator[None]:
        """Context for parsing one example: a ``BadExample`` inside is raised or counted."""
        try:
            yield
        except BadExample as bad:
            if not self.skip_bad_lines:
                raise DataError(f"{where(self.path, bad.line)}: {bad.why} {SKIP_HINT}") from None
            self.skipped += 1
            logger.debug("%s: skipped %s: %s", where(self.path, bad.line), self.unit, bad.why)

    def claim_id(self, example_id: str, line: int | None) -> None:
        """Record ``example_id``; ``BadExample`` if an earlier example of the file already has it."""
        if example_id in self._seen_ids:
            first = self._seen_ids[example_id]
            at = f" (first at line {first})" if first is not None else ""
            raise BadExample(line, f"duplicate {self.unit} id {example_id!r}{at}")
        self._seen_ids[example_id] = line

    def finish(self, records: list[R]) -> tuple[list[R], int]:
        """``(records, skipped)``; warns when some were skipped, ``DataError`` when none is left."""
        if self.skipped:
            logger.warning("%s: skipped %d malformed %s(s)", self.path, self.skipped, self.unit)
        if not records:
            extra = f" ({self.skipped} malformed {self.unit}(s) skipped)" if self.skipped else ""
            raise DataError(f"{where(self.path, 1)}: expected at least one {self.unit}, found none{extra}")
        return records, self.skipped

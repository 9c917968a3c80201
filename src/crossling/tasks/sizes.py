"""Split sizes of tasks whose data is not on this machine (the packaged XTREME / XTREME-R table), for planning.

``xtreme_sizes.yaml`` beside this module holds the official counts with their sources; a user's
file of the same form replaces it (``crossling plan --sizes FILE``). A count the table lacks is an
error naming the table, task, split and language: the plan never guesses a size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crossling.errors import ConfigError

PACKAGED_SIZES = Path(__file__).with_name("xtreme_sizes.yaml")


@dataclass(frozen=True)
class SizeTable:
    """Examples per (task, split, language) and training windows per example, read from a YAML file.

    Args:
        tasks: ``{task: {split: {language or "*": rows}, "windows_per_example": {max_length: factor}}}``.
        source: The file it was read from (for messages and the plan's output).
    """

    tasks: dict[str, dict[str, Any]]
    source: str

    def rows(self, task: str, split: str, language: str) -> int:
        """Examples of ``task``'s ``split`` in ``language`` (a language's own count, else the ``"*"`` one)."""
        splits = self.tasks.get(task)
        if splits is None:
            raise ConfigError(f"{self.source}: no sizes for task {task!r} (its data is absent; known: {self.known()})")
        counts = splits.get(split) or {}
        rows = counts.get(language, counts.get("*"))
        if rows is None:
            raise ConfigError(f"{self.source}: {task}.{split}: no size for language {language!r} (its data is absent)")
        return int(rows)

    def windows_per_example(self, task: str, max_length: int, *, windowed: bool) -> float:
        """Training features per example at ``max_length`` (1.0 for a kind that truncates instead of splitting)."""
        factors = self.tasks.get(task, {}).get("windows_per_example")
        if not windowed and factors is None:
            return 1.0
        factor = (factors or {}).get(max_length)
        if factor is None:
            raise ConfigError(
                f"{self.source}: {task}.windows_per_example: no factor for max_length {max_length} "
                f"(known: {sorted(factors or {})}); add one measured on the task's data"
            )
        return float(factor)

    def features(self, task: str, language: str, *, cap: int | None, max_length: int, windowed: bool) -> int:
        """Training features of one language: ``min(rows, cap)`` examples times the windows factor, rounded up."""
        examples = self.rows(task, "train", language)
        examples = min(examples, cap) if cap else examples
        return math.ceil(examples * self.windows_per_example(task, max_length, windowed=windowed))

    def known(self) -> str:
        """The tasks the table covers, comma-separated."""
        return ", ".join(sorted(self.tasks))


def load_size_table(path: str | Path | None = None) -> SizeTable:
    """The size table at ``path`` (default: the packaged XTREME / XTREME-R table), validated."""
    path = Path(path) if path is not None else PACKAGED_SIZES
    if not path.is_file():
        raise ConfigError(f"size table not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of task names at the top level")
    for task, splits in data.items():
        if not isinstance(splits, dict):
            raise ConfigError(f"{path}: {task}: expected a mapping of splits")
        for split, counts in splits.items():
            if not isinstance(counts, dict):
                raise ConfigError(f"{path}: {task}.{split}: expected a mapping, got {counts!r}")
            for key, value in counts.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ConfigError(f"{path}: {task}.{split}.{key}: expected a positive number, got {value!r}")
    return SizeTable(data, str(path))

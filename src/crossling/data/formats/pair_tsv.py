"""Readers for sentence-pair TSV files: XTREME's ``{split}-{lang}.tsv`` and the raw XNLI / PAWS-X TSVs."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from crossling.data.formats.common import header_hint
from crossling.data.records import PairExample
from crossling.errors import DataError

logger = logging.getLogger(__name__)


def _label_name(raw: str, labels: Sequence[str], aliases: Mapping[str, str]) -> str | None:
    value = raw.strip()
    value = aliases.get(value, value)
    return value if value in labels else None


def read_pair_tsv(
    path: str | Path,
    *,
    labels: Sequence[str],
    text_a: int | str = 0,
    text_b: int | str = 1,
    label: int | str = 2,
    header: bool = False,
    filter_column: str | None = None,
    filter_value: str | None = None,
    label_aliases: Mapping[str, str] | None = None,
    id_prefix: str = "",
    skip_bad_lines: bool = False,
) -> tuple[list[PairExample], int]:
    """Read sentence pairs with label names from a tab-separated file.

    Columns are given by position (no header) or by name (``header=True``). Label values are
    mapped by *name* through ``label_aliases`` (e.g. XTREME's ``contradictory`` ->
    ``contradiction``) and must then be one of ``labels``. Quotes are not special (XNLI
    sentences contain bare ``"``).

    Returns:
        ``(examples, skipped)``: the examples, and how many malformed lines were skipped
        (always 0 unless ``skip_bad_lines``).

    Raises:
        DataError: naming ``path:line`` for a missing file, a row with too few columns, an
            unknown label, a missing header column, or an empty result.
    """
    path = Path(path)
    aliases = dict(label_aliases or {})
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    examples: list[PairExample] = []
    skipped = 0

    def bad(line_no: int, why: str) -> None:
        nonlocal skipped
        if not skip_bad_lines:
            raise DataError(f"{path}:{line_no}: {why} (use task.skip_bad_lines to skip such lines)")
        skipped += 1

    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        columns: dict[str, int] = {}
        for line_no, row in enumerate(reader, start=1):
            if header and line_no == 1:
                columns = {name.strip(): i for i, name in enumerate(row)}
                wanted = [c for c in (text_a, text_b, label, filter_column) if isinstance(c, str)]
                missing = [c for c in wanted if c not in columns]
                if missing:
                    raise DataError(f"{path}:1: header lacks column(s) {missing}; found {list(columns)}")
                continue
            if not row or all(not cell.strip() for cell in row):
                continue
            index = {key: columns[key] if isinstance(key, str) else key for key in (text_a, text_b, label)}
            needed = max(index.values()) + 1
            if filter_column is not None:
                needed = max(needed, columns[filter_column] + 1)
            if len(row) < needed:
                bad(line_no, f"expected at least {needed} tab-separated columns, found {len(row)}")
                continue
            if filter_column is not None and row[columns[filter_column]] != filter_value:
                continue
            name = _label_name(row[index[label]], labels, aliases)
            if name is None:
                bad(
                    line_no,
                    f"unknown label {row[index[label]]!r}; expected one of {list(labels)}"
                    f"{'' if header else header_hint(line_no, row)}",
                )
                continue
            examples.append(
                PairExample(
                    id=f"{id_prefix}{len(examples)}",
                    text_a=row[index[text_a]].strip(),
                    text_b=row[index[text_b]].strip(),
                    label=name,
                )
            )
    if skipped:
        logger.warning("%s: skipped %d malformed line(s)", path, skipped)
    if not examples:
        what = f" with {filter_column}={filter_value!r}" if filter_column else ""
        extra = f" ({skipped} malformed line(s) skipped)" if skipped else ""
        raise DataError(f"{path}: expected at least one example{what}, found none{extra}")
    return examples, skipped

"""Reader for Universal Dependencies CoNLL-U files: one POS ``TaggingExample`` (words, UPOS) per sentence."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import conllu
from conllu.exceptions import ParseException

from crossling.data.formats.common import (
    BadExample,
    SkipPolicy,
    blank_line_blocks,
    open_text,
    split_lines,
)
from crossling.data.records import TaggingExample

#: The 17 Universal POS tags of UD v2.
UPOS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip

_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")
_COLUMNS = 10


def read_conllu(
    path: str | Path,
    *,
    tag_set: Collection[str] | None = UPOS_TAGS,
    id_prefix: str = "",
    skip_bad_lines: bool = False,
) -> tuple[list[TaggingExample], int]:
    """Read a CoNLL-U file into one ``TaggingExample`` per sentence: the words and their UPOS tags.

    Words are the lines with an integer ID. Multiword-token ranges (``3-4``, surface forms
    only) and empty nodes of enhanced UD (``8.1``) are skipped. Each line is checked before
    the ``conllu`` package parses the sentence: 10 tab-separated columns, a well-formed ID,
    word IDs running 1, 2, 3, ..., a UPOS tag on every word. The example id is the
    sentence's ``# sent_id``; a sentence without one gets ``f"{id_prefix}{n}"`` (``n`` its
    0-based position in the file).

    Args:
        path: The ``.conllu`` file.
        tag_set: Allowed UPOS tags (the 17 of UD v2 by default); ``None`` accepts any.
        id_prefix: Prefix of the positional ids of sentences without ``# sent_id``.
        skip_bad_lines: Skip a sentence with a malformed line instead of failing.

    Returns:
        ``(examples, skipped)``: the sentences, and how many were skipped (0 unless
        ``skip_bad_lines``).

    Raises:
        DataError: naming ``path:line`` for a wrong column count, a malformed or
            out-of-order ID, a missing or unknown UPOS tag, a duplicate ``sent_id``, a
            sentence without words, a missing file, or a file without sentences.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "sentence")
    examples: list[TaggingExample] = []
    for position, block in enumerate(blank_line_blocks(split_lines(open_text(path)))):
        with policy.example():
            example = _sentence(block, f"{id_prefix}{position}", tag_set)
            policy.claim_id(example.id, block[0][0])
            examples.append(example)
    return policy.finish(examples)


def _check_lines(block: list[tuple[int, str]], tag_set: Collection[str] | None) -> None:
    """``BadExample`` at the first line that breaks the CoNLL-U rules a POS reader relies on."""
    next_word = 1
    for number, line in block:
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != _COLUMNS:
            raise BadExample(number, f"expected {_COLUMNS} tab-separated CoNLL-U columns, found {len(fields)}")
        word_id, upos = fields[0], fields[3]
        if _RANGE_ID.fullmatch(word_id) or _EMPTY_ID.fullmatch(word_id):
            continue
        if not _WORD_ID.fullmatch(word_id):
            raise BadExample(number, f"expected an ID like 7, 3-4 or 8.1, found {word_id!r}")
        if int(word_id) != next_word:
            raise BadExample(number, f"expected word ID {next_word}, found {word_id}")
        if not fields[1]:
            raise BadExample(number, "expected a FORM, found an empty column")
        if upos in ("", "_"):
            raise BadExample(number, f"expected a UPOS tag for word {word_id}, found {upos!r}")
        if tag_set is not None and upos not in tag_set:
            raise BadExample(number, f"unknown UPOS tag {upos!r}; expected one of {sorted(tag_set)}")
        next_word += 1
    if next_word == 1:
        raise BadExample(block[0][0], "expected word lines after the comments, found none")


def _sentence(block: list[tuple[int, str]], fallback_id: str, tag_set: Collection[str] | None) -> TaggingExample:
    _check_lines(block, tag_set)
    try:
        (sentence,) = conllu.parse("\n".join(line for _, line in block) + "\n\n")
    except (ParseException, ValueError) as err:
        raise BadExample(block[0][0], f"malformed CoNLL-U sentence: {err}") from None
    words = [token for token in sentence if isinstance(token["id"], int)]
    sent_id = (sentence.metadata.get("sent_id") or "").strip()
    return TaggingExample(
        id=sent_id or fallback_id,
        tokens=tuple(word["form"] for word in words),
        tags=tuple(word["upos"] for word in words),
    )

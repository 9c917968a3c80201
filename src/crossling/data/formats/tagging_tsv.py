"""Readers for ``token<TAB>tag`` files: XTREME's udpos/panx ``{split}-{lang}.tsv`` and raw WikiANN."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from pathlib import Path

from crossling.data.formats.common import (
    BadExample,
    SkipPolicy,
    blank_line_blocks,
    header_hint,
    open_text,
    split_lines,
)
from crossling.data.records import TaggingExample

#: A WikiANN language prefix on a token, e.g. ``en:`` in ``en:Paris`` (codes like ``zh-yue``, ``bat-smg``).
_LANG_PREFIX = re.compile(r"^([a-z]{2,3}(?:-[a-z]+)*):")

#: How tokens carry a ``lang:`` prefix: ``"auto"`` strips it when every token of the file has the
#: same one, ``None`` never strips, a language code requires and strips exactly that prefix.
PrefixMode = str | None

_Line = tuple[int, str, str]  # (line number, token, tag)


def read_tagging_tsv(
    path: str | Path,
    *,
    tag_set: Collection[str] | None = None,
    lang_prefix: PrefixMode = "auto",
    id_prefix: str = "",
    skip_bad_lines: bool = False,
) -> tuple[list[TaggingExample], int]:
    """Read XTREME tagging TSV: one ``token<TAB>tag`` per line, a blank line between sentences.

    This is the format of XTREME's ``udpos/{split}-{lang}.tsv`` and ``panx/{split}-{lang}.tsv``.
    Several blank lines in a row count as one sentence break; a whitespace-only line is blank.
    Some PAN-X versions keep WikiANN's language prefix on every token (``en:Paris``):
    ``lang_prefix="auto"`` strips it when every token of the file starts with the same
    ``xx:`` prefix, a code such as ``"en"`` requires ``en:`` on every token, ``None`` keeps
    tokens verbatim.

    Args:
        path: The file.
        tag_set: If given, every tag must be one of these.
        lang_prefix: ``"auto"``, a language code, or ``None`` (see above).
        id_prefix: Example ids are ``f"{id_prefix}{n}"``, ``n`` counting kept sentences from 0.
        skip_bad_lines: Skip a sentence with a malformed line instead of failing.

    Returns:
        ``(examples, skipped)``: the sentences, and how many were skipped (0 unless
        ``skip_bad_lines``).

    Raises:
        DataError: naming ``path:line`` for a line without exactly two tab-separated
            non-empty columns, a tag outside ``tag_set``, a missing required prefix, a
            missing file, or a file without sentences.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "sentence")
    blocks = blank_line_blocks(split_lines(open_text(path)))
    strip = _prefix_stripper(blocks, lang_prefix)
    examples: list[TaggingExample] = []
    for block in blocks:
        with policy.example():
            examples.append(_sentence(block, f"{id_prefix}{len(examples)}", tag_set, strip))
    return policy.finish(examples)


def read_wikiann(
    path: str | Path,
    *,
    language: str | None = None,
    tag_set: Collection[str] | None = None,
    id_prefix: str = "",
    skip_bad_lines: bool = False,
) -> tuple[list[TaggingExample], int]:
    """Read raw WikiANN / PAN-X (Rahimi et al. splits): ``lang:token<TAB>TAG`` lines, blank line between sentences.

    The language prefix is removed up to the first ``:``, as XTREME's ``panx_preprocess``
    does, and must be ``language`` when that is given. Tags are IOB2 over PER/ORG/LOC.

    Args:
        path: The file.
        language: The expected prefix (``"en"``); ``None`` accepts any ``xx:``.
        tag_set: If given, every tag must be one of these.
        id_prefix: Example ids are ``f"{id_prefix}{n}"``.
        skip_bad_lines: Skip a sentence with a malformed line instead of failing.

    Returns:
        ``(examples, skipped)`` as ``read_tagging_tsv``.

    Raises:
        DataError: as ``read_tagging_tsv``, and for a token without a ``lang:`` prefix.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "sentence")
    strip = _required_prefix(language)
    examples: list[TaggingExample] = []
    for block in blank_line_blocks(split_lines(open_text(path))):
        with policy.example():
            examples.append(_sentence(block, f"{id_prefix}{len(examples)}", tag_set, strip))
    return policy.finish(examples)


def _sentence(
    block: list[tuple[int, str]],
    example_id: str,
    tag_set: Collection[str] | None,
    strip: Callable[[int, str], str],
) -> TaggingExample:
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in block:
        fields = line.split("\t")
        if len(fields) != 2:
            raise BadExample(number, f"expected 2 tab-separated columns (token, tag), found {len(fields)}")
        token, tag = fields[0].strip(), fields[1].strip()
        if not token or not tag:
            raise BadExample(number, f"expected a non-empty token and tag, found {line!r}")
        if tag_set is not None and tag not in tag_set:
            raise BadExample(
                number, f"unknown tag {tag!r}; expected one of {sorted(tag_set)}{header_hint(number, fields)}"
            )
        tokens.append(strip(number, token))
        tags.append(tag)
    return TaggingExample(id=example_id, tokens=tuple(tokens), tags=tuple(tags))


def _keep(number: int, token: str) -> str:
    return token


def _required_prefix(language: str | None) -> Callable[[int, str], str]:
    """A stripper removing ``lang:`` up to the first colon; ``BadExample`` if absent or another language."""

    def strip(number: int, token: str) -> str:
        head, colon, rest = token.partition(":")
        if not colon or not rest:
            raise BadExample(number, f"expected a 'lang:token' WikiANN token, found {token!r}")
        if language is not None and head != language:
            raise BadExample(number, f"expected the language prefix {language + ':'!r}, found {head + ':'!r}")
        return rest

    return strip


def _prefix_stripper(blocks: list[list[tuple[int, str]]], mode: PrefixMode) -> Callable[[int, str], str]:
    if mode is None:
        return _keep
    if mode != "auto":
        return _required_prefix(mode)
    prefixes = set()
    for block in blocks:
        for _, line in block:
            match = _LANG_PREFIX.match(line)
            prefixes.add(match.group(1) if match and len(line) > match.end() else None)
            if None in prefixes or len(prefixes) > 1:
                return _keep
    return _required_prefix(prefixes.pop()) if prefixes else _keep

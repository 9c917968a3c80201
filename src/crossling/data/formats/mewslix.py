"""Readers for Mewsli-X's JSON-lines files: the entity candidate set and the WikiNews mentions (XTREME-R)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossling.data.formats.common import (
    BadExample,
    SkipPolicy,
    fatal,
    open_text,
    split_lines,
)
from crossling.data.records import Candidate, RankingQuery

#: Marks around the mention in its sentence (as the Mewsli-X tools do); braces already in the text become these.
MENTION_LEFT, MENTION_RIGHT = "{", "}"
_ESCAPES = str.maketrans({"{": "(", "}": ")"})


def _json_lines(path: Path, policy: SkipPolicy) -> list[tuple[int, Any]]:
    """``(line number, parsed object)`` of every non-empty line; a line that is not a JSON object is a bad example."""
    rows = []
    for number, line in enumerate(split_lines(open_text(path)), start=1):
        if not line.strip():
            continue
        with policy.example():
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise BadExample(number, f"invalid JSON ({err.msg}, column {err.colno})") from None
            if not isinstance(value, dict):
                raise BadExample(number, f"expected a JSON object, found {type(value).__name__}")
            rows.append((number, value))
    return rows


def read_mewslix_entities(path: str | Path, *, skip_bad_lines: bool = False) -> tuple[list[Candidate], int]:
    """Read ``candidate_set_entities.jsonl``: one entity per line, ``{"entity_id", "description", "description_language", ...}``.

    Returns ``(candidates, skipped)`` with the WikiData QID as id and the description as
    text. A line without an id or description, or with a duplicate id, is a bad line.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "entity")
    entities: list[Candidate] = []
    for number, row in _json_lines(path, policy):
        with policy.example():
            entity_id, description = row.get("entity_id"), row.get("description")
            if not isinstance(entity_id, str) or not entity_id or not isinstance(description, str) or not description:
                raise BadExample(number, "expected non-empty string fields 'entity_id' and 'description'")
            policy.claim_id(entity_id, number)
            entities.append(Candidate(entity_id, description, str(row.get("description_language", ""))))
    return policy.finish(entities)


def _span(value: Any, number: int, what: str) -> tuple[int, int]:
    """``(start, end)`` of a ``{"start", "end"}`` object or a ``[start, end]`` pair."""
    start, end = (
        (value.get("start"), value.get("end"))
        if isinstance(value, dict)
        else (value if isinstance(value, list | tuple) and len(value) == 2 else (None, None))
    )
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end:
        raise BadExample(number, f"{what}: expected start <= end character offsets, found {value!r}")
    return start, end


def mention_in_sentence(text: str, sentences: list[tuple[int, int]], start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, with the mention marked ``{mention}`` (other braces become parentheses)."""
    first, last = 0, len(text)
    for s, e in sentences:
        if s <= start and end <= e:
            first, last = s, e
            break
    return (
        text[first:start].translate(_ESCAPES)
        + MENTION_LEFT
        + text[start:end].translate(_ESCAPES)
        + MENTION_RIGHT
        + text[end:last].translate(_ESCAPES)
    ).strip()


def read_mewslix_mentions(
    path: str | Path, language: str, *, skip_bad_lines: bool = False
) -> tuple[list[RankingQuery], int]:
    """Read ``wikinews_mentions-{split}.jsonl``: the mentions in the articles of ``language``.

    Each line is one article, ``{"context": {"language", "text", "sentence_spans", ...},
    "mentions": [{"example_id", "entity_id", "mention_span": {"start", "end", "text"}}]}``.
    A query's text is the sentence that holds the mention, the mention marked ``{...}``; its
    relevant candidate is the gold QID. ``context.text[start:end]`` must equal the mention's
    ``text``. The released ``wikinews_mentions_no_text-*`` files (empty article text) are
    refused with the step that restores the text.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "mention")
    queries: list[RankingQuery] = []
    for number, row in _json_lines(path, policy):
        context = row.get("context")
        if not isinstance(context, dict) or context.get("language") != language:
            continue
        text = context.get("text")
        if not text:
            raise fatal(
                path,
                number,
                "context.text is empty: this is a released 'no_text' file; run Mewsli-X's "
                "get-mewsli-x.sh to restore the WikiNews article text",
            )
        with policy.example():
            sentences = [_span(span, number, "context.sentence_spans") for span in context.get("sentence_spans", [])]
        for mention in row.get("mentions", []):
            with policy.example():
                example_id, entity_id = mention.get("example_id"), mention.get("entity_id")
                if not isinstance(example_id, str) or not isinstance(entity_id, str):
                    raise BadExample(number, "a mention without string 'example_id' and 'entity_id'")
                policy.claim_id(example_id, number)
                span = mention.get("mention_span") or {}
                start, end = _span(span, number, f"mention {example_id}")
                if text[start:end] != span.get("text"):
                    raise BadExample(
                        number,
                        f"mention {example_id}: context.text[{start}:{end}] is "
                        f"{text[start:end]!r}, not the mention text {span.get('text')!r}",
                    )
                queries.append(RankingQuery(example_id, mention_in_sentence(text, sentences, start, end), (entity_id,)))
    if not queries:
        raise fatal(path, None, f"no mentions in articles of language {language!r}")
    return policy.finish(queries)

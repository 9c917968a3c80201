"""Reader for XCOPA / COPA JSON Lines into two-choice ``ChoiceExample``s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossling.data.formats.common import BadExample, SkipPolicy, json_object, open_text, split_lines
from crossling.data.records import ChoiceExample

#: COPA's question types: is the correct choice the cause or the effect of the premise?
COPA_QUESTIONS = ("cause", "effect")


def read_copa_jsonl(
    path: str | Path,
    *,
    id_prefix: str = "",
    skip_bad_lines: bool = False,
) -> tuple[list[ChoiceExample], int]:
    """Read COPA-style JSON Lines: ``{"premise", "choice1", "choice2", "question", "label", "idx"}`` per line.

    ``choices`` is ``(choice1, choice2)`` and ``label`` indexes it (0 -> choice1,
    1 -> choice2); ``question`` is ``"cause"`` or ``"effect"``. The id is
    ``f"{id_prefix}{idx}"``, which lines up items across XCOPA languages; ``idx`` must be
    unique in the file. Extra keys (XCOPA's ``changed``) are ignored, and so are blank lines.

    Note that upstream XCOPA ``th`` (val, test) and ``tr`` (val) say ``"effect"`` for every
    item; the reader keeps the file's value.

    Args:
        path: The ``.jsonl`` file.
        id_prefix: Prefix of the example ids.
        skip_bad_lines: Skip malformed lines instead of failing.

    Returns:
        ``(examples, skipped)``: the examples, and how many lines were skipped (0 unless
        ``skip_bad_lines``).

    Raises:
        DataError: naming ``path:line`` for invalid JSON, a missing or mistyped field, a
            question other than cause/effect, a label other than 0/1, a duplicate ``idx``, a
            missing file, or a file without examples.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "example")
    examples: list[ChoiceExample] = []
    for number, line in enumerate(split_lines(open_text(path)), start=1):
        if not line.strip():
            continue
        with policy.example():
            example = _example(json_object(line, number), number, id_prefix)
            policy.claim_id(example.id, number)
            examples.append(example)
    return policy.finish(examples)


def _example(item: dict[str, Any], number: int, id_prefix: str) -> ChoiceExample:
    for key in ("premise", "choice1", "choice2", "question"):
        if not isinstance(item.get(key), str):
            raise BadExample(number, f"expected a string {key!r}, found {item.get(key)!r}")
    for key in ("label", "idx"):
        if type(item.get(key)) is not int:
            raise BadExample(number, f"expected an integer {key!r}, found {item.get(key)!r}")
    if item["question"] not in COPA_QUESTIONS:
        raise BadExample(number, f"expected question 'cause' or 'effect', found {item['question']!r}")
    if item["label"] not in (0, 1):
        raise BadExample(number, f"expected label 0 or 1, found {item['label']!r}")
    return ChoiceExample(
        id=f"{id_prefix}{item['idx']}",
        premise=item["premise"],
        question=item["question"],
        choices=(item["choice1"], item["choice2"]),
        label=item["label"],
    )

"""Extractive-QA featurizer: question + context windows with a document stride, context offsets, span labels."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from crossling.data.records import QAExample, Record
from crossling.errors import DataError
from crossling.tasks.registry import TaskSpec

#: Tokens shared by consecutive windows of a long context (XTREME/HF ``doc_stride``) at 384 tokens;
#: shorter maximum lengths use a third of the length (see ``doc_stride``).
DOC_STRIDE = 128

#: Questions are cut to this many sub-tokens (HF ``run_squad``'s ``max_query_length``).
MAX_QUESTION_TOKENS = 64

#: Offset of a token that is not part of the context (question, special tokens, whitespace-only pieces).
NO_OFFSET = (-1, -1)

#: Index of the token that stands for "no answer in this window" (the first token, [CLS] / <s>).
CLS_INDEX = 0


def doc_stride(max_length: int) -> int:
    """``min(DOC_STRIDE, max_length // 3)``: 128 at XTREME's 384 tokens, proportionally less below."""
    return min(DOC_STRIDE, max_length // 3)


def featurize_qa(records: Sequence[Record], task: TaskSpec, tokenizer: Any, max_length: int) -> dict[str, list]:
    """Tokenize (question, context) pairs into windows of at most ``max_length`` sub-tokens.

    A context longer than one window is split into overlapping windows (``return_overflowing_tokens``
    with ``doc_stride(max_length)`` shared tokens); only the context is truncated. One row per window.

    Output columns: the tokenizer's model inputs, ``labels`` = ``[start, end]`` token indices of
    the first gold answer (both ``CLS_INDEX`` when the answer is not inside the window or there
    is none), ``offset_mapping`` = per token the ``(start, end)`` characters of the context it
    covers, whitespace trimmed, ``NO_OFFSET`` for every other token (so decoding picks context
    only), ``example_index`` (position of the record in ``records``), ``example_id`` and ``length``.
    """
    if not all(isinstance(r, QAExample) for r in records):
        raise DataError(f"{task.name}: expected extractive-QA records")
    questions, question_lengths = _truncated_questions(records, tokenizer)
    stride = _stride(task, tokenizer, max_length, max(question_lengths))
    encoded = tokenizer(
        questions,
        [r.context for r in records],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    columns: dict[str, list] = {name: encoded[name] for name in tokenizer.model_input_names if name in encoded}
    offsets_column, labels, example_index, example_id = [], [], [], []
    for window, sample in enumerate(encoded["overflow_to_sample_mapping"]):
        record = records[sample]
        offsets = context_offsets(encoded.sequence_ids(window), encoded["offset_mapping"][window], record.context)
        offsets_column.append(offsets)
        labels.append(list(answer_token_span(offsets, record)))
        example_index.append(sample)
        example_id.append(record.id)
    columns["labels"] = labels
    columns["offset_mapping"] = offsets_column
    columns["example_index"] = example_index
    columns["example_id"] = example_id
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return columns


def _truncated_questions(records: Sequence[QAExample], tokenizer: Any) -> tuple[list[str], list[int]]:
    """Questions without leading whitespace, cut after ``MAX_QUESTION_TOKENS`` sub-tokens, and their lengths."""
    texts = [r.question.lstrip() for r in records]
    encoded = tokenizer(
        texts, add_special_tokens=False, truncation=True, max_length=MAX_QUESTION_TOKENS, return_offsets_mapping=True
    )
    questions = [
        text[: offsets[-1][1]] if offsets else text
        for text, offsets in zip(texts, encoded["offset_mapping"], strict=True)
    ]
    return questions, [len(ids) for ids in encoded["input_ids"]]


def _stride(task: TaskSpec, tokenizer: Any, max_length: int, longest_question: int) -> int:
    """The document stride, smaller than the context room of the longest question's windows."""
    room = max_length - longest_question - tokenizer.num_special_tokens_to_add(pair=True)
    if room < 2:
        raise DataError(
            f"{task.name}: max_length {max_length} leaves no room for the context after a question "
            f"of {longest_question} sub-tokens; raise task.max_length"
        )
    return min(doc_stride(max_length), room - 1)


def context_offsets(
    sequence_ids: Sequence[int | None], offsets: Sequence[Sequence[int]], context: str
) -> list[tuple[int, int]]:
    """Character spans of the context tokens (trimmed); ``NO_OFFSET`` for every other token.

    SentencePiece tokenizers report a word's leading space as part of its first piece; trimming
    whitespace and invisible format characters (a BOM, zero-width spaces) at both ends makes
    ``context[start:end]`` of a token span the answer text without surrounding spaces.
    """
    out = []
    for sequence, (start, end) in zip(sequence_ids, offsets, strict=True):
        if sequence != 1:
            out.append(NO_OFFSET)
            continue
        while start < end and _invisible(context[start]):
            start += 1
        while end > start and _invisible(context[end - 1]):
            end -= 1
        out.append((start, end) if start < end else NO_OFFSET)
    return out


def _invisible(char: str) -> bool:
    """Whitespace, or a format character (Unicode category Cf: BOM, zero-width space/joiners)."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def answer_token_span(offsets: Sequence[Sequence[int]], record: QAExample) -> tuple[int, int]:
    """``(start, end)`` token indices (inclusive) of the first gold answer, ``(CLS_INDEX, CLS_INDEX)`` if absent.

    ``start`` is the last context token starting at or before the answer's first character and
    ``end`` the first context token ending at or after its last one, so the tokens cover the
    answer; an answer not wholly inside the window's context gives ``(CLS_INDEX, CLS_INDEX)``.
    """
    if not record.answers:
        return CLS_INDEX, CLS_INDEX
    answer = record.answers[0]
    first = answer.start + len(answer.text) - len(answer.text.lstrip())
    last = answer.start + len(answer.text.rstrip())
    if last <= first:
        return CLS_INDEX, CLS_INDEX
    valid = [i for i, (start, _) in enumerate(offsets) if start >= 0]
    if not valid or offsets[valid[0]][0] > first or offsets[valid[-1]][1] < last:
        return CLS_INDEX, CLS_INDEX
    start = max(i for i in valid if offsets[i][0] <= first)
    end = min(i for i in valid if offsets[i][1] >= last)
    return start, end

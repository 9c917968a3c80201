"""Token-classification featurizer: pre-split words -> sub-tokens, first-sub-token labels, overlapping windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crossling.data.records import Record, TaggingExample
from crossling.errors import DataError
from crossling.tasks.registry import TaskSpec

#: Where a word's label goes (``task.subword_labels``). ``first``: its first sub-token, as
#: XTREME and HF's run_ner do. ``first_content``: its first sub-token that is not the bare
#: word-boundary piece ``▁`` of a SentencePiece vocabulary (XLM-R, mT5, e5), which carries no
#: information about the word: with e5's vocabulary 93% of the words of XTREME's Japanese UD-POS
#: test file start with it, and labelling it gave 13% token accuracy (45.6 F1 after the change;
#: docs/measurements/udpos-zero-shot.md). ``all``: every sub-token is trained on; predictions are
#: read at ``first_content``. Other sub-tokens and special tokens get ``IGNORE_INDEX``.
SUBWORD_LABELS = ("first_content", "first", "all")
BARE_BOUNDARY_PIECE = "\u2581"

#: Label of positions that are not trained on (cross-entropy's ``ignore_index``).
IGNORE_INDEX = -100

#: ``word_ids`` entry of a position that does not carry a word's prediction.
NO_WORD = -1


@dataclass(frozen=True)
class _Sentence:
    """One tokenized sentence: the special tokens around it, its content sub-tokens and their words."""

    prefix: list[int]
    content: list[int]
    suffix: list[int]
    prefix_types: list[int]
    content_types: list[int]
    suffix_types: list[int]
    words: list[int]  # word index of each content sub-token


def window_starts(n: int, window: int, stride: int) -> list[int]:
    """Start offsets of the windows over ``n`` content sub-tokens: ``0, stride, 2*stride, ...``, the last flush with the end.

    Every window holds ``min(n, window)`` sub-tokens; consecutive windows overlap by
    ``window - stride`` (or more, for the last one). ``1 <= stride <= window`` keeps every
    sub-token inside some window.
    """
    if n <= window:
        return [0]
    return list(range(0, n - window, stride)) + [n - window]


def owner_windows(first_positions: Sequence[int], starts: Sequence[int], window: int, n: int) -> list[int]:
    """For each word (its first sub-token's position), the window where it has the most context.

    Context of position ``q`` in window ``[a, b)`` is ``min(q - a, b - 1 - q)``, a side that
    reaches the sentence's own start or end counting as unlimited (nothing is cut there);
    ties go to the earlier window. This is BERT's "max context" rule for SQuAD windows.
    """
    owners = []
    unlimited = n + 1
    for q in first_positions:
        best, best_score = -1, -1
        for k, a in enumerate(starts):
            b = min(a + window, n)
            if not a <= q < b:
                continue
            left = q - a if a > 0 else unlimited
            right = b - 1 - q if b < n else unlimited
            score = min(left, right)
            if score > best_score:
                best, best_score = k, score
        owners.append(best)
    return owners


def featurize_tagging(
    records: Sequence[Record],
    task: TaskSpec,
    tokenizer: Any,
    max_length: int,
    *,
    stride: int | None = None,
    subword_labels: str = "first_content",
) -> dict[str, list]:
    """Tokenize word-split sentences and align word tags to sub-tokens; long sentences become overlapping windows.

    Each sentence is tokenized with ``is_split_into_words=True``. A word is labelled and
    predicted at one sub-token, chosen by ``subword_labels`` (``SUBWORD_LABELS``; by default
    its first sub-token that is not SentencePiece's bare ``▁``); with ``all`` its other
    sub-tokens are labelled too. Other positions and special tokens get -100. A sentence of more than ``W = max_length - specials`` content
    sub-tokens is not truncated: it is cut into windows of ``W`` sub-tokens starting every
    ``stride`` sub-tokens (default ``W // 2``), each wrapped in the tokenizer's special
    tokens, and each word is labelled and predicted in exactly one window, the one where it
    has the most context (``owner_windows``). A word that tokenizes to no sub-token at all
    (a zero-width or control character) is replaced by the tokenizer's unknown token, so
    every word has a position.

    Output columns (one row per window): the tokenizer's model inputs (``input_ids``,
    ``attention_mask``, ``token_type_ids`` if it makes them), ``labels`` (one per sub-token),
    ``length``, ``example_index`` (the record's position in ``records``) and ``word_ids``
    (per sub-token: the index of the word predicted there, or -1). Over all rows of a
    record, ``word_ids`` names each of its words exactly once.

    Args:
        records: ``TaggingExample``s.
        task: The task (its ``labels`` give the class ids).
        tokenizer: A fast tokenizer (``word_ids`` is needed).
        max_length: Sub-tokens per row, special tokens included.
        stride: Offset between the starts of consecutive windows, in content sub-tokens.
        subword_labels: ``first_content``, ``first`` or ``all`` (see ``SUBWORD_LABELS``).

    Raises:
        DataError: on a record that is not a ``TaggingExample``, an unknown tag, or a
            tokenizer that cannot represent some word.
        ValueError: when ``max_length`` leaves no room for content, ``stride`` is out of range
            or ``subword_labels`` is unknown.
    """
    if subword_labels not in SUBWORD_LABELS:
        raise ValueError(f"subword_labels: expected one of {', '.join(SUBWORD_LABELS)}, got {subword_labels!r}")
    if not all(isinstance(r, TaggingExample) for r in records):
        raise DataError(f"{task.name}: expected word-tagging records")
    label_ids = [_label_ids(record, task) for record in records]
    sentences = _tokenize(records, tokenizer)
    skip_ids = frozenset() if subword_labels == "first" else _bare_boundary_ids(tokenizer)
    wanted = set(tokenizer.model_input_names)
    columns: dict[str, list] = {
        "input_ids": [],
        "attention_mask": [],
        "token_type_ids": [],
        "labels": [],
        "length": [],
        "example_index": [],
        "word_ids": [],
    }
    has_types = "token_type_ids" in wanted
    for index, (sentence, labels) in enumerate(zip(sentences, label_ids, strict=True)):
        if sentence is None:
            continue  # a sentence without words has nothing to predict
        window = max_length - len(sentence.prefix) - len(sentence.suffix)
        if window < 1:
            raise ValueError(
                f"max_length {max_length} leaves no room for sub-tokens after "
                f"{len(sentence.prefix) + len(sentence.suffix)} special tokens"
            )
        step = stride if stride is not None else max(1, window // 2)
        if not 1 <= step <= window:
            raise ValueError(f"stride must be in [1, {window}] (the window of content sub-tokens), got {step}")
        for row in _windows(sentence, labels, window, step, subword_labels == "all", skip_ids):
            input_ids, types, row_labels, word_ids = row
            columns["input_ids"].append(input_ids)
            columns["attention_mask"].append([1] * len(input_ids))
            columns["token_type_ids"].append(types)
            columns["labels"].append(row_labels)
            columns["length"].append(len(input_ids))
            columns["example_index"].append(index)
            columns["word_ids"].append(word_ids)
    if not has_types:
        del columns["token_type_ids"]
    if "attention_mask" not in wanted:
        del columns["attention_mask"]
    return columns


def _bare_boundary_ids(tokenizer: Any) -> frozenset[int]:
    """The id of the tokenizer's bare ``▁`` piece, if its vocabulary has one (SentencePiece), as a set."""
    token_id = tokenizer.convert_tokens_to_ids(BARE_BOUNDARY_PIECE)
    if token_id is None or token_id == tokenizer.unk_token_id:
        return frozenset()
    return frozenset({int(token_id)})


def word_positions(words: Sequence[int], content: Sequence[int], skip_ids: frozenset[int]) -> dict[int, int]:
    """Word index -> the position that carries its label: its first sub-token not in ``skip_ids`` (else its first)."""
    positions: dict[int, list[int]] = {}
    for j, w in enumerate(words):
        if w != NO_WORD:
            positions.setdefault(w, []).append(j)
    return {w: next((j for j in js if content[j] not in skip_ids), js[0]) for w, js in positions.items()}


def _label_ids(record: TaggingExample, task: TaskSpec) -> list[int]:
    if len(record.tags) != len(record.tokens):
        raise DataError(f"{task.name}: example {record.id}: {len(record.tokens)} words but {len(record.tags)} tags")
    try:
        return [task.label_to_id(tag) for tag in record.tags]
    except ValueError:
        unknown = next(tag for tag in record.tags if tag not in task.labels)
        raise DataError(
            f"{task.name}: example {record.id}: unknown tag {unknown!r}; expected one of {list(task.labels)}"
        ) from None


def _tokenize(records: Sequence[TaggingExample], tokenizer: Any) -> list[_Sentence | None]:
    """Every record tokenized with its special tokens; words without sub-tokens replaced by the unknown token."""
    words = [list(record.tokens) for record in records]
    encoded = tokenizer(words, is_split_into_words=True, add_special_tokens=True, truncation=False, verbose=False)
    sentences = []
    for i, record in enumerate(records):
        if not record.tokens:
            sentences.append(None)
            continue
        word_ids = encoded.word_ids(i)
        ids = encoded["input_ids"][i]
        types = encoded["token_type_ids"][i] if "token_type_ids" in encoded else [0] * len(ids)
        missing = set(range(len(record.tokens))) - {w for w in word_ids if w is not None}
        if missing:
            ids, types, word_ids = _retokenize_with_unknowns(record, sorted(missing), tokenizer)
        sentences.append(_split_specials(ids, types, word_ids))
    return sentences


def _retokenize_with_unknowns(record: TaggingExample, missing: list[int], tokenizer: Any):
    """Encode ``record`` again with its sub-token-less words replaced by the unknown token."""
    unk = tokenizer.unk_token
    if unk is None:
        raise DataError(
            f"example {record.id}: word {missing[0]} ({record.tokens[missing[0]]!r}) has no sub-token "
            "and the tokenizer has no unknown token to stand in for it"
        )
    words = [unk if i in missing else word for i, word in enumerate(record.tokens)]
    encoded = tokenizer([words], is_split_into_words=True, add_special_tokens=True, truncation=False, verbose=False)
    word_ids = encoded.word_ids(0)
    still = set(range(len(words))) - {w for w in word_ids if w is not None}
    if still:
        first = min(still)
        raise DataError(
            f"example {record.id}: word {first} ({record.tokens[first]!r}) has no sub-token, "
            f"even as the unknown token {unk!r}"
        )
    ids = encoded["input_ids"][0]
    types = encoded["token_type_ids"][0] if "token_type_ids" in encoded else [0] * len(ids)
    return ids, types, word_ids


def _split_specials(ids: list[int], types: list[int], word_ids: list[int | None]) -> _Sentence:
    """Cut one encoding into (special prefix, content, special suffix) at its first and last word sub-token."""
    positions = [j for j, w in enumerate(word_ids) if w is not None]
    start, end = positions[0], positions[-1] + 1
    return _Sentence(
        prefix=ids[:start],
        content=ids[start:end],
        suffix=ids[end:],
        prefix_types=types[:start],
        content_types=types[start:end],
        suffix_types=types[end:],
        words=[w if w is not None else NO_WORD for w in word_ids[start:end]],
    )


def _windows(
    sentence: _Sentence,
    labels: list[int],
    window: int,
    stride: int,
    label_all: bool,
    skip_ids: frozenset[int] = frozenset(),
):
    """Yield ``(input_ids, token_type_ids, labels, word_ids)`` of each window of one sentence."""
    n = len(sentence.content)
    first = word_positions(sentence.words, sentence.content, skip_ids)
    order = sorted(first)
    starts = window_starts(n, window, stride)
    owners = dict(zip(order, owner_windows([first[w] for w in order], starts, window, n), strict=True))
    pad_prefix, pad_suffix = [IGNORE_INDEX] * len(sentence.prefix), [IGNORE_INDEX] * len(sentence.suffix)
    none_prefix, none_suffix = [NO_WORD] * len(sentence.prefix), [NO_WORD] * len(sentence.suffix)
    for k, a in enumerate(starts):
        b = min(a + window, n)
        row_labels, row_words = [], []
        for j in range(a, b):
            w = sentence.words[j]
            owned = w != NO_WORD and owners[w] == k
            is_first = owned and first[w] == j
            row_labels.append(labels[w] if owned and (is_first or label_all) else IGNORE_INDEX)
            row_words.append(w if is_first else NO_WORD)
        yield (
            sentence.prefix + sentence.content[a:b] + sentence.suffix,
            sentence.prefix_types + sentence.content_types[a:b] + sentence.suffix_types,
            pad_prefix + row_labels + pad_suffix,
            none_prefix + row_words + none_suffix,
        )

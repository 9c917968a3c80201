"""Sentence-pair featurizer: both sentences in one sequence, truncated to the maximum length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossling.data.records import PairExample, Record
from crossling.errors import DataError
from crossling.tasks.registry import TaskSpec


def featurize_pairs(records: Sequence[Record], task: TaskSpec, tokenizer: Any, max_length: int) -> dict[str, list]:
    """Tokenize sentence pairs (``text_a``, ``text_b``) with truncation; labels become class ids.

    Output columns: the tokenizer's model inputs (``input_ids``, ``attention_mask``, maybe
    ``token_type_ids``), ``labels`` and ``length`` (number of sub-tokens, for length grouping).
    """
    if not all(isinstance(r, PairExample) for r in records):
        raise DataError(f"{task.name}: expected sentence-pair records")
    label_ids = []
    for record in records:
        try:
            label_ids.append(task.label_to_id(record.label))
        except ValueError:
            raise DataError(
                f"{task.name}: example {record.id}: unknown label {record.label!r}; expected one of {list(task.labels)}"
            ) from None
    encoded = tokenizer(
        [r.text_a for r in records], [r.text_b for r in records], truncation=True, max_length=max_length, padding=False
    )
    columns = {name: encoded[name] for name in tokenizer.model_input_names if name in encoded}
    columns["labels"] = label_ids
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return columns

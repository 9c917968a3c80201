"""Multiple-choice featurizer: one (premise + question, choice) sequence per choice, nested per example."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossling.data.records import ChoiceExample, Record
from crossling.errors import DataError
from crossling.tasks.registry import TaskSpec

#: COPA/XCOPA question types -> the prompt appended to the premise (XTREME-R's ``run_xcopa.py``:
#: ``f"{premise} What was the {question}?"``). Any other question (SIQA) is appended verbatim.
COPA_PROMPTS = {"cause": "What was the cause?", "effect": "What was the effect?"}


def first_sequence(record: ChoiceExample) -> str:
    """The premise followed by the question: COPA's prompt for ``cause``/``effect``, else the question itself."""
    question = COPA_PROMPTS.get(record.question, record.question)
    return f"{record.premise} {question}".strip()


def featurize_choices(records: Sequence[Record], task: TaskSpec, tokenizer: Any, max_length: int) -> dict[str, list]:
    """Tokenize each example as C pairs ``(premise + question, choice)``, truncated to ``max_length``.

    Output columns: the tokenizer's model inputs, each a list of C token lists per example (the
    collator pads them to B x C x T), ``labels`` = index of the correct choice, and ``length``
    = the longest of the example's C sequences (for length grouping).
    """
    if not all(isinstance(r, ChoiceExample) for r in records):
        raise DataError(f"{task.name}: expected multiple-choice records")
    for record in records:
        if not record.choices or not 0 <= record.label < len(record.choices):
            raise DataError(
                f"{task.name}: example {record.id}: label {record.label} is not an index of its "
                f"{len(record.choices)} choices"
            )
    firsts = [first_sequence(r) for r in records for _ in r.choices]
    seconds = [choice for r in records for choice in r.choices]
    encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length, padding=False)
    bounds = [0]
    for record in records:
        bounds.append(bounds[-1] + len(record.choices))
    columns: dict[str, list] = {}
    for name in tokenizer.model_input_names:
        if name in encoded:
            flat = encoded[name]
            columns[name] = [flat[bounds[i] : bounds[i + 1]] for i in range(len(records))]
    columns["labels"] = [r.label for r in records]
    columns["length"] = [max(len(ids) for ids in choices) for choices in columns["input_ids"]]
    return columns

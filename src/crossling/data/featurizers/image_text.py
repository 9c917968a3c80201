"""Image-text alignment featurizer: one tokenized sentence per row, its scene vector as the target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crossling.data.records import ImageTextExample, Record
from crossling.errors import DataError
from crossling.tasks.registry import TaskSpec


def featurize_image_text(records: Sequence[Record], task: TaskSpec, tokenizer: Any, max_length: int) -> dict[str, list]:
    """Tokenize each sentence (truncated); ``labels`` is its feature vector (floats, length ``task.output_dim``)."""
    if not all(isinstance(r, ImageTextExample) for r in records):
        raise DataError(f"{task.name}: expected image-text records")
    for record in records:
        if len(record.features) != task.output_dim:
            raise DataError(
                f"{task.name}: example {record.id} has a {len(record.features)}-dim feature vector; "
                f"the task declares {task.output_dim}"
            )
    encoded = tokenizer([r.text for r in records], truncation=True, max_length=max_length, padding=False)
    columns = {name: encoded[name] for name in tokenizer.model_input_names if name in encoded}
    columns["labels"] = [[float(x) for x in r.features] for r in records]
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return columns

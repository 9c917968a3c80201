"""Parallel sentences for the layer probe: each language's sentences and their English translations, from a task's records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crossling.config.schema import ProbeConfig, TaskConfig
from crossling.data.loading import TaskData
from crossling.data.records import PairExample, ParallelExample
from crossling.errors import DataError

#: The language every other one is compared with.
PIVOT = "en"


@dataclass(frozen=True)
class ParallelText:
    """Sentences of one language and their English translations, aligned by position.

    Args:
        language: The non-English language.
        sentences: Its sentences.
        english: ``english[i]`` is the translation of ``sentences[i]``.
    """

    language: str
    sentences: tuple[str, ...]
    english: tuple[str, ...]


def _from_translation_pairs(data: TaskData, language: str, split: str) -> tuple[list[str], list[str]]:
    """Tatoeba, the template retrieval task: each record holds the sentence and its English target."""
    records = data.records(language, split)
    return [r.source for r in records], [r.target for r in records]


def _from_parallel_splits(data: TaskData, language: str, split: str) -> tuple[list[str], list[str]]:
    """XNLI / PAWS-X / template pair tasks: example i of a split is the same in every language; the first sentence."""
    records, english = data.records(language, split), data.records(PIVOT, split)
    if len(records) != len(english):
        raise DataError(
            f"{data.spec.name}: the {split} split of {language!r} has {len(records)} examples and "
            f"English's {len(english)}; the probe needs splits that are translations of each other"
        )
    return [r.text_a for r in records], [r.text_a for r in english]


#: Record type of a task -> how its parallel sentences are read.
READERS: dict[type, Callable[[TaskData, str, str], tuple[list[str], list[str]]]] = {
    ParallelExample: _from_translation_pairs,
    PairExample: _from_parallel_splits,
}


def probe_task_data(config: ProbeConfig) -> TaskData:
    """The probe section's task with its source, data directory and languages."""
    task = TaskConfig(
        name=config.task,
        source=config.source,
        data_dir=config.data_dir,
        eval_languages=config.languages,
        eval_split=config.split,
    )
    return TaskData.from_config(task)


def probe_languages(data: TaskData) -> tuple[str, ...]:
    """The configured languages (or all of the task's) except English."""
    return tuple(language for language in data.eval_languages() if language != PIVOT)


def parallel_texts(
    data: TaskData, split: str, max_sentences: int, languages: Sequence[str] | None = None
) -> list[ParallelText]:
    """The first ``max_sentences`` parallel sentences of each language (``READERS`` by record type).

    Raises:
        DataError: for a task whose records are not translation pairs or parallel pair
            examples, or a language with no sentences.
    """
    texts = []
    for language in languages if languages is not None else probe_languages(data):
        records = data.records(language, split)
        if not records:
            raise DataError(f"{data.spec.name}: no {split} sentences in {language!r} for the layer probe")
        reader = READERS.get(type(records[0]))
        if reader is None:
            raise DataError(
                f"{data.spec.name}: the layer probe needs parallel sentences; its {type(records[0]).__name__} "
                f"records are not ({', '.join(t.__name__ for t in READERS)} are)"
            )
        sentences, english = reader(data, language, split)
        texts.append(ParallelText(language, tuple(sentences[:max_sentences]), tuple(english[:max_sentences])))
    return texts


def texts_fingerprint(texts: Sequence[ParallelText]) -> str:
    """SHA-256 of every language's sentences and translations, in order (the probe cache's data key)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(json.dumps([text.language, text.sentences, text.english], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def describe_texts(config: ProbeConfig, texts: Sequence[ParallelText]) -> dict[str, Any]:
    """What the probe read: task, split, and sentences per language (for results and tables)."""
    return {
        "task": config.task,
        "split": config.split,
        "sentences": {text.language: len(text.sentences) for text in texts},
    }

"""Typed raw-example records, one per task kind: what every data source yields, before tokenization."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PairExample:
    """A sentence pair with a label name (NLI, paraphrase identification).

    Args:
        id: Unique id within its split (e.g. ``"en-test-17"``).
        text_a: First sentence (premise, sentence1).
        text_b: Second sentence (hypothesis, sentence2).
        label: Label *name*, one of the task's labels (never a positional index).
    """

    id: str
    text_a: str
    text_b: str
    label: str


@dataclass(frozen=True)
class TaggingExample:
    """A word-tokenized sentence with one tag per word (POS, NER).

    Args:
        id: Unique id within its split.
        tokens: Words as the treebank/file segments them.
        tags: One tag name per word (UPOS, or BIO entity tags).
    """

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """One gold answer span of an extractive QA question.

    Args:
        text: The answer string, equal to ``context[start:start + len(text)]``.
        start: Character offset of the answer in the context.
    """

    text: str
    start: int


@dataclass(frozen=True)
class QAExample:
    """An extractive QA question over a context (SQuAD v1.1 form).

    Args:
        id: Question id (the key of the official ``{id: answer}`` predictions file).
        context: The paragraph.
        question: The question.
        answers: Gold answers (one or more; empty only for unlabelled test data).
        title: Article title, if the source has one.
    """

    id: str
    context: str
    question: str
    answers: tuple[Answer, ...]
    title: str = ""


@dataclass(frozen=True)
class ParallelExample:
    """A translation pair for retrieval (Tatoeba, BUCC, the template benchmark).

    Args:
        id: Pair id.
        source: Sentence in the non-English language.
        target: Its English translation.
    """

    id: str
    source: str
    target: str


@dataclass(frozen=True)
class ChoiceExample:
    """A multiple-choice example (XCOPA / COPA / SIQA form).

    Args:
        id: Example id.
        premise: The context sentence.
        question: The question type or text (COPA: ``"cause"`` or ``"effect"``).
        choices: Candidate answers.
        label: Index of the correct choice.
    """

    id: str
    premise: str
    question: str
    choices: tuple[str, ...]
    label: int


@dataclass(frozen=True)
class ImageTextExample:
    """A sentence paired with a feature vector of the scene it describes (image-text alignment).

    Args:
        id: Example id.
        text: The sentence.
        features: The "image" feature vector of its meaning (fixed length per task).
        image_id: The image it describes when several rows may share one (captions of one image);
            ``""``: its own (the row's ``id``).
    """

    id: str
    text: str
    features: tuple[float, ...]
    image_id: str = ""


@dataclass(frozen=True)
class Candidate:
    """One retrievable item of a ranking pool (an answer sentence, an entity description).

    Args:
        id: Unique id in the pool (LAReQA: ``{lang}/{paragraph}/{sentence}``; Mewsli-X: a WikiData QID).
        text: What is encoded.
        language: Language of ``text`` (LAReQA's pool mixes 11, Mewsli-X's descriptions 50).
    """

    id: str
    text: str
    language: str


@dataclass(frozen=True)
class RankingQuery:
    """A query whose relevant candidates are known (LAReQA question, Mewsli-X mention, BUCC sentence).

    The candidates it is ranked against are shared by every query of a language (its source's
    ``candidates``), so they are encoded once.

    Args:
        id: Query id (the key of the xtreme prediction file).
        text: What is encoded (a question; a mention in its sentence, marked ``{mention}``; a
            sentence whose translation is mined).
        relevant: Ids of the candidates that answer it (LAReQA: the answer sentence in every
            language of the pool; Mewsli-X: the gold entity; BUCC: its gold translation, if any).
    """

    id: str
    text: str
    relevant: tuple[str, ...]


Record = PairExample | TaggingExample | QAExample | ParallelExample | ChoiceExample | ImageTextExample | RankingQuery


def record_to_dict(record: Record) -> dict[str, Any]:
    """A plain dict of ``record`` (tuples become lists), for Arrow tables and JSON."""
    out = asdict(record)
    for key, value in out.items():
        if isinstance(value, tuple):
            out[key] = list(value)
    return out

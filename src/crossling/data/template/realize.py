"""Meaning -> sentence in a language: dispatches to the language's realizer and builds the ``Sentence``."""

from __future__ import annotations

from crossling.data.template.languages import REALIZERS
from crossling.data.template.meaning import Employment, Event, Meaning
from crossling.data.template.surface import Sentence

#: Every language the benchmark realizes, in the order of the language table.
LANGUAGES: tuple[str, ...] = tuple(REALIZERS)


def realize(meaning: Meaning, language: str, order: str = "canonical") -> Sentence:
    """The sentence stating ``meaning`` in ``language`` (word ``order`` applies to events only)."""
    realizer = REALIZERS[language]
    if isinstance(meaning, Employment):
        return Sentence.build(language, realizer.employment(meaning))
    if order not in meaning.orders():
        raise ValueError(f"order {order!r} needs the fronted slot; {meaning} allows {meaning.orders()}")
    return Sentence.build(language, realizer.event(meaning, order))


def realize_question(meaning: Event, wh: str, language: str) -> Sentence:
    """The question asking for the ``agent``, ``place`` or ``patient`` of ``meaning`` in ``language``."""
    if wh not in ("agent", "place", "patient"):
        raise ValueError(f"unknown question slot {wh!r}")
    return Sentence.build(language, REALIZERS[language].question(meaning, wh))

"""Surface forms: tagged word tokens, the per-language spacing rules, and sentences with character offsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crossling.data.template.meaning import Employment, Event

#: The 17 Universal Dependencies part-of-speech tags.
UPOS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)
#: BIO entity tags of the NER task.
NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")

#: Languages written without spaces between words: tokens are concatenated.
UNSPACED = frozenset({"ja", "zh"})
_NO_SPACE_BEFORE = frozenset({".", ",", "،", "؟", "।"})
_NO_SPACE_AFTER = frozenset({"¿", "¡"})
#: Spaced before in French typography (``Qui ?``), attached elsewhere.
_HIGH_PUNCT = frozenset({"?", "!", ":", ";"})


@dataclass(frozen=True)
class Tok:
    """One word as a realizer emits it.

    Args:
        text: The word; outside ja/zh a text with spaces becomes one token per part.
        upos: Its UPOS tag.
        slot: The meaning slot it expresses (``agent``, ``patient``, ``place``, ``time``,
            ``org``), ``None`` for function words; QA answers are the tokens of one slot.
        entity: ``PER``/``LOC``/``ORG`` for the words of a name, else ``None``.
    """

    text: str
    upos: str
    slot: str | None = None
    entity: str | None = None

    def __post_init__(self) -> None:
        if self.upos not in UPOS:
            raise ValueError(f"{self.text!r}: {self.upos!r} is not a UPOS tag")


class Realizer(Protocol):
    """What a language module provides: sentences and questions for meanings, as tagged tokens."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """The sentence stating event ``m`` in word order ``order`` (see ``Event.orders``)."""
        ...

    def employment(self, m: Employment) -> list[Tok]:
        """The sentence stating employment fact ``m``."""
        ...

    def question(self, m: Event, wh: str) -> list[Tok]:
        """A question about event ``m`` asking for its ``agent``, ``place`` or ``patient``."""
        ...


def space_before(language: str, previous: str, word: str) -> bool:
    """Whether a space separates ``previous`` and ``word`` in ``language``.

    Rules: none in ja/zh; none after an elided clitic ending in ``'`` (``n'``, ``qu'``) or
    after Spanish ``¿``/``¡``; none before ``. , ، ؟ ।``; before ``? ! : ;`` only in French.
    """
    if language in UNSPACED or previous.endswith("'") or previous in _NO_SPACE_AFTER:
        return False
    if word in _NO_SPACE_BEFORE:
        return False
    if word in _HIGH_PUNCT:
        return language == "fr"
    return True


@dataclass(frozen=True)
class Sentence:
    """A realized sentence: its tokens, text and each token's character offset in the text."""

    language: str
    tokens: tuple[Tok, ...]
    text: str
    offsets: tuple[int, ...]

    @classmethod
    def build(cls, language: str, toks: list[Tok]) -> Sentence:
        """Join ``toks`` by the spacing rules (splitting multi-word texts outside ja/zh)."""
        if language not in UNSPACED:
            toks = [Tok(part, t.upos, t.slot, t.entity) for t in toks for part in t.text.split(" ")]
        parts: list[str] = []
        offsets: list[int] = []
        length = 0
        for i, tok in enumerate(toks):
            if i and space_before(language, toks[i - 1].text, tok.text):
                parts.append(" ")
                length += 1
            offsets.append(length)
            parts.append(tok.text)
            length += len(tok.text)
        return cls(language, tuple(toks), "".join(parts), tuple(offsets))

    @property
    def words(self) -> tuple[str, ...]:
        """The token texts."""
        return tuple(t.text for t in self.tokens)

    @property
    def upos(self) -> tuple[str, ...]:
        """One UPOS tag per token."""
        return tuple(t.upos for t in self.tokens)

    @property
    def ner_tags(self) -> tuple[str, ...]:
        """BIO tags: a name's first token ``B-``, its following tokens (same slot) ``I-``."""
        tags = []
        for i, tok in enumerate(self.tokens):
            if tok.entity is None:
                tags.append("O")
                continue
            prev = self.tokens[i - 1] if i else None
            inside = prev is not None and prev.entity == tok.entity and prev.slot == tok.slot
            tags.append(("I-" if inside else "B-") + tok.entity)
        return tuple(tags)

    def span(self, slot: str) -> tuple[int, int]:
        """``(start, end)`` character offsets of the tokens of ``slot``; they must be contiguous."""
        index = [i for i, t in enumerate(self.tokens) if t.slot == slot]
        if not index or index != list(range(index[0], index[-1] + 1)):
            raise ValueError(f"slot {slot!r} is not one contiguous span in {self.text!r}")
        return self.offsets[index[0]], self.offsets[index[-1]] + len(self.tokens[index[-1]].text)


def arrange_adjuncts(
    order: str, core: list[Tok], place: list[Tok], time: list[Tok], fronted_place: list[Tok], fronted_time: list[Tok]
) -> list[Tok]:
    """Clause with place/time adjuncts after the core, or one of them fronted before a comma.

    ``order`` is ``time_first`` (``Time, core place.``), ``place_first`` (``Place, core time.``)
    or anything else (``core place time.``); the fronted forms are the capitalised adjuncts.
    """
    if order == "time_first":
        return [*fronted_time, Tok(",", "PUNCT"), *core, *place, Tok(".", "PUNCT")]
    if order == "place_first":
        return [*fronted_place, Tok(",", "PUNCT"), *core, *time, Tok(".", "PUNCT")]
    return [*core, *place, *time, Tok(".", "PUNCT")]

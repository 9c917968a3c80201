"""English: SVO, do-support under negation and in questions, adjectives before the noun."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "en"
#: action -> (past, base form)
VERBS = {
    "see": ("saw", "see"),
    "call": ("called", "call"),
    "help": ("helped", "help"),
    "thank": ("thanked", "thank"),
    "buy": ("bought", "buy"),
    "sell": ("sold", "sell"),
    "find": ("found", "find"),
    "lose": ("lost", "lose"),
    "bring": ("brought", "bring"),
}
NOUNS = {"book": "book", "bicycle": "bicycle", "bag": "bag", "chair": "chair", "cup": "cup", "hat": "hat"}
COLOURS = {"red": "red", "blue": "blue", "green": "green", "black": "black", "white": "white", "yellow": "yellow"}
SIZES = {"big": "big", "small": "small"}
#: None of the adjectives or nouns starts with a vowel sound, so the article is always "a".
TIMES = {
    "yesterday": (("yesterday", "ADV"),),
    "monday": (("on", "ADP"), ("Monday", "PROPN")),
    "friday": (("on", "ADP"), ("Friday", "PROPN")),
}


def _cap(toks: list[Tok]) -> list[Tok]:
    first = toks[0]
    return [Tok(first.text[0].upper() + first.text[1:], first.upos, first.slot, first.entity), *toks[1:]]


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing) -> list[Tok]:
    toks = [Tok("a", "DET", "patient")]
    toks += [Tok(SIZES[thing.size], "ADJ", "patient")] if thing.size else []
    toks += [Tok(COLOURS[thing.colour], "ADJ", "patient")] if thing.colour else []
    return toks + [Tok(NOUNS[thing.noun], "NOUN", "patient")]


def _patient(m: Event) -> list[Tok]:
    return _thing(m.thing) if m.thing else [_person(m.patient, "patient")]


def _time(key: str) -> list[Tok]:
    return [Tok(text, upos, "time") for text, upos in TIMES[key]]


def _place(key: str) -> list[Tok]:
    return [Tok("in", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


class English:
    """Realizer for English."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna did not buy a big red book in Paris yesterday.`` and its fronted variants."""
        past, base = VERBS[m.action]
        verb = [Tok("did", "AUX"), Tok("not", "PART"), Tok(base, "VERB")] if m.negated else [Tok(past, "VERB")]
        core = [_person(m.agent, "agent"), *verb, *_patient(m)]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        if order == "time_first":
            return [*_cap(time), Tok(",", "PUNCT"), *core, *place, Tok(".", "PUNCT")]
        if order == "place_first":
            return [*_cap(place), Tok(",", "PUNCT"), *core, *time, Tok(".", "PUNCT")]
        return [*core, *place, *time, Tok(".", "PUNCT")]

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna works for Siemens in Berlin.``"""
        place = _place(m.city) if m.city else []
        return [
            _person(m.person, "agent"),
            Tok("works", "VERB"),
            Tok("for", "ADP"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *place,
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Who bought a red book?`` / ``Where did Anna buy a red book?`` / ``What did Anna buy?``"""
        past, base = VERBS[m.action]
        if wh == "agent":
            return [Tok("Who", "PRON"), Tok(past, "VERB"), *_patient(m), Tok("?", "PUNCT")]
        if wh == "place":
            return [
                Tok("Where", "ADV"),
                Tok("did", "AUX"),
                _person(m.agent, "agent"),
                Tok(base, "VERB"),
                *_patient(m),
                Tok("?", "PUNCT"),
            ]
        word = "What" if m.thing else "Who"
        return [Tok(word, "PRON"), Tok("did", "AUX"), _person(m.agent, "agent"), Tok(base, "VERB"), Tok("?", "PUNCT")]


REALIZER = English()

"""Vietnamese: SVO, tense/negation particles (đã, không), classifiers before nouns; tokens are syllables."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok, arrange_adjuncts

CODE = "vi"
#: action -> verb words before the object (``gọi điện cho``), each ``(text, upos)``.
VERBS = {
    "see": (("nhìn thấy", "VERB"),),
    "call": (("gọi điện", "VERB"), ("cho", "ADP")),
    "help": (("giúp", "VERB"),),
    "thank": (("cảm ơn", "VERB"),),
    "buy": (("mua", "VERB"),),
    "sell": (("bán", "VERB"),),
    "find": (("tìm thấy", "VERB"),),
    "lose": (("làm mất", "VERB"),),
    "bring": (("mang đến", "VERB"),),
}
#: noun -> (word, classifier)
NOUNS = {
    "book": ("sách", "cuốn"),
    "bicycle": ("xe đạp", "chiếc"),
    "bag": ("túi", "cái"),
    "chair": ("ghế", "cái"),
    "cup": ("cốc", "cái"),
    "hat": ("mũ", "chiếc"),
}
COLOURS = {"red": "đỏ", "blue": "xanh dương", "green": "xanh lá", "black": "đen", "white": "trắng", "yellow": "vàng"}
SIZES = {"big": "lớn", "small": "nhỏ"}
TIMES = {
    "yesterday": (("hôm qua", "NOUN"),),
    "monday": (("vào", "ADP"), ("thứ Hai", "NOUN")),
    "friday": (("vào", "ADP"), ("thứ Sáu", "NOUN")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing, negated: bool) -> list[Tok]:
    """``một cuốn sách lớn màu đỏ``; without ``một`` under negation."""
    noun, classifier = NOUNS[thing.noun]
    toks = [] if negated else [Tok("một", "NUM", "patient")]
    toks += [Tok(classifier, "NOUN", "patient"), Tok(noun, "NOUN", "patient")]
    toks += [Tok(SIZES[thing.size], "ADJ", "patient")] if thing.size else []
    return toks + (
        [Tok("màu", "NOUN", "patient"), Tok(COLOURS[thing.colour], "ADJ", "patient")] if thing.colour else []
    )


def _predicate(m: Event, negated: bool, patient: list[Tok] | None = None) -> list[Tok]:
    if patient is None:
        patient = _thing(m.thing, negated) if m.thing else [_person(m.patient, "patient")]
    particle = Tok("không", "ADV") if negated else Tok("đã", "AUX")
    return [particle, *(Tok(t, u) for t, u in VERBS[m.action]), *patient]


def _time(key: str, capital: bool = False) -> list[Tok]:
    toks = [Tok(text, upos, "time") for text, upos in TIMES[key]]
    return [Tok(toks[0].text.capitalize(), toks[0].upos, "time"), *toks[1:]] if capital else toks


def _place(key: str, capital: bool = False) -> list[Tok]:
    return [Tok("Ở" if capital else "ở", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


class Vietnamese:
    """Realizer for Vietnamese."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna không mua cuốn sách màu đỏ ở Paris hôm qua.`` / ``Hôm qua, Anna đã gọi điện cho Peter.``"""
        core = [_person(m.agent, "agent"), *_predicate(m, m.negated)]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        fronted_time = _time(m.time, True) if order == "time_first" else []
        fronted_place = _place(m.place, True) if order == "place_first" else []
        return arrange_adjuncts(order, core, place, time, fronted_place, fronted_time)

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna làm việc cho Siemens ở Berlin.``"""
        return [
            _person(m.person, "agent"),
            Tok("làm việc", "VERB"),
            Tok("cho", "ADP"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Ai đã mua một cuốn sách màu đỏ?`` / ``Anna đã nhìn thấy Peter ở đâu?`` / ``Anna đã gọi điện cho ai?``"""
        if wh == "agent":
            return [Tok("Ai", "PRON"), *_predicate(m, False), Tok("?", "PUNCT")]
        agent = _person(m.agent, "agent")
        if wh == "place":
            return [agent, *_predicate(m, False), Tok("ở", "ADP"), Tok("đâu", "PRON"), Tok("?", "PUNCT")]
        word = Tok("gì" if m.thing else "ai", "PRON")
        return [agent, *_predicate(m, False, [word]), Tok("?", "PUNCT")]


REALIZER = Vietnamese()

"""Spanish: preterite, personal ``a`` before person objects, adjective agreement, ``¿...?`` questions."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok, arrange_adjuncts

CODE = "es"
#: action -> words of the verb phrase before the object (``dio las gracias a Peter``).
VERBS = {
    "see": (("vio", "VERB"),),
    "call": (("llamó", "VERB"),),
    "help": (("ayudó", "VERB"),),
    "thank": (("dio", "VERB"), ("las", "DET"), ("gracias", "NOUN")),
    "buy": (("compró", "VERB"),),
    "sell": (("vendió", "VERB"),),
    "find": (("encontró", "VERB"),),
    "lose": (("perdió", "VERB"),),
    "bring": (("trajo", "VERB"),),
}
NOUNS = {
    "book": ("libro", "m"),
    "bicycle": ("bicicleta", "f"),
    "bag": ("bolso", "m"),
    "chair": ("silla", "f"),
    "cup": ("taza", "f"),
    "hat": ("sombrero", "m"),
}
#: adjective -> (masculine, feminine); both follow the noun, colour first.
ADJECTIVES = {
    "red": ("rojo", "roja"),
    "blue": ("azul", "azul"),
    "green": ("verde", "verde"),
    "black": ("negro", "negra"),
    "white": ("blanco", "blanca"),
    "yellow": ("amarillo", "amarilla"),
    "big": ("grande", "grande"),
    "small": ("pequeño", "pequeña"),
}
TIMES = {
    "yesterday": (("ayer", "ADV"),),
    "monday": (("el", "DET"), ("lunes", "NOUN")),
    "friday": (("el", "DET"), ("viernes", "NOUN")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _object(m: Event) -> list[Tok]:
    if m.thing is None:
        return [Tok("a", "ADP"), _person(m.patient, "patient")]
    thing: Thing = m.thing
    noun, gender = NOUNS[thing.noun]
    form = 0 if gender == "m" else 1
    toks = [Tok("un" if gender == "m" else "una", "DET", "patient"), Tok(noun, "NOUN", "patient")]
    return toks + [Tok(ADJECTIVES[a][form], "ADJ", "patient") for a in (thing.colour, thing.size) if a]


def _time(key: str, capital: bool = False) -> list[Tok]:
    toks = [Tok(text, upos, "time") for text, upos in TIMES[key]]
    return [Tok(toks[0].text.capitalize(), toks[0].upos, "time"), *toks[1:]] if capital else toks


def _place(key: str, capital: bool = False) -> list[Tok]:
    return [Tok("En" if capital else "en", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


def _verb(m: Event) -> list[Tok]:
    return [Tok(text, upos) for text, upos in VERBS[m.action]]


class Spanish:
    """Realizer for Spanish."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna no compró un libro rojo en París ayer.`` and its fronted variants."""
        negation = [Tok("no", "ADV")] if m.negated else []
        core = [_person(m.agent, "agent"), *negation, *_verb(m), *_object(m)]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        fronted_time = _time(m.time, True) if order == "time_first" else []
        fronted_place = _place(m.place, True) if order == "place_first" else []
        return arrange_adjuncts(order, core, place, time, fronted_place, fronted_time)

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna trabaja para Siemens en Berlín.``"""
        return [
            _person(m.person, "agent"),
            Tok("trabaja", "VERB"),
            Tok("para", "ADP"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``¿Quién compró un libro rojo?`` / ``¿Dónde vio Anna a Peter?`` / ``¿A quién vio Anna?``"""
        agent = _person(m.agent, "agent")
        if wh == "agent":
            return [Tok("¿", "PUNCT"), Tok("Quién", "PRON"), *_verb(m), *_object(m), Tok("?", "PUNCT")]
        if wh == "place":
            verb = _verb(m)
            return [Tok("¿", "PUNCT"), Tok("Dónde", "ADV"), verb[0], agent, *verb[1:], *_object(m), Tok("?", "PUNCT")]
        wh_word = [Tok("Qué", "PRON")] if m.thing else [Tok("A", "ADP"), Tok("quién", "PRON")]
        return [Tok("¿", "PUNCT"), *wh_word, *_verb(m), agent, Tok("?", "PUNCT")]


REALIZER = Spanish()

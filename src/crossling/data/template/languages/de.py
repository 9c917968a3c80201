"""German: verb-second with the perfect (``hat ... gekauft``), accusative/dative government, adjective declension."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "de"
#: action -> (past participle, case the person object takes: interrogative ``Wen``/``Wem``)
VERBS = {
    "see": ("gesehen", "Wen"),
    "call": ("angerufen", "Wen"),
    "help": ("geholfen", "Wem"),
    "thank": ("gedankt", "Wem"),
    "buy": ("gekauft", ""),
    "sell": ("verkauft", ""),
    "find": ("gefunden", ""),
    "lose": ("verloren", ""),
    "bring": ("mitgebracht", ""),
}
#: noun -> (word, gender)
NOUNS = {
    "book": ("Buch", "n"),
    "bicycle": ("Fahrrad", "n"),
    "bag": ("Tasche", "f"),
    "chair": ("Stuhl", "m"),
    "cup": ("Tasse", "f"),
    "hat": ("Hut", "m"),
}
ADJECTIVES = {
    "red": "rot",
    "blue": "blau",
    "green": "grün",
    "black": "schwarz",
    "white": "weiß",
    "yellow": "gelb",
    "big": "groß",
    "small": "klein",
}
#: Accusative singular after ein/kein (mixed declension): gender -> (article ending, adjective ending).
ACCUSATIVE = {"m": ("en", "en"), "f": ("e", "e"), "n": ("", "es")}
TIMES = {
    "yesterday": (("gestern", "ADV"),),
    "monday": (("am", "ADP"), ("Montag", "NOUN")),
    "friday": (("am", "ADP"), ("Freitag", "NOUN")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing, negated: bool) -> list[Tok]:
    noun, gender = NOUNS[thing.noun]
    article_end, adjective_end = ACCUSATIVE[gender]
    toks = [Tok(("kein" if negated else "ein") + article_end, "DET", "patient")]
    toks += [Tok(ADJECTIVES[a] + adjective_end, "ADJ", "patient") for a in (thing.size, thing.colour) if a]
    return toks + [Tok(noun, "NOUN", "patient")]


def _time(key: str, capital: bool = False) -> list[Tok]:
    toks = [Tok(text, upos, "time") for text, upos in TIMES[key]]
    return [Tok(toks[0].text.capitalize(), toks[0].upos, "time"), *toks[1:]] if capital else toks


def _place(key: str, capital: bool = False) -> list[Tok]:
    return [Tok("In" if capital else "in", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


class German:
    """Realizer for German."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna hat gestern in Paris kein rotes Buch gekauft.`` / ``Anna hat Peter gestern nicht gesehen.``

        Main clause: [front] hat [middle field] participle. A name object precedes the
        adverbials and ``nicht`` stands before the participle; an indefinite object follows
        them and takes ``kein`` under negation.
        """
        participle = Tok(VERBS[m.action][0], "VERB")
        time = _time(m.time) if m.time and order != "time_first" else []
        place = _place(m.place) if m.place and order != "place_first" else []
        if m.thing:
            middle = [*time, *place, *_thing(m.thing, m.negated)]
        else:
            middle = [_person(m.patient, "patient"), *time, *place] + ([Tok("nicht", "PART")] if m.negated else [])
        agent = _person(m.agent, "agent")
        if order == "time_first":
            head = [*_time(m.time, capital=True), Tok("hat", "AUX"), agent]
        elif order == "place_first":
            head = [*_place(m.place, capital=True), Tok("hat", "AUX"), agent]
        else:
            head = [agent, Tok("hat", "AUX")]
        return [*head, *middle, participle, Tok(".", "PUNCT")]

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna arbeitet bei Siemens in Berlin.``"""
        return [
            _person(m.person, "agent"),
            Tok("arbeitet", "VERB"),
            Tok("bei", "ADP"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Wer hat ein rotes Buch gekauft?`` / ``Wo hat Anna Peter gesehen?`` / ``Wem hat Anna geholfen?``"""
        participle, case = VERBS[m.action]
        obj = _thing(m.thing, False) if m.thing else [_person(m.patient, "patient")]
        end = [Tok(participle, "VERB"), Tok("?", "PUNCT")]
        if wh == "agent":
            return [Tok("Wer", "PRON"), Tok("hat", "AUX"), *obj, *end]
        if wh == "place":
            return [Tok("Wo", "ADV"), Tok("hat", "AUX"), _person(m.agent, "agent"), *obj, *end]
        return [Tok("Was" if m.thing else case, "PRON"), Tok("hat", "AUX"), _person(m.agent, "agent"), *end]


REALIZER = German()

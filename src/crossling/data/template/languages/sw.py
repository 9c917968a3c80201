"""Swahili: SVO, subject/tense/object prefixes on the verb (``a-li-m-saidia``), noun-class agreement of adjectives."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok, arrange_adjuncts

CODE = "sw"
#: action -> (verb stem, takes the class-1 object marker m-/mw-, noun after the object: ``simu``)
VERBS = {
    "see": ("ona", True, ""),
    "call": ("pigia", True, "simu"),
    "help": ("saidia", True, ""),
    "thank": ("shukuru", True, ""),
    "buy": ("nunua", False, ""),
    "sell": ("uza", False, ""),
    "find": ("pata", False, ""),
    "lose": ("poteza", False, ""),
    "bring": ("leta", False, ""),
}
#: noun -> (word, noun class)
NOUNS = {
    "book": ("kitabu", 7),
    "bicycle": ("baiskeli", 9),
    "bag": ("mfuko", 3),
    "chair": ("kiti", 7),
    "cup": ("kikombe", 7),
    "hat": ("kofia", 9),
}
#: adjective -> {class: agreeing form}; blue/green/yellow are nouns after the associative ``-a``.
ADJECTIVES = {
    "big": {7: "kikubwa", 9: "kubwa", 3: "mkubwa"},
    "small": {7: "kidogo", 9: "ndogo", 3: "mdogo"},
    "red": {7: "chekundu", 9: "nyekundu", 3: "mwekundu"},
    "black": {7: "cheusi", 9: "nyeusi", 3: "mweusi"},
    "white": {7: "cheupe", 9: "nyeupe", 3: "mweupe"},
}
ASSOCIATIVE = {7: "cha", 9: "ya", 3: "wa"}
COLOUR_NOUNS = {"blue": "bluu", "green": "kijani", "yellow": "manjano"}
TIMES = {
    "yesterday": (("jana", "ADV"),),
    "monday": (("siku", "NOUN"), ("ya", "ADP"), ("Jumatatu", "PROPN")),
    "friday": (("siku", "NOUN"), ("ya", "ADP"), ("Ijumaa", "PROPN")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def verb_form(action: str, negated: bool) -> str:
    """Past tense with a class-1 subject: ``a-li-(m)-stem``, negated ``ha-ku-(m)-stem``."""
    stem, person_object, _ = VERBS[action]
    marker = ("mw" if stem[0] in "aeiou" else "m") if person_object else ""
    return ("haku" if negated else "ali") + marker + stem


def _thing(thing: Thing) -> list[Tok]:
    noun, cls = NOUNS[thing.noun]
    toks = [Tok(noun, "NOUN", "patient")]
    toks += [Tok(ADJECTIVES[thing.size][cls], "ADJ", "patient")] if thing.size else []
    if thing.colour in COLOUR_NOUNS:
        toks += [Tok(ASSOCIATIVE[cls], "ADP", "patient"), Tok(COLOUR_NOUNS[thing.colour], "NOUN", "patient")]
    elif thing.colour:
        toks += [Tok(ADJECTIVES[thing.colour][cls], "ADJ", "patient")]
    return toks


def _predicate(m: Event, negated: bool, patient: list[Tok] | None = None) -> list[Tok]:
    if patient is None:
        patient = _thing(m.thing) if m.thing else [_person(m.patient, "patient")]
    noun = VERBS[m.action][2]
    return [Tok(verb_form(m.action, negated), "VERB"), *patient] + ([Tok(noun, "NOUN")] if noun else [])


def _time(key: str, capital: bool = False) -> list[Tok]:
    toks = [Tok(text, upos, "time") for text, upos in TIMES[key]]
    return [Tok(toks[0].text.capitalize(), toks[0].upos, "time"), *toks[1:]] if capital else toks


def _place(key: str, capital: bool = False) -> list[Tok]:
    return [Tok("Jijini" if capital else "jijini", "NOUN"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


class Swahili:
    """Realizer for Swahili."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna hakununua kitabu chekundu jijini Paris jana.`` / ``Jana, Anna alimpigia Peter simu.``"""
        core = [_person(m.agent, "agent"), *_predicate(m, m.negated)]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        fronted_time = _time(m.time, True) if order == "time_first" else []
        fronted_place = _place(m.place, True) if order == "place_first" else []
        return arrange_adjuncts(order, core, place, time, fronted_place, fronted_time)

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna anafanya kazi katika kampuni ya Siemens jijini Berlin.``"""
        return [
            _person(m.person, "agent"),
            Tok("anafanya", "VERB"),
            Tok("kazi", "NOUN"),
            Tok("katika", "ADP"),
            Tok("kampuni", "NOUN"),
            Tok("ya", "ADP"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Nani alinunua kitabu chekundu?`` / ``Anna alimwona Peter wapi?`` / ``Anna alimpigia nani simu?``"""
        if wh == "agent":
            return [Tok("Nani", "PRON"), *_predicate(m, False), Tok("?", "PUNCT")]
        agent = _person(m.agent, "agent")
        if wh == "place":
            return [agent, *_predicate(m, False), Tok("wapi", "ADV"), Tok("?", "PUNCT")]
        word = Tok("nini" if m.thing else "nani", "PRON")
        return [agent, *_predicate(m, False, [word]), Tok("?", "PUNCT")]


REALIZER = Swahili()

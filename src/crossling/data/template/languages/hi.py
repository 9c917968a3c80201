"""Hindi: SOV with postpositions, ergative ``ne`` in the perfective, verb agreement with the object or subject."""

from __future__ import annotations

from dataclasses import dataclass

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import PERSONS, Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "hi"


@dataclass(frozen=True)
class Verb:
    """How a Hindi verb builds its clause.

    Args:
        subject: Postposition after the subject (``ने`` ergative, ``को`` dative, ``""`` none).
        obj: Postposition after a person object (``को`` or ``की``), ``""`` for things.
        words: Words before the inflected verb (``फ़ोन`` of ``फ़ोन किया``), each ``(text, upos)``.
        forms: (masculine, feminine) perfective form; agreement is with the unmarked argument.
        negated: (masculine, feminine) form after ``नहीं`` (compound verbs lose the light verb).
        agrees: What the verb agrees with: ``object`` (``ने`` + unmarked object), ``subject``, or
            ``none`` (default masculine, object marked with ``को``).
    """

    subject: str
    obj: str
    words: tuple[tuple[str, str], ...]
    forms: tuple[str, str]
    negated: tuple[str, str]
    agrees: str


VERBS = {
    "see": Verb("ने", "को", (), ("देखा", "देखी"), ("देखा", "देखी"), "none"),
    "call": Verb("ने", "को", (("फ़ोन", "NOUN"),), ("किया", "की"), ("किया", "की"), "none"),
    "help": Verb("ने", "की", (("मदद", "NOUN"),), ("की", "की"), ("की", "की"), "none"),
    "thank": Verb("ने", "को", (("धन्यवाद", "NOUN"),), ("दिया", "दी"), ("दिया", "दी"), "none"),
    "buy": Verb("ने", "", (), ("खरीदा", "खरीदी"), ("खरीदा", "खरीदी"), "object"),
    "sell": Verb("ने", "", (), ("बेचा", "बेची"), ("बेचा", "बेची"), "object"),
    "lose": Verb("ने", "", (), ("खो दिया", "खो दी"), ("खोया", "खोई"), "object"),
    "find": Verb("को", "", (), ("मिला", "मिली"), ("मिला", "मिली"), "object"),
    "bring": Verb("", "", (), ("लाया", "लाई"), ("लाया", "लाई"), "subject"),
}
#: noun -> (word, gender)
NOUNS = {
    "book": ("किताब", "f"),
    "bicycle": ("साइकिल", "f"),
    "bag": ("बैग", "m"),
    "chair": ("कुर्सी", "f"),
    "cup": ("कप", "m"),
    "hat": ("टोपी", "f"),
}
#: adjective -> (masculine, feminine); लाल and सफ़ेद do not inflect.
ADJECTIVES = {
    "red": ("लाल", "लाल"),
    "blue": ("नीला", "नीली"),
    "green": ("हरा", "हरी"),
    "black": ("काला", "काली"),
    "white": ("सफ़ेद", "सफ़ेद"),
    "yellow": ("पीला", "पीली"),
    "big": ("बड़ा", "बड़ी"),
    "small": ("छोटा", "छोटी"),
}
TIMES = {
    "yesterday": (("कल", "ADV"),),
    "monday": (("सोमवार", "NOUN"), ("को", "ADP")),
    "friday": (("शुक्रवार", "NOUN"), ("को", "ADP")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing, negated: bool) -> list[Tok]:
    noun, gender = NOUNS[thing.noun]
    form = 0 if gender == "m" else 1
    toks = [] if negated else [Tok("एक", "DET", "patient")]
    toks += [Tok(ADJECTIVES[a][form], "ADJ", "patient") for a in (thing.size, thing.colour) if a]
    return toks + [Tok(noun, "NOUN", "patient")]


def _subject(key: str, verb: Verb, slot: str = "agent") -> list[Tok]:
    return [_person(key, slot)] + ([Tok(verb.subject, "ADP")] if verb.subject else [])


def _object(m: Event, negated: bool) -> list[Tok]:
    if m.thing:
        return _thing(m.thing, negated)
    return [_person(m.patient, "patient"), Tok(VERBS[m.action].obj, "ADP")]


def _verb(m: Event, negated: bool, agreement: str | None = None) -> list[Tok]:
    """The verb group; ``agreement`` forces a gender (questions with an unknown argument use masculine)."""
    verb = VERBS[m.action]
    if agreement is None:
        gender = {"object": NOUNS[m.thing.noun][1] if m.thing else "m", "subject": PERSONS[m.agent], "none": "m"}
        agreement = gender[verb.agrees]
    form = (verb.negated if negated else verb.forms)[agreement == "f"]
    toks = [Tok(text, upos) for text, upos in verb.words] + ([Tok("नहीं", "PART")] if negated else [])
    parts = form.split(" ")
    return toks + [Tok(parts[0], "VERB")] + [Tok(p, "AUX") for p in parts[1:]]


def _time(key: str) -> list[Tok]:
    return [Tok(text, upos, "time") for text, upos in TIMES[key]]


def _place(key: str) -> list[Tok]:
    return [Tok(city_name(key, CODE), "PROPN", "place", "LOC"), Tok("में", "ADP")]


class Hindi:
    """Realizer for Hindi."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``अन्ना ने कल पेरिस में एक लाल किताब खरीदी।`` / ``अन्ना को ... लाल किताब नहीं मिली।``"""
        subject = _subject(m.agent, VERBS[m.action])
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        rest = [*_object(m, m.negated), *_verb(m, m.negated), Tok("।", "PUNCT")]
        if order == "time_first":
            return [*time, *subject, *place, *rest]
        if order == "place_first":
            return [*place, *subject, *time, *rest]
        return [*subject, *time, *place, *rest]

    def employment(self, m: Employment) -> list[Tok]:
        """``अन्ना बर्लिन में सीमेंस कंपनी में काम करती है।``"""
        verb = "करती" if PERSONS[m.person] == "f" else "करता"
        return [
            _person(m.person, "agent"),
            *(_place(m.city) if m.city else []),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            Tok("कंपनी", "NOUN"),
            Tok("में", "ADP"),
            Tok("काम", "NOUN"),
            Tok(verb, "VERB"),
            Tok("है", "AUX"),
            Tok("।", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``किसने एक लाल किताब खरीदी?`` / ``अन्ना ने कहाँ पीटर को देखा?`` / ``अन्ना ने किसकी मदद की?``"""
        verb = VERBS[m.action]
        if wh == "agent":
            who = {"ने": "किसने", "को": "किसको", "": "कौन"}[verb.subject]
            agreement = "m" if verb.agrees == "subject" else None
            return [Tok(who, "PRON"), *_object(m, False), *_verb(m, False, agreement), Tok("?", "PUNCT")]
        subject = _subject(m.agent, verb)
        if wh == "place":
            return [*subject, Tok("कहाँ", "ADV"), *_object(m, False), *_verb(m, False), Tok("?", "PUNCT")]
        if m.thing:
            agreement = PERSONS[m.agent] if verb.agrees == "subject" else "m"
            return [*subject, Tok("क्या", "PRON"), *_verb(m, False, agreement), Tok("?", "PUNCT")]
        whom = {"को": "किसको", "की": "किसकी"}[verb.obj]
        return [*subject, Tok(whom, "PRON"), *_verb(m, False), Tok("?", "PUNCT")]


REALIZER = Hindi()

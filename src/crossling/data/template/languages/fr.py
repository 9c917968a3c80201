"""French: passé composé, ``ne ... pas`` with ``de`` for the negated indefinite, gender agreement of adjectives."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok, arrange_adjuncts

CODE = "fr"
PARTICIPLES = {
    "see": "vu",
    "call": "appelé",
    "help": "aidé",
    "thank": "remercié",
    "buy": "acheté",
    "sell": "vendu",
    "find": "trouvé",
    "lose": "perdu",
    "bring": "apporté",
}
#: noun -> (word, gender); all start with a consonant, so ``de``/``un``/``une`` never elide.
NOUNS = {
    "book": ("livre", "m"),
    "bicycle": ("vélo", "m"),
    "bag": ("sac", "m"),
    "chair": ("chaise", "f"),
    "cup": ("tasse", "f"),
    "hat": ("chapeau", "m"),
}
#: adjective -> (masculine, feminine); colours follow the noun, sizes precede it.
ADJECTIVES = {
    "red": ("rouge", "rouge"),
    "blue": ("bleu", "bleue"),
    "green": ("vert", "verte"),
    "black": ("noir", "noire"),
    "white": ("blanc", "blanche"),
    "yellow": ("jaune", "jaune"),
    "big": ("grand", "grande"),
    "small": ("petit", "petite"),
}
TIMES = {"yesterday": ("hier", "ADV"), "monday": ("lundi", "NOUN"), "friday": ("vendredi", "NOUN")}
_VOWELS = "AEIOUÉÈÂÎÔaeiouéèâîô"


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing, negated: bool) -> list[Tok]:
    noun, gender = NOUNS[thing.noun]
    form = 0 if gender == "m" else 1
    article = "de" if negated else ("un" if gender == "m" else "une")
    toks = [Tok(article, "DET", "patient")]
    toks += [Tok(ADJECTIVES[thing.size][form], "ADJ", "patient")] if thing.size else []
    toks += [Tok(noun, "NOUN", "patient")]
    return toks + ([Tok(ADJECTIVES[thing.colour][form], "ADJ", "patient")] if thing.colour else [])


def _time(key: str, capital: bool = False) -> list[Tok]:
    text, upos = TIMES[key]
    return [Tok(text.capitalize() if capital else text, upos, "time")]


def _place(key: str, capital: bool = False) -> list[Tok]:
    return [Tok("À" if capital else "à", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


def _que(name: str) -> Tok:
    """``que``, elided to ``qu'`` before a vowel-initial name."""
    return Tok("qu'" if name[0] in _VOWELS else "que", "SCONJ")


class French:
    """Realizer for French."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna n'a pas acheté de livre rouge à Paris hier.`` and its fronted variants."""
        verb = [Tok("a", "AUX"), Tok(PARTICIPLES[m.action], "VERB")]
        if m.negated:
            verb = [Tok("n'", "ADV"), verb[0], Tok("pas", "ADV"), verb[1]]
        obj = _thing(m.thing, m.negated) if m.thing else [_person(m.patient, "patient")]
        core = [_person(m.agent, "agent"), *verb, *obj]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        fronted_time = _time(m.time, True) if order == "time_first" else []
        fronted_place = _place(m.place, True) if order == "place_first" else []
        return arrange_adjuncts(order, core, place, time, fronted_place, fronted_time)

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna travaille chez Siemens à Berlin.``"""
        return [
            _person(m.person, "agent"),
            Tok("travaille", "VERB"),
            Tok("chez", "ADP"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Qui a acheté un livre rouge ?`` / ``Où est-ce qu'Anna a vu Peter ?`` / ``Qu'est-ce qu'Anna a acheté ?``"""
        verb = [Tok("a", "AUX"), Tok(PARTICIPLES[m.action], "VERB")]
        obj = _thing(m.thing, False) if m.thing else [_person(m.patient, "patient")]
        agent = _person(m.agent, "agent")
        if wh == "agent":
            return [Tok("Qui", "PRON"), *verb, *obj, Tok("?", "PUNCT")]
        if wh == "place":
            return [Tok("Où", "ADV"), Tok("est-ce", "AUX"), _que(agent.text), agent, *verb, *obj, Tok("?", "PUNCT")]
        word = Tok("Qu'", "PRON") if m.thing else Tok("Qui", "PRON")
        return [word, Tok("est-ce", "AUX"), _que(agent.text), agent, *verb, Tok("?", "PUNCT")]


REALIZER = French()

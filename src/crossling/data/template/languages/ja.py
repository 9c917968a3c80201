"""Japanese: SOV with case particles (は, を, に, で), polite past, no spaces (tokens are short units)."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "ja"
#: action -> (particle of a person object, verb words before the polite ending)
VERBS = {
    "see": ("を", (("見", "VERB"),)),
    "call": ("に", (("電話", "NOUN"), ("を", "ADP"), ("かけ", "VERB"))),
    "help": ("を", (("手伝い", "VERB"),)),
    "thank": ("に", (("お礼", "NOUN"), ("を", "ADP"), ("言い", "VERB"))),
    "buy": ("を", (("買い", "VERB"),)),
    "sell": ("を", (("売り", "VERB"),)),
    "find": ("を", (("見つけ", "VERB"),)),
    "lose": ("を", (("なくし", "VERB"),)),
    "bring": ("を", (("持っ", "VERB"), ("て", "SCONJ"), ("き", "VERB"))),
}
NOUNS = {"book": "本", "bicycle": "自転車", "bag": "かばん", "chair": "椅子", "cup": "カップ", "hat": "帽子"}
#: adjective -> its words before the noun (``緑`` is a noun and takes ``の``).
ADJECTIVES = {
    "red": (("赤い", "ADJ"),),
    "blue": (("青い", "ADJ"),),
    "green": (("緑", "NOUN"), ("の", "ADP")),
    "black": (("黒い", "ADJ"),),
    "white": (("白い", "ADJ"),),
    "yellow": (("黄色い", "ADJ"),),
    "big": (("大きな", "ADJ"),),
    "small": (("小さな", "ADJ"),),
}
TIMES = {
    "yesterday": (("昨日", "NOUN"),),
    "monday": (("月曜日", "NOUN"), ("に", "ADP")),
    "friday": (("金曜日", "NOUN"), ("に", "ADP")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing) -> list[Tok]:
    toks = [Tok(text, upos, "patient") for a in (thing.size, thing.colour) if a for text, upos in ADJECTIVES[a]]
    return toks + [Tok(NOUNS[thing.noun], "NOUN", "patient")]


def _object(m: Event) -> list[Tok]:
    if m.thing:
        return [*_thing(m.thing), Tok("を", "ADP")]
    return [_person(m.patient, "patient"), Tok(VERBS[m.action][0], "ADP")]


def _verb(m: Event, negated: bool) -> list[Tok]:
    return [Tok(t, u) for t, u in VERBS[m.action][1]] + [Tok("ませんでした" if negated else "ました", "AUX")]


def _time(key: str) -> list[Tok]:
    return [Tok(text, upos, "time") for text, upos in TIMES[key]]


def _place(key: str) -> list[Tok]:
    return [Tok(city_name(key, CODE), "PROPN", "place", "LOC"), Tok("で", "ADP")]


class Japanese:
    """Realizer for Japanese."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``アンナは昨日パリで赤い本を買いませんでした。`` / ``昨日、アンナは…`` / ``パリで、アンナは…``"""
        topic = [_person(m.agent, "agent"), Tok("は", "ADP")]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        rest = [*_object(m), *_verb(m, m.negated), Tok("。", "PUNCT")]
        if order == "time_first":
            return [*time, Tok("、", "PUNCT"), *topic, *place, *rest]
        if order == "place_first":
            return [*place, Tok("、", "PUNCT"), *topic, *time, *rest]
        return [*topic, *time, *place, *rest]

    def employment(self, m: Employment) -> list[Tok]:
        """``アンナはベルリンのシーメンスで働いています。``"""
        city = [Tok(city_name(m.city, CODE), "PROPN", "place", "LOC"), Tok("の", "ADP")] if m.city else []
        return [
            _person(m.person, "agent"),
            Tok("は", "ADP"),
            *city,
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            Tok("で", "ADP"),
            Tok("働い", "VERB"),
            Tok("て", "SCONJ"),
            Tok("い", "AUX"),
            Tok("ます", "AUX"),
            Tok("。", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``誰が赤い本を買いましたか。`` / ``アンナはどこで…`` / ``アンナは誰に電話をかけましたか。``"""
        end = [*_verb(m, False), Tok("か", "PART"), Tok("。", "PUNCT")]
        if wh == "agent":
            return [Tok("誰", "PRON"), Tok("が", "ADP"), *_object(m), *end]
        topic = [_person(m.agent, "agent"), Tok("は", "ADP")]
        if wh == "place":
            return [*topic, Tok("どこ", "PRON"), Tok("で", "ADP"), *_object(m), *end]
        if m.thing:
            return [*topic, Tok("何", "PRON"), Tok("を", "ADP"), *end]
        return [*topic, Tok("誰", "PRON"), Tok(VERBS[m.action][0], "ADP"), *end]


REALIZER = Japanese()

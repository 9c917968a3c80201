"""Chinese (Mandarin, simplified): aspect 了, negation 没有, measure words, 在-locatives before the verb; no spaces."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "zh"
VERBS = {
    "see": "看见",
    "help": "帮助",
    "thank": "感谢",
    "buy": "买",
    "sell": "卖",
    "find": "找到",
    "lose": "丢",
    "bring": "带来",
}
#: noun -> (word, measure word)
NOUNS = {
    "book": ("书", "本"),
    "bicycle": ("自行车", "辆"),
    "bag": ("包", "个"),
    "chair": ("椅子", "把"),
    "cup": ("杯子", "个"),
    "hat": ("帽子", "顶"),
}
COLOURS = {"red": "红色", "blue": "蓝色", "green": "绿色", "black": "黑色", "white": "白色", "yellow": "黄色"}
SIZES = {"big": "大", "small": "小"}
TIMES = {"yesterday": "昨天", "monday": "星期一", "friday": "星期五"}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing, negated: bool) -> list[Tok]:
    """``一本红色的大书``; without ``一`` + measure word under negation (``没有买红色的书``)."""
    noun, measure = NOUNS[thing.noun]
    toks = [] if negated else [Tok("一", "NUM", "patient"), Tok(measure, "NOUN", "patient")]
    toks += [Tok(COLOURS[thing.colour], "NOUN", "patient"), Tok("的", "PART", "patient")] if thing.colour else []
    toks += [Tok(SIZES[thing.size], "ADJ", "patient")] if thing.size else []
    return toks + [Tok(noun, "NOUN", "patient")]


def _predicate(m: Event, negated: bool, patient: list[Tok] | None = None) -> list[Tok]:
    """Verb, aspect and object: ``买了一本书`` / ``给彼得打了电话`` (``patient`` replaces the object words)."""
    aspect = [] if negated else [Tok("了", "AUX")]
    if patient is None:
        patient = _thing(m.thing, negated) if m.thing else [_person(m.patient, "patient")]
    if m.action == "call":
        return [Tok("给", "ADP"), *patient, Tok("打", "VERB"), *aspect, Tok("电话", "NOUN")]
    return [Tok(VERBS[m.action], "VERB"), *aspect, *patient]


def _time(key: str) -> list[Tok]:
    return [Tok(TIMES[key], "NOUN", "time")]


def _place(key: str) -> list[Tok]:
    return [Tok("在", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


class Chinese:
    """Realizer for Chinese."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``安娜昨天没有在巴黎买红色的书。`` / ``昨天，安娜在巴黎给彼得打了电话。``"""
        agent = _person(m.agent, "agent")
        negation = [Tok("没有", "ADV")] if m.negated else []
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        predicate = _predicate(m, m.negated)
        if order == "time_first":
            return [*time, Tok("，", "PUNCT"), agent, *negation, *place, *predicate, Tok("。", "PUNCT")]
        if order == "place_first":
            return [*place, Tok("，", "PUNCT"), agent, *time, *negation, *predicate, Tok("。", "PUNCT")]
        return [agent, *time, *negation, *place, *predicate, Tok("。", "PUNCT")]

    def employment(self, m: Employment) -> list[Tok]:
        """``安娜在柏林的西门子工作。``"""
        city = [Tok(city_name(m.city, CODE), "PROPN", "place", "LOC"), Tok("的", "PART")] if m.city else []
        return [
            _person(m.person, "agent"),
            Tok("在", "ADP"),
            *city,
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            Tok("工作", "VERB"),
            Tok("。", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``谁买了一本红色的书？`` / ``安娜在哪里给彼得打了电话？`` / ``安娜买了什么？``"""
        if wh == "agent":
            return [Tok("谁", "PRON"), *_predicate(m, False), Tok("？", "PUNCT")]
        agent = _person(m.agent, "agent")
        if wh == "place":
            return [agent, Tok("在", "ADP"), Tok("哪里", "PRON"), *_predicate(m, False), Tok("？", "PUNCT")]
        word = Tok("什么" if m.thing else "谁", "PRON")
        return [agent, *_predicate(m, False, [word]), Tok("？", "PUNCT")]


REALIZER = Chinese()

"""Russian: past tense agreeing in gender with the subject, accusative/dative government, declined names and cities."""

from __future__ import annotations

from crossling.data.template.lexicon import org_name, person_name
from crossling.data.template.meaning import PERSONS, Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "ru"
#: person -> (accusative, dative); the nominative is in ``lexicon``. Names ending in a vowel
#: other than -а/-я, and female names ending in a consonant, do not decline.
NAME_CASES = {
    "anna": ("Анну", "Анне"),
    "peter": ("Петера", "Петеру"),
    "olga": ("Ольгу", "Ольге"),
    "ivan": ("Ивана", "Ивану"),
    "fatima": ("Фатиму", "Фатиме"),
    "ahmed": ("Ахмеда", "Ахмеду"),
    "priya": ("Прию", "Прии"),
    "rahul": ("Рахула", "Рахулу"),
    "mehmet": ("Мехмета", "Мехмету"),
    "amina": ("Амину", "Амине"),
    "juma": ("Джуму", "Джуме"),
    "minh": ("Миня", "Миню"),
}
#: city -> locative (prepositional) form after ``в``.
CITY_LOCATIVE = {
    "paris": "Париже",
    "berlin": "Берлине",
    "tokyo": "Токио",
    "dubai": "Дубае",
    "moscow": "Москве",
    "istanbul": "Стамбуле",
    "beijing": "Пекине",
    "nairobi": "Найроби",
    "mumbai": "Мумбаи",
    "hanoi": "Ханое",
    "new_york": "Нью-Йорке",
    "madrid": "Мадриде",
}
#: action -> (masculine past, feminine past, case of a person object: 0 accusative, 1 dative)
VERBS = {
    "see": ("увидел", "увидела", 0),
    "call": ("позвонил", "позвонила", 1),
    "help": ("помог", "помогла", 1),
    "thank": ("поблагодарил", "поблагодарила", 0),
    "buy": ("купил", "купила", 0),
    "sell": ("продал", "продала", 0),
    "find": ("нашёл", "нашла", 0),
    "lose": ("потерял", "потеряла", 0),
    "bring": ("принёс", "принесла", 0),
}
#: noun -> (accusative singular, gender); masculine nouns here are inanimate (accusative = nominative).
NOUNS = {
    "book": ("книгу", "f"),
    "bicycle": ("велосипед", "m"),
    "bag": ("сумку", "f"),
    "chair": ("стул", "m"),
    "cup": ("чашку", "f"),
    "hat": ("шляпу", "f"),
}
#: adjective -> (masculine inanimate accusative, feminine accusative)
ADJECTIVES = {
    "red": ("красный", "красную"),
    "blue": ("синий", "синюю"),
    "green": ("зелёный", "зелёную"),
    "black": ("чёрный", "чёрную"),
    "white": ("белый", "белую"),
    "yellow": ("жёлтый", "жёлтую"),
    "big": ("большой", "большую"),
    "small": ("маленький", "маленькую"),
}
TIMES = {
    "yesterday": (("вчера", "ADV"),),
    "monday": (("в", "ADP"), ("понедельник", "NOUN")),
    "friday": (("в", "ADP"), ("пятницу", "NOUN")),
}


def name_form(key: str, case: int | None) -> str:
    """The name of ``key`` in the nominative (``None``), accusative (0) or dative (1)."""
    if case is None or key not in NAME_CASES:
        return person_name(key, CODE)
    return NAME_CASES[key][case]


def _person(key: str, slot: str, case: int | None = None) -> Tok:
    return Tok(name_form(key, case), "PROPN", slot, "PER")


def _thing(thing: Thing) -> list[Tok]:
    noun, gender = NOUNS[thing.noun]
    form = 0 if gender == "m" else 1
    toks = [Tok(ADJECTIVES[a][form], "ADJ", "patient") for a in (thing.size, thing.colour) if a]
    return toks + [Tok(noun, "NOUN", "patient")]


def _object(m: Event) -> list[Tok]:
    return _thing(m.thing) if m.thing else [_person(m.patient, "patient", VERBS[m.action][2])]


def _time(key: str, capital: bool = False) -> list[Tok]:
    toks = [Tok(text, upos, "time") for text, upos in TIMES[key]]
    return [Tok(toks[0].text.capitalize(), toks[0].upos, "time"), *toks[1:]] if capital else toks


def _place(key: str, capital: bool = False) -> list[Tok]:
    return [Tok("В" if capital else "в", "ADP"), Tok(CITY_LOCATIVE[key], "PROPN", "place", "LOC")]


def _past(m: Event, gender: str) -> Tok:
    masculine, feminine, _ = VERBS[m.action]
    return Tok(feminine if gender == "f" else masculine, "VERB")


class Russian:
    """Realizer for Russian."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Анна вчера в Париже не купила красную книгу.`` / ``Вчера Анна позвонила Ивану в Париже.``"""
        verb = [Tok("не", "PART")] * m.negated + [_past(m, PERSONS[m.agent])]
        agent = _person(m.agent, "agent")
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        if order == "time_first":
            return [*_time(m.time, True), agent, *verb, *_object(m), *place, Tok(".", "PUNCT")]
        if order == "place_first":
            return [*_place(m.place, True), agent, *time, *verb, *_object(m), Tok(".", "PUNCT")]
        return [agent, *time, *place, *verb, *_object(m), Tok(".", "PUNCT")]

    def employment(self, m: Employment) -> list[Tok]:
        """``Анна работает в компании Сименс в Берлине.``"""
        return [
            _person(m.person, "agent"),
            Tok("работает", "VERB"),
            Tok("в", "ADP"),
            Tok("компании", "NOUN"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Кто купил красную книгу?`` / ``Где Анна увидела Петера?`` / ``Кому помогла Анна?``"""
        agent = _person(m.agent, "agent")
        if wh == "agent":
            return [Tok("Кто", "PRON"), _past(m, "m"), *_object(m), Tok("?", "PUNCT")]
        if wh == "place":
            return [Tok("Где", "ADV"), agent, _past(m, PERSONS[m.agent]), *_object(m), Tok("?", "PUNCT")]
        word = "Что" if m.thing else ("Кого", "Кому")[VERBS[m.action][2]]
        return [Tok(word, "PRON"), _past(m, PERSONS[m.agent]), agent, Tok("?", "PUNCT")]


REALIZER = Russian()

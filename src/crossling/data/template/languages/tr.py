"""Turkish: SOV, case suffixes with vowel harmony and consonant assimilation, apostrophe after proper names."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "tr"
_BACK = "aıou"
_VOWELS = "aeıioöuü"
_VOICELESS = "çfhkpsşt"
#: How a name is pronounced where the spelling misleads the suffix (``Claire'i``, ``Google'da``).
PRONUNCIATION = {
    "claire": "kler",
    "louis": "lui",
    "google": "gugıl",
    "air_france": "er frans",
    "siemens": "zimens",
    "new_york": "nyu york",
}
#: action -> (verb stem, case of a person object: ``acc``/``dat``, noun of a light-verb compound)
VERBS = {
    "see": ("gör", "acc", ""),
    "call": ("ara", "acc", ""),
    "help": ("et", "dat", "yardım"),
    "thank": ("et", "dat", "teşekkür"),
    "buy": ("al", "acc", ""),
    "sell": ("sat", "acc", ""),
    "find": ("bul", "acc", ""),
    "lose": ("kaybet", "acc", ""),
    "bring": ("getir", "acc", ""),
}
NOUNS = {"book": "kitap", "bicycle": "bisiklet", "bag": "çanta", "chair": "sandalye", "cup": "fincan", "hat": "şapka"}
ADJECTIVES = {
    "red": "kırmızı",
    "blue": "mavi",
    "green": "yeşil",
    "black": "siyah",
    "white": "beyaz",
    "yellow": "sarı",
    "big": "büyük",
    "small": "küçük",
}
TIMES = {
    "yesterday": (("dün", "ADV"),),
    "monday": (("pazartesi", "NOUN"), ("günü", "NOUN")),
    "friday": (("cuma", "NOUN"), ("günü", "NOUN")),
}


def _lower(text: str) -> str:
    return text.replace("İ", "i").replace("I", "ı").lower()


def _last_vowel(sound: str) -> str:
    return next(ch for ch in reversed(sound) if ch in _VOWELS)


def harmony(sound: str, four_way: bool) -> str:
    """The suffix vowel after ``sound``: 2-way ``a/e`` or 4-way ``ı/i/u/ü``, by its last vowel."""
    vowel = _last_vowel(sound)
    if not four_way:
        return "a" if vowel in _BACK else "e"
    return {"a": "ı", "ı": "ı", "e": "i", "i": "i", "o": "u", "u": "u", "ö": "ü", "ü": "ü"}[vowel]


def suffix(sound: str, case: str) -> str:
    """Case suffix for a word pronounced ``sound``: ``acc`` -(y)I, ``dat`` -(y)A, ``loc`` -DA."""
    ends_in_vowel = sound[-1] in _VOWELS
    if case == "acc":
        return ("y" if ends_in_vowel else "") + harmony(sound, True)
    if case == "dat":
        return ("y" if ends_in_vowel else "") + harmony(sound, False)
    return ("t" if sound[-1] in _VOICELESS else "d") + harmony(sound, False)


def inflect_name(text: str, key: str, case: str) -> str:
    """A proper name with a case suffix after an apostrophe (``Paris'te``, ``Anna'yı``)."""
    return f"{text}'{suffix(PRONUNCIATION.get(key, _lower(text)), case)}"


def past(stem: str, negated: bool) -> str:
    """Third-person simple past ``-DI`` (``aldı``, ``gördü``, ``etti``), negated with ``-mA-`` (``almadı``)."""
    if negated:
        stem = stem + "m" + harmony(stem, False)
    return stem + ("t" if stem[-1] in _VOICELESS else "d") + harmony(stem, True)


def _person(key: str, slot: str, case: str | None = None) -> Tok:
    name = person_name(key, CODE)
    return Tok(inflect_name(name, key, case) if case else name, "PROPN", slot, "PER")


def _thing(thing: Thing) -> list[Tok]:
    toks = [Tok(ADJECTIVES[a], "ADJ", "patient") for a in (thing.size, thing.colour) if a]
    return toks + [Tok("bir", "DET", "patient"), Tok(NOUNS[thing.noun], "NOUN", "patient")]


def _object(m: Event) -> list[Tok]:
    return _thing(m.thing) if m.thing else [_person(m.patient, "patient", VERBS[m.action][1])]


def _verb(m: Event) -> list[Tok]:
    stem, _, noun = VERBS[m.action]
    return ([Tok(noun, "NOUN")] if noun else []) + [Tok(past(stem, m.negated), "VERB")]


def _time(key: str, capital: bool = False) -> list[Tok]:
    toks = [Tok(text, upos, "time") for text, upos in TIMES[key]]
    return [Tok(toks[0].text.capitalize(), toks[0].upos, "time"), *toks[1:]] if capital else toks


def _place(key: str) -> list[Tok]:
    return [Tok(inflect_name(city_name(key, CODE), key, "loc"), "PROPN", "place", "LOC")]


class Turkish:
    """Realizer for Turkish."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``Anna dün Paris'te kırmızı bir kitap almadı.`` / ``Dün Anna Peter'e yardım etti.``"""
        agent = _person(m.agent, "agent")
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        rest = [*_object(m), *_verb(m), Tok(".", "PUNCT")]
        if order == "time_first":
            return [*_time(m.time, True), agent, *place, *rest]
        if order == "place_first":
            return [*place, agent, *time, *rest]
        return [agent, *time, *place, *rest]

    def employment(self, m: Employment) -> list[Tok]:
        """``Anna Berlin'de Siemens'te çalışıyor.``"""
        org = Tok(inflect_name(org_name(m.org, CODE), m.org, "loc"), "PROPN", "org", "ORG")
        return [
            _person(m.person, "agent"),
            *(_place(m.city) if m.city else []),
            org,
            Tok("çalışıyor", "VERB"),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``Kim kırmızı bir kitap aldı?`` / ``Anna nerede kırmızı bir kitap aldı?`` / ``Anna kime yardım etti?``"""
        positive = Event(m.agent, m.action, m.patient)
        if wh == "agent":
            return [Tok("Kim", "PRON"), *_object(m), *_verb(positive), Tok("?", "PUNCT")]
        agent = _person(m.agent, "agent")
        if wh == "place":
            if m.thing:
                return [agent, Tok("nerede", "ADV"), *_object(m), *_verb(positive), Tok("?", "PUNCT")]
            return [agent, *_object(m), Tok("nerede", "ADV"), *_verb(positive), Tok("?", "PUNCT")]
        word = "ne" if m.thing else {"acc": "kimi", "dat": "kime"}[VERBS[m.action][1]]
        return [agent, Tok(word, "PRON"), *_verb(positive), Tok("?", "PUNCT")]


REALIZER = Turkish()

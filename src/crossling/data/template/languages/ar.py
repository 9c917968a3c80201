"""Arabic (MSA): verb-subject-object, verb gender agreement, ``lam`` + jussive for past negation, agreeing adjectives."""

from __future__ import annotations

from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.meaning import PERSONS, Employment, Event, Thing
from crossling.data.template.surface import Tok

CODE = "ar"
#: action -> (past m, past f, jussive m, jussive f, past m + "him", past f + "him")
VERBS = {
    "see": ("رأى", "رأت", "ير", "تر", "رآه", "رأته"),
    "call": ("هاتف", "هاتفت", "يهاتف", "تهاتف", "هاتفه", "هاتفته"),
    "help": ("ساعد", "ساعدت", "يساعد", "تساعد", "ساعده", "ساعدته"),
    "thank": ("شكر", "شكرت", "يشكر", "تشكر", "شكره", "شكرته"),
    "buy": ("اشترى", "اشترت", "يشتر", "تشتر", "", ""),
    "sell": ("باع", "باعت", "يبع", "تبع", "", ""),
    "find": ("وجد", "وجدت", "يجد", "تجد", "", ""),
    "lose": ("فقد", "فقدت", "يفقد", "تفقد", "", ""),
    "bring": ("أحضر", "أحضرت", "يحضر", "تحضر", "", ""),
}
#: noun -> (indefinite accusative, gender)
NOUNS = {
    "book": ("كتابًا", "m"),
    "bicycle": ("دراجة", "f"),
    "bag": ("حقيبة", "f"),
    "chair": ("كرسيًا", "m"),
    "cup": ("فنجانًا", "m"),
    "hat": ("قبعة", "f"),
}
#: adjective -> (masculine, feminine) indefinite accusative; colour adjectives are diptotes (no tanwin).
ADJECTIVES = {
    "red": ("أحمر", "حمراء"),
    "blue": ("أزرق", "زرقاء"),
    "green": ("أخضر", "خضراء"),
    "black": ("أسود", "سوداء"),
    "white": ("أبيض", "بيضاء"),
    "yellow": ("أصفر", "صفراء"),
    "big": ("كبيرًا", "كبيرة"),
    "small": ("صغيرًا", "صغيرة"),
}
TIMES = {
    "yesterday": (("أمس", "ADV"),),
    "monday": (("يوم", "NOUN"), ("الاثنين", "NOUN")),
    "friday": (("يوم", "NOUN"), ("الجمعة", "NOUN")),
}


def _person(key: str, slot: str) -> Tok:
    return Tok(person_name(key, CODE), "PROPN", slot, "PER")


def _thing(thing: Thing) -> list[Tok]:
    noun, gender = NOUNS[thing.noun]
    form = 0 if gender == "m" else 1
    return [Tok(noun, "NOUN", "patient")] + [
        Tok(ADJECTIVES[a][form], "ADJ", "patient") for a in (thing.size, thing.colour) if a
    ]


def _object(m: Event) -> list[Tok]:
    return _thing(m.thing) if m.thing else [_person(m.patient, "patient")]


def _time(key: str) -> list[Tok]:
    return [Tok(text, upos, "time") for text, upos in TIMES[key]]


def _place(key: str) -> list[Tok]:
    return [Tok("في", "ADP"), Tok(city_name(key, CODE), "PROPN", "place", "LOC")]


def _verb(m: Event, gender: str) -> list[Tok]:
    forms = VERBS[m.action]
    female = gender == "f"
    if m.negated:
        return [Tok("لم", "PART"), Tok(forms[3] if female else forms[2], "VERB")]
    return [Tok(forms[1] if female else forms[0], "VERB")]


class Arabic:
    """Realizer for Arabic."""

    def event(self, m: Event, order: str) -> list[Tok]:
        """``لم تشتر آنا كتابًا أحمر في باريس أمس.`` and its fronted variants (with ``،``)."""
        core = [*_verb(m, PERSONS[m.agent]), _person(m.agent, "agent"), *_object(m)]
        place = _place(m.place) if m.place else []
        time = _time(m.time) if m.time else []
        if order == "time_first":
            return [*time, Tok("،", "PUNCT"), *core, *place, Tok(".", "PUNCT")]
        if order == "place_first":
            return [*place, Tok("،", "PUNCT"), *core, *time, Tok(".", "PUNCT")]
        return [*core, *place, *time, Tok(".", "PUNCT")]

    def employment(self, m: Employment) -> list[Tok]:
        """``تعمل آنا في شركة سيمنس في برلين.``"""
        verb = "تعمل" if PERSONS[m.person] == "f" else "يعمل"
        return [
            Tok(verb, "VERB"),
            _person(m.person, "agent"),
            Tok("في", "ADP"),
            Tok("شركة", "NOUN"),
            Tok(org_name(m.org, CODE), "PROPN", "org", "ORG"),
            *(_place(m.city) if m.city else []),
            Tok(".", "PUNCT"),
        ]

    def question(self, m: Event, wh: str) -> list[Tok]:
        """``من اشترى كتابًا أحمر؟`` / ``أين رأت آنا بيتر؟`` / ``ماذا اشترت آنا؟`` / ``من الذي رأته آنا؟``"""
        agent = _person(m.agent, "agent")
        positive = Event(m.agent, m.action, m.patient)
        if wh == "agent":
            return [Tok("من", "PRON"), *_verb(positive, "m"), *_object(m), Tok("؟", "PUNCT")]
        if wh == "place":
            return [Tok("أين", "ADV"), *_verb(positive, PERSONS[m.agent]), agent, *_object(m), Tok("؟", "PUNCT")]
        if m.thing:
            return [Tok("ماذا", "PRON"), *_verb(positive, PERSONS[m.agent]), agent, Tok("؟", "PUNCT")]
        resumptive = VERBS[m.action][5 if PERSONS[m.agent] == "f" else 4]
        return [Tok("من", "PRON"), Tok("الذي", "PRON"), Tok(resumptive, "VERB"), agent, Tok("؟", "PUNCT")]


REALIZER = Arabic()

"""The one meaning representation behind every language: inventories, event/employment frames, split buckets."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from functools import cache

#: Person key -> grammatical gender (``f``/``m``); the names of each person live in ``lexicon``.
PERSONS: dict[str, str] = {
    "anna": "f",
    "peter": "m",
    "claire": "f",
    "louis": "m",
    "carmen": "f",
    "pablo": "m",
    "olga": "f",
    "ivan": "m",
    "fatima": "f",
    "ahmed": "m",
    "priya": "f",
    "rahul": "m",
    "ayse": "f",
    "mehmet": "m",
    "yuki": "f",
    "hiroshi": "m",
    "li_wei": "m",
    "wang_fang": "f",
    "amina": "f",
    "juma": "m",
    "lan": "f",
    "minh": "m",
}

#: Action key -> the kind of patient it takes (a ``person`` or a ``thing``).
ACTIONS: dict[str, str] = {
    "see": "person",
    "call": "person",
    "help": "person",
    "thank": "person",
    "buy": "thing",
    "sell": "thing",
    "find": "thing",
    "lose": "thing",
    "bring": "thing",
}

OBJECTS = ("book", "bicycle", "bag", "chair", "cup", "hat")
COLOURS = ("red", "blue", "green", "black", "white", "yellow")
SIZES = ("big", "small")
CITIES = (
    "paris",
    "berlin",
    "tokyo",
    "dubai",
    "moscow",
    "istanbul",
    "beijing",
    "nairobi",
    "mumbai",
    "hanoi",
    "new_york",
    "madrid",
)
ORGS = ("siemens", "toyota", "google", "air_france")
TIMES = ("yesterday", "monday", "friday")

#: The optional modifiers of an event: dropping one generalises a positive statement.
MODIFIERS = ("place", "time", "colour", "size")

#: Word orders a realizer knows; ``time_first``/``place_first`` front that adverbial.
ORDERS = ("canonical", "time_first", "place_first")

#: Share of the coarse meaning keys that fall in each split (by a seed-independent hash).
SPLIT_SHARES = (("train", 0.70), ("dev", 0.15), ("test", 0.15))


@dataclass(frozen=True)
class Thing:
    """A physical object: a noun with an optional colour and size (``a big red book``)."""

    noun: str
    colour: str | None = None
    size: str | None = None


@dataclass(frozen=True)
class Event:
    """One past event: ``agent action patient [place] [time]``, possibly negated.

    Args:
        agent: Person key (see ``PERSONS``).
        action: Action key (see ``ACTIONS``); decides whether ``patient`` is a person or a thing.
        patient: Person key for person actions, a ``Thing`` for thing actions.
        place: City key or ``None``.
        time: Time key (``TIMES``) or ``None``.
        negated: The sentence says the event did *not* happen.
    """

    agent: str
    action: str
    patient: str | Thing
    place: str | None = None
    time: str | None = None
    negated: bool = False

    def __post_init__(self) -> None:
        kind = ACTIONS[self.action]
        if (kind == "person") != isinstance(self.patient, str):
            raise ValueError(f"action {self.action!r} takes a {kind} patient, got {self.patient!r}")
        if kind == "person" and self.patient == self.agent:
            raise ValueError(f"agent and patient are both {self.agent!r}")

    @property
    def thing(self) -> Thing | None:
        """The patient if it is a thing, else ``None``."""
        return self.patient if isinstance(self.patient, Thing) else None

    def modifier(self, name: str) -> str | None:
        """The value of modifier ``name`` (one of ``MODIFIERS``), ``None`` if unspecified."""
        if name in ("colour", "size"):
            return getattr(self.thing, name) if self.thing else None
        return getattr(self, name)

    def specified(self) -> dict[str, str]:
        """The modifiers this event specifies, ``{name: value}``."""
        return {name: value for name in MODIFIERS if (value := self.modifier(name)) is not None}

    def applicable_modifiers(self) -> tuple[str, ...]:
        """Modifiers that can be set on this event (colour/size only for things)."""
        return MODIFIERS if self.thing else ("place", "time")

    def with_modifier(self, name: str, value: str | None) -> Event:
        """A copy with modifier ``name`` set to ``value`` (``None`` removes it)."""
        if name in ("colour", "size"):
            if self.thing is None:
                raise ValueError(f"a person patient has no {name}")
            return replace(self, patient=replace(self.thing, **{name: value}))
        return replace(self, **{name: value})

    def swapped(self) -> Event:
        """The event with agent and patient exchanged (person actions only)."""
        if self.thing is not None:
            raise ValueError("only an event between two persons can swap roles")
        return replace(self, agent=self.patient, patient=self.agent)

    def core(self) -> tuple[str, str, str | Thing]:
        """``(agent, action, patient identity)``: what a hypothesis must share to be about the same event."""
        return self.agent, self.action, self.thing.noun if self.thing else self.patient

    def orders(self) -> tuple[str, ...]:
        """Word orders this event can be realized in (fronting needs the fronted adverbial)."""
        return ("canonical",) + (("time_first",) if self.time else ()) + (("place_first",) if self.place else ())


@dataclass(frozen=True)
class Employment:
    """A state: ``person works for org [in city]`` (present tense, never negated)."""

    person: str
    org: str
    city: str | None = None


Meaning = Event | Employment


def coarse_key(meaning: Meaning) -> str:
    """The key shared by a meaning and every variant the generators derive from it.

    Role swaps and modifier changes keep it (``see:anna+peter``), so assigning splits by
    this key keeps every sentence of a pair, and every near-duplicate, inside one split.
    """
    if isinstance(meaning, Employment):
        return f"works:{meaning.person}:{meaning.org}"
    if meaning.thing is not None:
        return f"{meaning.action}:{meaning.agent}:{meaning.thing.noun}"
    return f"{meaning.action}:{'+'.join(sorted((meaning.agent, meaning.patient)))}"


def split_of(key: str) -> str:
    """The split a coarse key belongs to: a fixed hash bucket, the same for every seed."""
    bucket = int.from_bytes(hashlib.sha256(f"tmpl-split:{key}".encode()).digest()[:8], "big") / 2**64
    total = 0.0
    for split, share in SPLIT_SHARES:
        total += share
        if bucket < total:
            return split
    return SPLIT_SHARES[-1][0]


@cache
def _event_keys(split: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """Sorted ``(action, person, person-or-noun)`` triples of ``kind`` whose key falls in ``split``."""
    people = sorted(PERSONS)
    out = []
    for action in sorted(a for a, k in ACTIONS.items() if k == kind):
        if kind == "person":
            pairs = [(a, b) for i, a in enumerate(people) for b in people[i + 1 :]]
            out += [(action, a, b) for a, b in pairs if split_of(f"{action}:{a}+{b}") == split]
        else:
            out += [(action, p, n) for p in people for n in OBJECTS if split_of(f"{action}:{p}:{n}") == split]
    return tuple(out)


@cache
def _employment_keys(split: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, o) for p in sorted(PERSONS) for o in ORGS if split_of(f"works:{p}:{o}") == split)


@dataclass(frozen=True)
class SlotRates:
    """How often the sampler fills each optional slot.

    Args:
        place: Probability that an event has a city.
        time: Probability that an event has a time.
        colour: Probability that a thing has a colour.
        size: Probability that a thing has a size.
        negated: Probability that an event is negated.
    """

    place: float = 0.7
    time: float = 0.6
    colour: float = 0.7
    size: float = 0.4
    negated: float = 0.0


class MeaningSampler:
    """Draws meanings of one split from a seeded ``random.Random`` (only keys of that split)."""

    def __init__(self, rng: random.Random, split: str) -> None:
        self.rng = rng
        self.split = split

    def event(self, kind: str | None = None, rates: SlotRates = SlotRates()) -> Event:
        """A random event of ``kind`` (``person``/``thing``; either when ``None``) with slots filled at ``rates``."""
        rng = self.rng
        kind = kind or rng.choice(("person", "thing"))
        action, first, second = rng.choice(_event_keys(self.split, kind))
        if kind == "person":
            agent, patient = (first, second) if rng.random() < 0.5 else (second, first)
        else:
            colour = rng.choice(COLOURS) if rng.random() < rates.colour else None
            size = rng.choice(SIZES) if rng.random() < rates.size else None
            agent, patient = first, Thing(second, colour, size)
        place = rng.choice(CITIES) if rng.random() < rates.place else None
        time = rng.choice(TIMES) if rng.random() < rates.time else None
        return Event(agent, action, patient, place, time, rng.random() < rates.negated)

    def employment(self, city_rate: float = 0.6) -> Employment:
        """A random employment fact, with a city at ``city_rate``."""
        person, org = self.rng.choice(_employment_keys(self.split))
        return Employment(person, org, self.rng.choice(CITIES) if self.rng.random() < city_rate else None)

    def other_value(self, name: str, current: str | None) -> str:
        """A value of modifier ``name`` different from ``current``."""
        pool = {"place": CITIES, "time": TIMES, "colour": COLOURS, "size": SIZES}[name]
        return self.rng.choice([v for v in pool if v != current])

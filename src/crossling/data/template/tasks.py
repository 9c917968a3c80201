"""The seven template tasks: language-independent items (meanings + choices) and their records per language."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from crossling.data.records import (
    Answer,
    ImageTextExample,
    PairExample,
    ParallelExample,
    QAExample,
    Record,
    TaggingExample,
)
from crossling.data.template.logic import NLI_LABELS, nli_label
from crossling.data.template.meaning import Event, Meaning, MeaningSampler, SlotRates
from crossling.data.template.realize import realize, realize_question
from crossling.data.template.scene import scene_features
from crossling.data.template.surface import UNSPACED

#: Bump when any change alters generated text or labels (it enters every fingerprint).
GENERATOR_VERSION = "1"

#: Task -> default (train, dev, test) sizes.
DEFAULT_SIZES: dict[str, tuple[int, int, int]] = {
    "nli": (2000, 500, 500),
    "paws": (2000, 500, 500),
    "ner": (1000, 300, 300),
    "pos": (1000, 300, 300),
    "qa": (1000, 250, 250),
    "retrieval": (1000, 500, 500),
    "image": (1000, 500, 500),
}
TASKS = tuple(DEFAULT_SIZES)
DEFAULT_SEED = 13
DEFAULT_FEATURE_DIM = 64
DEFAULT_NOISE = 0.1

_NLI_RATES = SlotRates(negated=0.5)
_TAGGING_RATES = SlotRates(negated=0.2)
_QA_RATES = SlotRates(place=1.0, time=0.5)


@dataclass(frozen=True)
class PairItem:
    """A sentence pair before realization: two meanings, their word orders, the label and how it was made."""

    a: Event
    b: Event
    order_a: str
    order_b: str
    label: str
    op: str


@dataclass(frozen=True)
class SentenceItem:
    """One sentence before realization (NER, POS, retrieval, image)."""

    meaning: Meaning
    order: str


@dataclass(frozen=True)
class QAItem:
    """A QA context before realization: facts with their word orders, the asked fact and slot."""

    facts: tuple[Meaning, ...]
    orders: tuple[str, ...]
    target: int
    wh: str


def rng_for(seed: int, task: str, split: str) -> random.Random:
    """The seeded generator of one (task, split): independent of language, so test sets are parallel."""
    digest = hashlib.sha256(f"tmpl:{seed}:{task}:{split}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _drop_some(event: Event, rng: random.Random, names: list[str], at_least: int = 1) -> Event:
    """``event`` without a random subset (size >= ``at_least``) of the modifiers ``names``."""
    count = rng.randint(at_least, len(names)) if names else 0
    for name in rng.sample(names, count):
        event = event.with_modifier(name, None)
    return event


def _missing(event: Event) -> list[str]:
    return [name for name in event.applicable_modifiers() if event.modifier(name) is None]


#: Label -> the operations that build a hypothesis with that label from a premise (used in turn).
NLI_OPS: dict[str, tuple[str, ...]] = {
    "entailment": ("drop", "reorder", "negated_add"),
    "neutral": ("add", "negated_drop", "negated_unsure", "negated_specific"),
    "contradiction": ("swap", "change", "negate"),
}


def _applicable(p: Event, op: str) -> bool:
    """Whether operation ``op`` can build a hypothesis from premise ``p``."""
    spec = p.specified()
    return {
        "drop": not p.negated and bool(spec),
        "reorder": len(p.orders()) > 1,
        "negated_add": p.negated and bool({"place", "time"} - set(spec)),
        "add": not p.negated and bool(_missing(p)),
        "negated_drop": p.negated and bool(spec),
        "negated_unsure": p.negated and bool(spec),
        "negated_specific": not p.negated and bool(_missing(p)),
        "swap": not p.negated and p.thing is None,
        "change": not p.negated and bool(spec),
        "negate": True,
    }[op]


def _add_one(event: Event, sampler: MeaningSampler, names: list[str]) -> Event:
    """``event`` with one of the modifiers ``names`` (unset in it) given a random value."""
    name = sampler.rng.choice(names)
    return event.with_modifier(name, sampler.other_value(name, None))


def _nli_hypothesis(p: Event, op: str, sampler: MeaningSampler) -> Event:
    """Apply operation ``op`` to premise ``p``.

    ``drop``: fewer modifiers (entailment); ``reorder``: same meaning, other word order
    (entailment); ``negated_add``: a negated premise, the hypothesis negates a more specific
    event (entailment); ``add``: a modifier the premise leaves open, sometimes with another
    dropped (neutral); ``negated_drop``: negated, fewer modifiers (neutral);
    ``negated_unsure``: a negated premise, the hypothesis asserts an event without one of
    its modifiers (neutral); ``negated_specific``: a positive premise, the hypothesis negates
    the event with a modifier the premise leaves open (neutral); ``swap``: agent and patient exchanged (contradiction); ``change``: one
    modifier given another value (contradiction); ``negate``: polarity flipped, the
    negated side no more specific than the positive one (contradiction).
    """
    rng, spec = sampler.rng, list(p.specified())
    if op == "reorder":
        return p
    if op in ("drop", "negated_drop"):
        return _drop_some(p, rng, spec)
    if op == "negated_unsure":
        h = replace(_drop_some(p, rng, spec), negated=False)
        return _add_one(h, sampler, _missing(p)) if _missing(p) and rng.random() < 0.5 else h
    if op == "negated_specific":
        h = _add_one(replace(p, negated=True), sampler, _missing(p))
        return _drop_some(h, rng, spec, at_least=0) if rng.random() < 0.4 else h
    if op == "negated_add":
        name = rng.choice(sorted({"place", "time"} - set(spec)))
        return p.with_modifier(name, sampler.other_value(name, None))
    if op == "add":
        h = _add_one(p, sampler, _missing(p))
        return _drop_some(h, rng, spec, at_least=0) if rng.random() < 0.4 else h
    if op == "swap":
        return _drop_some(p.swapped(), rng, spec, at_least=0) if rng.random() < 0.3 else p.swapped()
    if op == "change":
        name = rng.choice(spec)
        h = p.with_modifier(name, sampler.other_value(name, p.modifier(name)))
        rest = [n for n in spec if n != name]
        return _drop_some(h, rng, rest, at_least=0) if rng.random() < 0.4 else h
    if p.negated:
        h = replace(p, negated=False)
        missing = [n for n in ("place", "time") if p.modifier(n) is None]
        if missing and rng.random() < 0.5:
            name = rng.choice(missing)
            h = h.with_modifier(name, sampler.other_value(name, None))
        return h
    return replace(_drop_some(p, rng, spec, at_least=0), negated=True)


def _pair_orders(a: Event, b: Event, rng: random.Random, differ: bool) -> tuple[str, str]:
    order_a = rng.choice(a.orders())
    choices = [o for o in b.orders() if o != order_a] if differ else list(b.orders())
    return order_a, rng.choice(choices)


@lru_cache(maxsize=64)
def nli_items(split: str, size: int, seed: int) -> tuple[PairItem, ...]:
    """``size`` NLI pairs, a third of each label and each label's operations in turn, checked by ``logic.nli_label``."""
    rng = rng_for(seed, "nli", split)
    sampler = MeaningSampler(rng, split)
    items = []
    for index in range(size):
        label = NLI_LABELS[index % 3]
        op = NLI_OPS[label][(index // 3) % len(NLI_OPS[label])]
        while not _applicable(p := sampler.event(rates=_NLI_RATES), op):
            pass
        h = _nli_hypothesis(p, op, sampler)
        gold = nli_label(p, h)
        if gold != label:
            raise AssertionError(f"NLI op {op} gave {gold}, not {label}: {p} / {h}")
        items.append(PairItem(p, h, *_pair_orders(p, h, rng, differ=op == "reorder"), label, op))
    rng.shuffle(items)
    return tuple(items)


@lru_cache(maxsize=64)
def paws_items(split: str, size: int, seed: int) -> tuple[PairItem, ...]:
    """``size`` paraphrase pairs of person events: half reorderings ("1"), half role swaps ("0")."""
    rng = rng_for(seed, "paws", split)
    sampler = MeaningSampler(rng, split)
    items = []
    for index in range(size):
        while len((a := sampler.event("person", _TAGGING_RATES)).orders()) < 2:
            pass
        if index % 2:
            items.append(PairItem(a, a, *_pair_orders(a, a, rng, differ=True), "1", "reorder"))
        else:
            b = a.swapped()
            items.append(PairItem(a, b, *_pair_orders(a, b, rng, differ=rng.random() < 0.5), "0", "swap"))
    rng.shuffle(items)
    return tuple(items)


@lru_cache(maxsize=64)
def sentence_items(task: str, split: str, size: int, seed: int) -> tuple[SentenceItem, ...]:
    """``size`` single sentences: events (and, for tagging/retrieval, a quarter employment facts)."""
    rng = rng_for(seed, task, split)
    sampler = MeaningSampler(rng, split)
    items = []
    for _ in range(size):
        if task != "image" and rng.random() < 0.25:
            items.append(SentenceItem(sampler.employment(), "canonical"))
        else:
            event = sampler.event(rates=_TAGGING_RATES)
            items.append(SentenceItem(event, rng.choice(event.orders())))
    return tuple(items)


@lru_cache(maxsize=64)
def qa_items(split: str, size: int, seed: int) -> tuple[QAItem, ...]:
    """``size`` contexts of 3-5 facts with distinct persons and actions, one fact asked about."""
    rng = rng_for(seed, "qa", split)
    sampler = MeaningSampler(rng, split)
    items = []
    for _ in range(size):
        facts: list[Meaning] = []
        people: set[str] = set()
        actions: set[str] = set()
        want = rng.randint(3, 5)
        while len(facts) < want:
            event = sampler.event(rates=_QA_RATES)
            involved = {event.agent} | ({event.patient} if event.thing is None else set())
            if event.action not in actions and not involved & people:
                facts.append(event)
                people |= involved
                actions.add(event.action)
        asked = rng.choice(facts)
        if rng.random() < 0.5:
            while (job := sampler.employment()).person in people:
                pass
            facts.insert(rng.randint(0, len(facts)), job)
        target = facts.index(asked)
        orders = tuple(rng.choice(f.orders()) if isinstance(f, Event) else "canonical" for f in facts)
        items.append(QAItem(tuple(facts), orders, target, rng.choice(("agent", "place", "patient"))))
    return tuple(items)


def _pair_records(items: tuple[PairItem, ...], language: str, split: str) -> list[Record]:
    return [
        PairExample(
            f"{language}-{split}-{i}",
            realize(it.a, language, it.order_a).text,
            realize(it.b, language, it.order_b).text,
            it.label,
        )
        for i, it in enumerate(items)
    ]


def qa_record(item: QAItem, language: str, qid: str) -> QAExample:
    """The SQuAD-form example of ``item`` in ``language``: facts joined, answer span located by token offsets."""
    joiner = "" if language in UNSPACED else " "
    context, start = "", 0
    for index, (fact, order) in enumerate(zip(item.facts, item.orders, strict=True)):
        sentence = realize(fact, language, order)
        if index == item.target:
            begin, end = sentence.span(item.wh)
            start = len(context) + begin
            answer = sentence.text[begin:end]
        context += sentence.text + (joiner if index < len(item.facts) - 1 else "")
    question = realize_question(item.facts[item.target], item.wh, language).text
    return QAExample(qid, context, question, (Answer(answer, start),))


def build_records(task: str, language: str, split: str, size: int, seed: int, image: tuple[int, float]) -> list[Record]:
    """The records of ``task`` for ``language``/``split``; ``image`` is ``(feature_dim, noise)``."""
    if task == "nli":
        return _pair_records(nli_items(split, size, seed), language, split)
    if task == "paws":
        return _pair_records(paws_items(split, size, seed), language, split)
    if task == "qa":
        return [
            qa_record(item, language, f"{language}-{split}-{i}") for i, item in enumerate(qa_items(split, size, seed))
        ]
    builder = _SENTENCE_BUILDERS[task]
    items = sentence_items(task, split, size, seed)
    return [
        builder(item, language, f"{language}-{split}-{i}", (seed, split, i, *image)) for i, item in enumerate(items)
    ]


def _tagging(field: str) -> Callable[..., Record]:
    def build(item: SentenceItem, language: str, rid: str, _extra: tuple) -> Record:
        """The tagging example of ``item``: its words and their ``field`` tags."""
        sentence = realize(item.meaning, language, item.order)
        return TaggingExample(rid, sentence.words, getattr(sentence, field))

    return build


def _parallel(item: SentenceItem, language: str, rid: str, _extra: tuple) -> Record:
    if language == "en" and isinstance(item.meaning, Event) and len(item.meaning.orders()) > 1:
        source = realize(item.meaning, language, item.meaning.orders()[-1]).text
    else:
        source = realize(item.meaning, language, item.order).text
    return ParallelExample(rid, source, realize(item.meaning, "en").text)


def _image(item: SentenceItem, language: str, rid: str, extra: tuple) -> Record:
    seed, split, index, dim, noise = extra
    noise_seed = int.from_bytes(hashlib.sha256(f"{seed}:{split}:{index}".encode()).digest()[:8], "big")
    features = scene_features(item.meaning, dim, noise, noise_seed)
    return ImageTextExample(rid, realize(item.meaning, language, item.order).text, features, image_id=rid)


_SENTENCE_BUILDERS: dict[str, Callable[..., Record]] = {
    "ner": _tagging("ner_tags"),
    "pos": _tagging("upos"),
    "retrieval": _parallel,
    "image": _image,
}

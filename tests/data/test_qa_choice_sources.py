"""QA and multiple-choice sources: local layouts (SQuAD train for XQuAD/MLQA, MLQA pairs, TyDiQA, XCOPA + COPA) and the hub."""

from __future__ import annotations

import json
import shutil

import datasets
import pytest

from crossling.data.sources import SourceOptions
from crossling.errors import DataError
from crossling.tasks import get_task

SQUAD_ROW = {
    "id": "s1",
    "title": "t",
    "context": "The sun is hot.",
    "question": "What is hot?",
    "answers": {"text": ["The sun"], "answer_start": [0]},
}


def _squad_file(path, qid="s1"):
    path.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "title": "t",
                        "paragraphs": [
                            {
                                "context": "The sun is hot.",
                                "qas": [
                                    {
                                        "id": qid,
                                        "question": "What is hot?",
                                        "answers": [{"text": "The sun", "answer_start": 0}],
                                    }
                                ],
                            }
                        ],
                    }
                ]
            }
        )
    )
    return path


def test_xquad_tests_every_language_and_trains_on_squad_from_squad_dir(shared_data, tmp_path):
    squad_dir = tmp_path / "squad"
    squad_dir.mkdir()
    _squad_file(squad_dir / "train-v1.1.json")
    source = get_task("xquad").build_source(
        "local", SourceOptions(data_dir=shared_data / "xquad", params={"squad_dir": str(squad_dir)})
    )
    test = source.load("th", "test")
    assert len(test) == 1190 and test[0].id == "56beb4343aeaaa14008c925b"
    assert [r.id for r in source.load("en", "train")] == ["s1"]
    with pytest.raises(DataError, match="SQuAD v1.1 train, which exists only in en"):
        source.load("de", "train")
    with pytest.raises(DataError, match="dev-v1.1.json"):
        source.load("en", "dev")


def test_mlqa_codes_name_same_language_and_cross_language_files(shared_data, tmp_path):
    (tmp_path / "dev").mkdir()
    shutil.copy(
        shared_data / "mlqa" / "dev-context-de-question-de.json", tmp_path / "dev" / "dev-context-de-question-en.json"
    )
    shutil.copy(shared_data / "mlqa" / "dev-context-de-question-de.json", tmp_path / "dev-context-de-question-de.json")
    source = get_task("mlqa").build_source("local", SourceOptions(data_dir=tmp_path, max_examples=5))
    assert len(source.load("de", "dev")) == 5
    assert len(source.load("de-en", "dev")) == 5
    assert source.fingerprint("de", "dev") == source.fingerprint("de-en", "dev")  # same bytes
    with pytest.raises(DataError, match="dev-context-zh-question-zh.json"):
        source.load("zh", "dev")


def test_tydiqa_reads_xtremes_goldp_layout(tmp_path):
    (tmp_path / "tydiqa-goldp-v1.1-dev").mkdir()
    _squad_file(tmp_path / "tydiqa-goldp-v1.1-dev" / "tydiqa.goldp.sw.dev.json", "swahili-1")
    source = get_task("tydiqa").build_source("local", SourceOptions(data_dir=tmp_path))
    assert [r.id for r in source.load("sw", "test")] == ["swahili-1"]


def test_xcopa_trains_on_english_copa_and_tests_xcopa_languages(shared_data):
    source = get_task("xcopa").build_source("local", SourceOptions(data_dir=shared_data / "xcopa"))
    train, dev, test = source.load("en", "train"), source.load("en", "dev"), source.load("qu", "test")
    assert (len(train), len(dev), len(test)) == (400, 100, 500)
    assert all(example.id.startswith("qu-test-") for example in test)
    with pytest.raises(DataError, match="test"):
        source.load("en", "test")


class _FakeHub:
    """Stands in for ``datasets.load_dataset``: records each call, returns rows per (dataset, config, split)."""

    def __init__(self, tables):
        self.tables = tables
        self.calls = []

    def __call__(self, dataset, config=None, *, split, revision=None):
        self.calls.append((dataset, config, split))
        return datasets.Dataset.from_list(self.tables[(dataset, config, split)])


def test_hub_qa_sources_route_splits_configs_and_tydiqa_languages(monkeypatch):
    tydi = [dict(SQUAD_ROW, id="swahili-7"), dict(SQUAD_ROW, id="english-3")]
    hub = _FakeHub(
        {
            ("rajpurkar/squad", None, "train"): [SQUAD_ROW],
            ("google/xquad", "xquad.de", "validation"): [dict(SQUAD_ROW, id="x1")],
            ("facebook/mlqa", "mlqa.de.en", "test"): [dict(SQUAD_ROW, id="m1")],
            ("google-research-datasets/tydiqa", "secondary_task", "validation"): tydi,
        }
    )
    monkeypatch.setattr(datasets, "load_dataset", hub)
    options = SourceOptions()
    assert [r.id for r in get_task("xquad").build_source("hub", options).load("en", "train")] == ["s1"]
    assert [r.id for r in get_task("xquad").build_source("hub", options).load("de", "test")] == ["x1"]
    assert [r.id for r in get_task("mlqa").build_source("hub", options).load("de-en", "test")] == ["m1"]
    assert [r.id for r in get_task("tydiqa").build_source("hub", options).load("sw", "test")] == ["swahili-7"]
    answers = get_task("tydiqa").build_source("hub", options).load("en", "test")[0].answers
    assert answers[0].text == "The sun" and answers[0].start == 0
    assert ("facebook/mlqa", "mlqa.de.en", "test") in hub.calls
    bad = _FakeHub(
        {("google/xquad", "xquad.de", "validation"): [dict(SQUAD_ROW, answers={"text": ["sun"], "answer_start": [0]})]}
    )
    monkeypatch.setattr(datasets, "load_dataset", bad)
    with pytest.raises(DataError, match="does not point at the answer"):
        get_task("xquad").build_source("hub", options).load("de", "test")


def test_hub_choice_sources_use_copa_for_english_and_count_siqa_labels_from_one(monkeypatch):
    copa = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 1, "idx": 0}
    siqa = {"context": "c", "question": "q?", "answerA": "x", "answerB": "y", "answerC": "z", "label": "3"}
    hub = _FakeHub(
        {
            ("aps/super_glue", "copa", "validation"): [copa],
            ("cambridgeltl/xcopa", "et", "validation"): [copa, dict(copa, label=-1)],
            ("allenai/social_i_qa", None, "train"): [siqa],
        }
    )
    monkeypatch.setattr(datasets, "load_dataset", hub)
    xcopa = get_task("xcopa").build_source("hub", SourceOptions())
    assert xcopa.load("en", "dev")[0].label == 1
    assert len(xcopa.load("et", "dev")) == 1  # the unlabelled row is dropped
    example = get_task("siqa").build_source("hub", SourceOptions()).load("en", "train")[0]
    assert example.choices == ("x", "y", "z") and example.label == 2 and example.premise == "c"
    with pytest.raises(DataError, match="only in en"):
        xcopa.load("et", "train")

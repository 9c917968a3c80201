"""Splits carved out of one split: train, dev and test are consecutive, disjoint parts in every language."""

from __future__ import annotations

import pytest

from crossling.config import build_config
from crossling.errors import ConfigError, DataError
from crossling.tasks.loading import TaskData


def _pawsx(shared_data, train_languages=("en",), **carve) -> TaskData:
    task = {"name": "pawsx", "source": "local", "data_dir": str(shared_data / "pawsx"), "carve": carve}
    task["train_languages"] = list(train_languages)
    return TaskData.from_config(build_config({"task": task}).task)


def test_a_dev_file_is_carved_into_consecutive_train_dev_and_test_parts(shared_data):
    data = _pawsx(shared_data, **{"from": "dev", "train": 600, "dev": 100})
    whole = data.source.inner.load("de", "dev")
    train, dev, test = (data.records("de", split) for split in ("train", "dev", "test"))
    assert (len(whole), len(train), len(dev), len(test)) == (2000, 600, 100, 1300)
    assert [r.id for r in train + dev + test] == [r.id for r in whole]
    # The files are translations line by line: English line i and German line i are one example.
    english_test = data.records("en", "test")
    assert sum(a.label == b.label for a, b in zip(english_test, test, strict=True)) >= 0.98 * len(test)
    fingerprints = {data.source.fingerprint("de", split) for split in ("train", "dev", "test")}
    assert len(fingerprints) == 3 and all(":carved[" in f for f in fingerprints)


def test_a_part_left_empty_is_a_data_error_naming_the_carve(shared_data):
    data = _pawsx(shared_data, **{"from": "dev", "train": 1900, "dev": 100})
    with pytest.raises(DataError, match=r"task.carve: the de dev data has 2000 examples, too few for its test part"):
        data.records("de", "test")


@pytest.mark.parametrize(
    "carve",
    [
        {"from": "train", "train": 1, "dev": 1},
        {"from": "dev", "train": 0, "dev": 1},
        {"from": "dev", "train": 5},
        {"from": "dev", "train": 5, "dev": 1, "disjoint": "yes"},
    ],
)
def test_a_bad_carve_is_a_config_error(carve):
    with pytest.raises(ConfigError, match="task.carve: expected"):
        build_config({"task": {"name": "pawsx", "carve": carve}})


def test_disjoint_gives_each_training_language_its_own_block_and_dev_test_follow_all_blocks(shared_data):
    carve = {"from": "dev", "train": 300, "dev": 100, "disjoint": True}
    data = _pawsx(shared_data, train_languages=("en", "de", "fr"), **carve)
    whole = {lang: data.source.inner.load(lang, "dev") for lang in ("en", "de", "fr", "ja")}
    for block, lang in enumerate(("en", "de", "fr")):
        assert [r.id for r in data.records(lang, "train")] == [
            r.id for r in whole[lang][block * 300 : (block + 1) * 300]
        ]
    # Line i of every file is one example: the three train parts hold 900 different examples.
    train_lines = [data.records(lang, "train") for lang in ("en", "de", "fr")]
    assert [len(part) for part in train_lines] == [300, 300, 300]
    assert [r.id for r in data.records("ja", "dev")] == [r.id for r in whole["ja"][900:1000]]
    assert [r.id for r in data.records("ja", "test")] == [r.id for r in whole["ja"][1000:]]
    with pytest.raises(DataError, match="disjoint: ja is not one of the training languages en, de, fr"):
        data.records("ja", "train")


def test_disjoint_blocks_that_do_not_fit_are_a_data_error(shared_data):
    carve = {"from": "dev", "train": 700, "dev": 100, "disjoint": True}
    data = _pawsx(shared_data, train_languages=("en", "de", "fr"), **carve)
    with pytest.raises(DataError, match=r"too few for its train part \[1400:2100\]"):
        data.records("fr", "train")


def test_without_disjoint_the_carve_keeps_its_old_fingerprint(shared_data):
    data = _pawsx(shared_data, train_languages=("en", "de"), **{"from": "dev", "train": 600, "dev": 100})
    assert data.source.fingerprint("de", "train").endswith(":carved[0:600]")
    assert data.source.fingerprint("de", "test").endswith(":carved[700:None]")

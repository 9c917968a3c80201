"""Splits carved out of one split: train, dev and test are consecutive, disjoint parts in every language."""

from __future__ import annotations

import pytest

from crossling.config import build_config
from crossling.errors import ConfigError, DataError
from crossling.tasks.loading import TaskData


def _pawsx(shared_data, **carve) -> TaskData:
    task = {"name": "pawsx", "source": "local", "data_dir": str(shared_data / "pawsx"), "carve": carve}
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
    with pytest.raises(DataError, match=r"task.carve: the de dev data has 2000 examples, none left for its test"):
        data.records("de", "test")


@pytest.mark.parametrize(
    "carve",
    [{"from": "train", "train": 1, "dev": 1}, {"from": "dev", "train": 0, "dev": 1}, {"from": "dev", "train": 5}],
)
def test_a_bad_carve_is_a_config_error(carve):
    with pytest.raises(ConfigError, match="task.carve: expected"):
        build_config({"task": {"name": "pawsx", "carve": carve}})

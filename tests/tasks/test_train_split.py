"""Training data from another split or file where a task's train files are not at hand (../shared/data has dev files)."""

from __future__ import annotations

import pytest

from crossling.config import build_config
from crossling.errors import ConfigError, DataError
from crossling.tasks.loading import TaskData


def test_train_split_dev_reads_the_dev_file_as_training_data(shared_data):
    config = build_config(
        {
            "task": {
                "name": "xnli",
                "source": "local",
                "data_dir": str(shared_data / "xnli"),
                "train_split": "dev",
                "dev_split": "none",
                "eval_split": "test",
                "max_train_examples": 30,
            }
        }
    )
    data = TaskData.from_config(config.task)
    train = data.records("en", "train")
    assert len(train) == 30 and data.num_train_examples == 30
    assert [r.id for r in train] == [r.id for r in data.source.load("en", "dev")[:30]]


@pytest.mark.parametrize(
    ("keys", "named"),
    [({"train_split": "dev"}, "task.dev_split"), ({"train_split": "test", "dev_split": "none"}, "task.eval_split")],
)
def test_the_training_split_cannot_also_select_or_be_scored(keys, named):
    with pytest.raises(ConfigError, match=rf"{named}: .* is read as the training data"):
        build_config({"task": {"name": "xnli", **keys}})


def test_squad_train_file_stands_in_for_squads_train_file(shared_data):
    task = {"name": "mlqa", "source": "local", "data_dir": str(shared_data / "mlqa"), "eval_split": "dev"}
    data = TaskData.from_config(
        build_config({"task": {**task, "params": {"squad_train_file": "../xquad/xquad.en.json"}}}).task
    )
    assert len(data.records("en", "train")) == 1190  # XQuAD's English questions
    assert len(data.records("de", "dev")) > 0
    missing = TaskData.from_config(build_config({"task": {**task, "params": {"squad_train_file": "nope.json"}}}).task)
    with pytest.raises(DataError, match=r"task\.params\.squad_train_file: file not found: .*nope\.json"):
        missing.records("en", "train")

"""SQuAD's train split from a stand-in file where SQuAD's own is not at hand (``task.params.squad_train_file``)."""

from __future__ import annotations

import pytest

from crossling.config import build_config
from crossling.errors import DataError
from crossling.tasks.loading import TaskData


def test_squad_train_file_stands_in_for_squads_train_file(shared_data):
    task = {"name": "mlqa", "source": "local", "data_dir": str(shared_data / "mlqa"), "eval_split": "dev"}
    config = build_config({"task": {**task, "params": {"squad_train_file": "../xquad/xquad.en.json"}}})
    data = TaskData.from_config(config.task)
    assert len(data.records("en", "train")) == 1190  # XQuAD's English questions
    assert len(data.records("de", "dev")) > 0
    missing = TaskData.from_config(build_config({"task": {**task, "params": {"squad_train_file": "nope.json"}}}).task)
    with pytest.raises(DataError, match=r"task\.params\.squad_train_file: file not found: .*nope\.json"):
        missing.records("en", "train")

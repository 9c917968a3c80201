"""The checks before training, called directly: sequence lengths against the encoder's position table."""

from __future__ import annotations

import pytest
from tiny import make_tiny_model_dir

from crossling.config import build_config
from crossling.errors import ConfigError
from crossling.pipelines.preflight import check_model_limits
from crossling.tasks.loading import TaskData


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_model_dir(tmp_path_factory.mktemp("preflight") / "model", ["red cat", "blue dog"] * 10)


def _tasks(config):
    return [TaskData.from_config(s.task) for s in config.intermediate] + [TaskData.from_config(config.task)]


def test_retrieval_max_length_beyond_the_position_table_is_refused(tiny_model):
    config = build_config(
        {
            "model": {"name_or_path": str(tiny_model)},
            "task": {"name": "tmpl-retrieval"},
            "retrieval": {"max_length": 256},
        }
    )
    with pytest.raises(
        ConfigError, match=r"retrieval.max_length: 256 exceeds the model's max_position_embeddings \(128\)"
    ):
        check_model_limits(config, _tasks(config), fine_tunes_target=False)
    fits = build_config(
        {
            "model": {"name_or_path": str(tiny_model)},
            "task": {"name": "tmpl-retrieval"},
            "retrieval": {"max_length": 128},
        }
    )
    check_model_limits(fits, _tasks(fits), fine_tunes_target=False)


def test_an_intermediate_tasks_default_max_length_is_checked_and_named(tiny_model):
    config = build_config(
        {
            "model": {"name_or_path": str(tiny_model)},
            "task": {"name": "tmpl-nli", "max_length": 64},
            "intermediate": [{"task": {"name": "squad", "source": "hub"}}],
        }
    )
    tasks = _tasks(config)
    assert tasks[0].max_length > 128, "the test needs a task whose default exceeds the tiny model's positions"
    with pytest.raises(ConfigError, match=r"intermediate\[0\].task.max_length: \d+ \(the default of squad\) exceeds"):
        check_model_limits(config, tasks)

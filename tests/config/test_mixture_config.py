"""Mixture stages and the diversity axis in the config: valid forms load, contradictions are one-line errors naming the key."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.config import build_config
from crossling.config.loader import describe_fields
from crossling.errors import ConfigError

MEMBERS = [{"task": {"name": "tmpl-nli"}}, {"task": {"name": "tmpl-pos"}}]


def _stage(**keys):
    return {"intermediate": [{"mixture": MEMBERS, "max_steps": 20, **keys}]}


def test_a_mixture_stage_loads_with_its_sampling_settings():
    config = build_config(_stage(sampling="temperature", temperature=2.0, dev_evaluations=2))
    stage = config.intermediate[0]
    assert stage.is_mixture and [m.task.name for m in stage.mixture] == ["tmpl-nli", "tmpl-pos"]
    assert (stage.sampling, stage.temperature, stage.max_steps, stage.dev_evaluations) == ("temperature", 2.0, 20, 2)


@pytest.mark.parametrize(
    ("data", "key", "what"),
    [
        ({"intermediate": [{"mixture": MEMBERS}]}, "intermediate[0].max_steps", "budget"),
        (_stage(temperature=2.0), "intermediate[0].temperature", "only used with sampling: temperature"),
        (_stage(sampling="temperature", temperature=0), "intermediate[0].temperature", "> 0"),
        (_stage(sampling="temprature"), "intermediate[0].sampling", "did you mean 'temperature'"),
        (_stage(task={"name": "xnli"}), "intermediate[0].task", "names its tasks in intermediate[0].mixture"),
        (_stage(training={"epochs": 2}), "intermediate[0].training.epochs", "trains for intermediate[0].max_steps"),
        (_stage(dev_evaluations=21), "intermediate[0].dev_evaluations", "[1, max_steps=20]"),
        ({"intermediate": [{"task": {"name": "xnli"}, "max_steps": 5}]}, "intermediate[0].max_steps", "mixture"),
        (
            _stage(mixture=[{"task": {"name": "tmpl-nli", "dev_split": "none"}}, {"task": {"name": "tmpl-pos"}}]),
            "intermediate[0].mixture[0].task.dev_split",
            "all members",
        ),
        ({"intermediate": [{"mixture": [{"tsk": {}}], "max_steps": 3}]}, "intermediate[0].mixture[0].tsk", "task"),
        ({"diversity": {"pool": [{"name": "xnli"}, {"name": "pawsx"}], "k": [1, 3]}}, "diversity.k", "[1, 2]"),
        ({"diversity": {"pool": [{"name": "xnli"}], "k": [1]}}, "diversity.max_steps", "budget"),
    ],
)
def test_bad_mixture_configs_are_one_line_errors_naming_the_key(data, key, what):
    with pytest.raises(ConfigError) as error:
        build_config(data)
    message = str(error.value)
    assert key in message and what in message and "\n" not in message


def test_a_bad_mixture_stops_the_cli_with_exit_code_2_and_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("intermediate:\n  - mixture: [{task: {name: tmpl-nli}}, {task: {name: tmpl-pos}}]\n")
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "intermediate[0].max_steps" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_a_retrieval_task_cannot_be_a_mixture_member():
    from crossling.tasks.stages import check_stages

    config = build_config(
        {"intermediate": [{"mixture": [{"task": {"name": "tmpl-retrieval"}}, *MEMBERS], "max_steps": 5}]}
    )
    with pytest.raises(ConfigError, match=r"intermediate\[0\]\.mixture\[0\]\.task\.name: tmpl-retrieval"):
        check_stages(config)


def test_every_new_key_is_listed_by_crossling_options_with_help():
    rows = {key: help_text for key, _, _, help_text in describe_fields()}
    keys = [f"diversity.{k}" for k in ("pool", "pool[].name", "k", "subsets", "seed", "sampling", "max_steps")]
    keys += [f"intermediate[].{k}" for k in ("mixture", "mixture[].task.name", "sampling", "temperature", "max_steps")]
    keys += ["intermediate[].dev_evaluations"]
    for key in keys:
        assert rows.get(key), key
    result = CliRunner().invoke(app, ["options"], terminal_width=400)
    assert result.exit_code == 0 and "intermediate[].mixture[].task.name" in result.output


@pytest.mark.skipif(importlib.util.find_spec("lang2vec") is None, reason="lang2vec (URIEL data) is not installed")
def test_a_members_nearest_languages_rule_is_resolved_and_recorded():
    from crossling.config.selection import manifest_selections

    rule = {"nearest": 2, "to": "ja", "from": ["en", "de", "es", "fr", "ja", "ko", "zh"]}
    member = {"task": {"name": "xnli", "train_languages": rule}}
    config = build_config({"intermediate": [{"mixture": [member, MEMBERS[1]], "max_steps": 5}]})
    assert config.intermediate[0].mixture[0].task.train_languages == ("ko", "zh")
    entry = manifest_selections(config)["train_language_selection"]
    assert list(entry) == ["intermediate[0].mixture[0].task"]

"""What may follow what: a kind that fine-tunes nothing cannot be an intermediate stage; the error names the key."""

from __future__ import annotations

import pytest

from crossling.config import build_config
from crossling.errors import ConfigError
from crossling.pipelines.sweep import expand
from crossling.tasks import list_tasks
from crossling.tasks.stages import MAY_PRECEDE, check_stages
from crossling.taskspec import TaskKind


def _config(target: str, *intermediate: str, **extra):
    return build_config(
        {"task": {"name": target}, "intermediate": [{"task": {"name": name}} for name in intermediate], **extra}
    )


def test_only_kinds_that_fine_tune_may_be_intermediate_stages():
    plugins = {spec.kind: spec.kind_plugin for spec in list_tasks()}
    assert set(plugins) == set(TaskKind)
    assert set(MAY_PRECEDE) == {kind for kind, plugin in plugins.items() if plugin.fine_tunes}


def test_a_retrieval_intermediate_stage_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"intermediate\[1\]\.task\.name: tmpl-retrieval is a retrieval task"):
        check_stages(_config("tmpl-nli", "tmpl-paws", "tmpl-retrieval"))


def test_fine_tuned_stages_may_precede_every_kind_of_target_including_retrieval():
    for target in ("tmpl-nli", "tmpl-pos", "tmpl-qa", "tmpl-retrieval", "tmpl-image"):
        check_stages(_config(target, "tmpl-paws", "tmpl-image"))


def test_a_sweep_is_checked_before_any_member_runs():
    config = _config("tmpl-nli", variants={"ok": {}, "bad": {"intermediate": [{"task": {"name": "tmpl-retrieval"}}]}})
    with pytest.raises(ConfigError, match=r"sweep member 'bad': intermediate\[0\]\.task\.name"):
        expand(config)

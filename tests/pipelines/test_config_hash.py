"""Run-directory config hashes stay the same when a release adds a setting whose default behaves as before."""

from __future__ import annotations

from crossling.config.loader import build_config
from crossling.config.schema import TrainingConfig
from crossling.pipelines.rundir import ADDED_WITH_DEFAULTS, _differences, config_hash, dump_config
from crossling.pipelines.stages import _training_key

RAW = {
    "name": "h",
    "output_dir": "/tmp/x",
    "model": {"name_or_path": "offline:multilingual-e5-small"},
    "task": {"name": "tmpl-nli", "params": {"train_size": 100}},
    "intermediate": [{"task": {"name": "tmpl-paws"}, "training": {"epochs": 1}}],
    "training": {"epochs": 1},
}

#: config_hash of RAW as computed by crossling 405b83d (2026-11-29), before training.checkpoint_every_minutes existed:
#: run directories recorded then must still be recognised as the same run.
HASH_BEFORE_CHECKPOINT_MINUTES = "0d77acc2cfb41eeeed6a43abc86af6854570d45cdd5fe7c9073216d95de99d7b"


def test_runs_recorded_before_a_new_default_keep_their_hash():
    assert config_hash(build_config(RAW, source="x")) == HASH_BEFORE_CHECKPOINT_MINUTES
    assert "checkpoint_every_minutes" in ADDED_WITH_DEFAULTS and ADDED_WITH_DEFAULTS["dropout_impl"] == "torch"
    assert ADDED_WITH_DEFAULTS["index"] == "exact"  # retrieval.index, added after this hash was recorded


def test_a_new_setting_away_from_its_default_changes_the_hash_and_is_named(tmp_path):
    changed = {**RAW, "training": {"epochs": 1, "checkpoint_every_minutes": 30}}
    assert config_hash(build_config(changed, source="x")) != HASH_BEFORE_CHECKPOINT_MINUTES
    recorded = tmp_path / "config.yaml"
    old = dump_config(build_config(RAW, source="x")).replace("checkpoint_every_minutes: 0.0", "")
    recorded.write_text(old, encoding="utf-8")
    assert _differences(recorded, build_config(RAW, source="x")) == ""  # absent = the default: no difference
    assert "training.checkpoint_every_minutes (" in _differences(recorded, build_config(changed, source="x"))
    faiss = {**RAW, "retrieval": {"index": "faiss"}}
    assert config_hash(build_config(faiss, source="x")) != HASH_BEFORE_CHECKPOINT_MINUTES


def test_fast_dropout_changes_the_hash_and_the_stage_id_and_is_named(tmp_path):
    changed = {**RAW, "training": {"epochs": 1, "dropout_impl": "fast"}}
    assert config_hash(build_config(changed, source="x")) != HASH_BEFORE_CHECKPOINT_MINUTES
    recorded = tmp_path / "config.yaml"
    recorded.write_text(dump_config(build_config(RAW, source="x")).replace("dropout_impl: torch", ""), encoding="utf-8")
    assert _differences(recorded, build_config(RAW, source="x")) == ""
    assert "training.dropout_impl (" in _differences(recorded, build_config(changed, source="x"))
    # Stage ids: the default leaves the key out (stages cached before it existed are found), fast trains other weights.
    assert "dropout_impl" not in _training_key(TrainingConfig())
    assert _training_key(TrainingConfig(dropout_impl="fast"))["dropout_impl"] == "fast"

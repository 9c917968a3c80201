"""training.checkpoint_every_minutes: validated, and a checkpoint is written when the minutes pass (fake clock)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import BertConfig, BertModel

import crossling
from crossling.config import build_config
from crossling.config.schema import AggregationConfig, ModelConfig, TrainingConfig
from crossling.data.batching import PaddingCollator
from crossling.errors import ConfigError
from crossling.models.model import build_model
from crossling.tasks.registry import get_task
from crossling.training import checkpoint as checkpoint_module
from crossling.training import loop
from crossling.training.checkpoint import CheckpointSchedule

VOCAB = 40


def test_negative_or_nan_minutes_are_a_one_line_error_naming_the_key():
    for bad in (-1, -0.5, float("nan")):
        with pytest.raises(ConfigError, match=r"training\.checkpoint_every_minutes: expected minutes >= 0") as info:
            build_config({"training": {"checkpoint_every_minutes": bad}})
        assert "\n" not in str(info.value)
    assert build_config({"training": {"checkpoint_every_minutes": 2.5}}).training.checkpoint_every_minutes == 2.5
    assert TrainingConfig().checkpoint_every_minutes == 0.0


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_schedule_steps_minutes_and_whichever_comes_first(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(checkpoint_module, "_now", clock)
    minutes_only = CheckpointSchedule(0, 1.5)
    clock.now += 89
    assert not minutes_only.due(1)
    clock.now += 1
    assert minutes_only.due(2)
    minutes_only.written()  # restarts the clock
    assert not minutes_only.due(3)
    both = CheckpointSchedule(10, 1.0)
    assert both.due(10) and not both.due(11)  # the step count, the clock not yet due
    clock.now += 60
    assert both.due(11)  # the clock first
    off = CheckpointSchedule(0, 0.0)
    clock.now += 1e6
    assert not off.due(7)


def _model_dir(tmp_path):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        pad_token_id=0,
    )
    BertModel(config).save_pretrained(tmp_path / "bert")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(5, VOCAB)]
    (tmp_path / "bert" / "vocab.txt").write_text("\n".join(tokens) + "\n")
    return tmp_path / "bert"


def _features(n=40):
    rng = random.Random(0)
    rows = []
    for _ in range(n):
        ids = [2] + [rng.randrange(5, VOCAB) for _ in range(rng.randrange(3, 9))] + [3]
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": int(7 in ids), "length": len(ids)})
    return Dataset.from_list(rows)


def test_train_stage_writes_a_checkpoint_when_the_minutes_pass(tmp_path, monkeypatch):
    """No step count: with a clock moving 25 s per optimiser step and 1 minute set, steps 3 and 6 checkpoint."""
    clock = FakeClock()
    monkeypatch.setattr(checkpoint_module, "_now", clock)
    saved = []
    real_save = loop.save_checkpoint

    def save(directory, *, state, **kwargs):
        saved.append(state.global_step)
        return real_save(directory, state=state, **kwargs)

    monkeypatch.setattr(loop, "save_checkpoint", save)
    real_step = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        clock.now += 25.0  # every optimiser step takes 25 s
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    model = build_model(ModelConfig(name_or_path=str(_model_dir(tmp_path))), AggregationConfig(), get_task("pawsx"))
    config = TrainingConfig(
        max_steps=8,
        batch_size=4,
        mixed_precision="no",
        checkpoint_every_steps=0,
        checkpoint_every_minutes=1.0,
        select_best=False,
    )
    loop.train_stage(
        model,
        _features(),
        config=config,
        seed=0,
        work_dir=tmp_path / "stage",
        collator=PaddingCollator(0),
        show_progress=False,
    )
    assert saved == [3, 6]  # 75 s after the start, then 75 s after the checkpoint at step 3


#: Two gloo CPU processes (accelerate's debug_launcher) whose clocks disagree: both must follow the main one.
TWO_PROCESSES = """
from accelerate import debug_launcher

def main():
    from crossling.training import checkpoint
    from crossling.utils.distributed import is_main_process

    main = is_main_process()
    checkpoint._now = lambda: 1000.0
    schedule = checkpoint.CheckpointSchedule(0, 1.0)
    checkpoint._now = lambda: 1070.0 if main else 1000.0  # due on the main process only
    first = schedule.due(1)
    checkpoint._now = lambda: 1000.0 if main else 1070.0  # due on the other process only
    second = schedule.due(2)
    print(f"RESULT main={main} {first} {second}", flush=True)

debug_launcher(main, num_processes=2)
"""


def test_every_process_takes_the_main_process_minutes_decision(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(crossling.__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", TWO_PROCESSES], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The two processes share one stdout, so their lines may interleave: match the records, not lines.
    results = sorted(re.findall(r"RESULT main=(?:True|False) (?:True|False) (?:True|False)", done.stdout))
    assert results == ["RESULT main=False True False", "RESULT main=True True False"], done.stdout

"""Two gloo CPU processes train and score as one process does (same global batch), and an interrupted pair resumes.

``crossling run`` runs in two processes that accelerate started (its debug launcher: on a
real machine ``accelerate launch --num_processes 2 -m crossling run``, whose torchrun agent
listens on all interfaces, which tests must not).

The run: an intermediate mixture of a pair task and a tagging task (one member per batch,
drawn alike on both processes), then the pair task, scored in two languages. Batches of 15
rows split 8 + 7 over the two processes, the last training batch (6 rows) 3 + 3, and the
evaluation batches of 7 leave the last round short, so the padding rows that accelerate adds
there must be dropped again. Tolerance: weights within 1e-4 of the one-process run's (the
gradient all-reduce sums in another order; measured 1.1e-5 after 22 steps, while weighting each
process's share by 1 instead of its share of the batch's loss terms moves them by 8e-3),
logits within 1e-4, metrics and dev scores equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from tiny import (
    LEXICON,
    WORDS,
    make_tiny_model_dir,
    stage_weights,
    write_pawsx_layout,
    write_tagging_layout,
    write_yaml,
)

import crossling
from crossling.config import load_config
from crossling.evaluation.logits import logits_path, read_logits
from crossling.pipelines.experiment import run_experiment
from crossling.utils.locks import exclusive_lock

TRAINING = {
    "batch_size": 15,
    "learning_rate": 2e-3,
    "checkpoint_every_steps": 3,
    "mixed_precision": "no",
}
#: Runs its arguments as a crossling command line on two gloo CPU processes (accelerate's debug_launcher:
#: forked processes that meet through a file, so nothing listens on a port; gloo is pinned to loopback).
#: ``interrupt CONFIG N`` instead stops the run after N optimiser steps of its last stage.
LAUNCHER = """
import sys
from accelerate import debug_launcher

def main(argv):
    if argv[0] == "interrupt":
        from crossling.config import load_config
        from crossling.pipelines.experiment import run_experiment
        try:
            run_experiment(load_config(argv[1]), show_progress=False, stop_after_steps=int(argv[2]))
        except KeyboardInterrupt:
            pass
        return
    from crossling.cli.main import app
    code = app(argv, standalone_mode=False)
    if code:
        raise SystemExit(code)

debug_launcher(main, args=(sys.argv[1:],), num_processes=2)
"""


def _config(root: Path, name: str) -> Path:
    pairs, tags, model = root / "pairs", root / "tags", root / "model"
    members = [
        {"task": {"name": "pawsx", "source": "local", "data_dir": str(pairs)}},
        {"task": {"name": "udpos", "source": "local", "data_dir": str(tags), "max_length": 24}},
    ]
    config = {
        "name": name,
        "output_dir": str(root / "runs"),
        "seed": 5,
        "model": {"name_or_path": str(model), "head_dropout": 0.0},  # no dropout: the runs can match exactly
        "intermediate": [{"mixture": members, "max_steps": 8, "dev_evaluations": 2, "training": TRAINING}],
        "task": {"name": "pawsx", "source": "local", "data_dir": str(pairs), "eval_languages": ["en", "de"]},
        "training": {**TRAINING, "epochs": 2},
        "evaluation": {"batch_size": 7, "save_logits": True},
    }
    return write_yaml(root / f"{name}.yaml", config)


def _launch(root: Path, *arguments: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    """``LAUNCHER`` in a fresh interpreter (no accelerate state inherited from this one)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(crossling.__file__).resolve().parents[1]),
        "CROSSLING_HOME": str(home),
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-c", LAUNCHER, *arguments]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """The same config run by one process (here) and by two (``crossling run`` on two launched processes)."""
    root = tmp_path_factory.mktemp("multiprocess")
    write_pawsx_layout(root / "pairs", train=96, dev=32, test=32)
    write_tagging_layout(root / "tags", {("train", "en"): 40, ("dev", "en"): 16, ("test", "en"): 16})
    texts = [" ".join(words) for words in WORDS.values()] * 10
    texts += [" ".join(words) for lexicon in LEXICON.values() for words in lexicon.values()] * 10
    make_tiny_model_dir(root / "model", texts)
    run_experiment(load_config(_config(root, "one")), show_progress=False)
    _launch(root, "run", str(_config(root, "two")), "--quiet", home=root / "home-two")
    return root


def _weights_difference(run_a: Path, run_b: Path, index: int, task: str) -> float:
    a, b = load_file(str(stage_weights(run_a, index, task))), load_file(str(stage_weights(run_b, index, task)))
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def _results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def test_two_processes_train_and_score_like_one(runs):
    one, two = runs / "runs" / "one", runs / "runs" / "two"
    for index, task in enumerate(["pawsx+udpos", "pawsx"]):
        assert _weights_difference(one, two, index, task) < 1e-4, task
    results_one, results_two = _results(one), _results(two)
    assert results_two["languages"].keys() == {"en", "de"}
    for language, scores in results_one["languages"].items():
        assert results_two["languages"][language]["accuracy"] == scores["accuracy"]
        assert results_two["languages"][language]["count"] == scores["count"] == 32
    for stage_one, stage_two in zip(results_one["stages"], results_two["stages"], strict=True):
        assert stage_two["global_steps"] == stage_one["global_steps"]
        assert np.allclose(stage_two["dev_history"], stage_one["dev_history"], atol=1e-9)
    assert (
        results_two["stages"][0]["mixture"]["member_batches"] == results_one["stages"][0]["mixture"]["member_batches"]
    )
    for language in ("en", "de"):
        rows_one = read_logits(logits_path(one, "pawsx", "test", language))
        rows_two = read_logits(logits_path(two, "pawsx", "test", language))
        assert len(rows_two) == len(rows_one) == 32  # the padding rows of the last round were dropped
        assert np.allclose(np.stack(rows_two), np.stack(rows_one), atol=1e-4)
    # The main process alone wrote the run's files: one prediction file per language, no leftovers.
    assert sorted(p.name for p in (two / "predictions" / "pawsx").iterdir()) == ["test-de.tsv", "test-en.tsv"]
    assert json.loads((two / "manifest.json").read_text(encoding="utf-8"))["processes"] == 2
    assert "processes" not in json.loads((one / "manifest.json").read_text(encoding="utf-8"))


def test_an_interrupted_two_process_run_resumes_to_the_same_weights(runs):
    home = runs / "home-resumed"
    config = _config(runs, "two-resumed")
    _launch(runs, "interrupt", str(config), "5", home=home)  # target stage: 5 of its 14 steps
    checkpoints = sorted(home.glob("stages/*.partial/checkpoints/checkpoint-*"))
    assert [path.name for path in checkpoints] == ["checkpoint-00000005"]
    assert not (runs / "runs" / "two-resumed" / "results.json").exists()

    # While another crossling process holds the run directory, both processes stop with its one-line error.
    with exclusive_lock(runs / "runs" / "two-resumed" / ".lock"):
        busy = _launch(runs, "run", str(config), "--quiet", home=home, check=False)
    assert busy.returncode != 0 and "is in use by another crossling process" in busy.stdout + busy.stderr

    _launch(runs, "run", str(config), "--quiet", home=home)
    resumed, uninterrupted = runs / "runs" / "two-resumed", runs / "runs" / "two"
    assert _weights_difference(resumed, uninterrupted, 1, "pawsx") < 1e-6
    for language, scores in _results(uninterrupted)["languages"].items():
        assert _results(resumed)["languages"][language]["accuracy"] == scores["accuracy"]

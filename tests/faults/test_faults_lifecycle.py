"""Run directories through the installed `crossling` script: --force, config checks, failed runs, the lock."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from faultkit import CROSSLING, assert_one_line_stderr
from faultkit import crossling as run_console_script

from crossling.utils.locks import exclusive_lock
from crossling.utils.paths import crossling_home

#: Ten steps per epoch: 160 training pairs in batches of 16.
STEPS_PER_EPOCH = 10


def crossling(*args: str | Path) -> subprocess.CompletedProcess:
    """The installed `crossling` with ``args``, log lines unwrapped."""
    return run_console_script(*map(str, args), env={"COLUMNS": "400"})


def output(proc: subprocess.CompletedProcess) -> str:
    """stdout and stderr of a finished `crossling`."""
    return proc.stdout + proc.stderr


def results_of(config: Path) -> dict:
    """The results.json of the (only) run of a faults config."""
    return json.loads((config.parent / "runs" / "fault" / "results.json").read_text())


def test_force_with_a_changed_training_config_trains_anew(make_config):
    config = make_config(training={"epochs": 1})
    assert crossling("run", config, "--quiet").returncode == 0
    first = results_of(config)
    assert first["stages"][0]["global_steps"] == STEPS_PER_EPOCH

    forced = crossling(
        "run", config, "--quiet", "--set", "training.epochs=2", "--set", "training.learning_rate=5e-3", "--force"
    )
    assert forced.returncode == 0, output(forced)
    second = results_of(config)
    assert second["stages"][0]["global_steps"] == 2 * STEPS_PER_EPOCH
    assert second["config_hash"] != first["config_hash"]
    recorded = yaml.safe_load((config.parent / "runs" / "fault" / "config.yaml").read_text())
    assert recorded["training"]["epochs"] == 2


def test_force_with_a_changed_aggregation_trains_anew_and_is_then_finished(make_config):
    config = make_config(training={"epochs": 1})
    assert crossling("run", config, "--quiet").returncode == 0
    changed = ("--set", "aggregation.strategy=dlfa", "--set", "aggregation.layer=1")
    forced = crossling("run", config, "--quiet", *changed, "--force")
    assert forced.returncode == 0, output(forced)
    assert "Traceback" not in output(forced)
    assert results_of(config)["aggregation"]["strategy"] == "dlfa"
    again = crossling("run", config, *changed)
    assert again.returncode == 0, output(again)
    assert "already finished; results in" in output(again)
    assert results_of(config)["aggregation"]["strategy"] == "dlfa"


def test_results_written_under_another_config_are_not_reported_as_finished(make_config):
    config = make_config(training={"max_steps": 2})
    assert crossling("run", config, "--quiet").returncode == 0
    path = config.parent / "runs" / "fault" / "results.json"
    stale = json.loads(path.read_text())
    stale["config_hash"] = "0" * 64
    stale["languages"]["en"]["accuracy"] = -1.0
    path.write_text(json.dumps(stale))
    again = crossling("run", config)
    assert again.returncode == 0, output(again)
    assert "already finished; results in" not in output(again)
    assert results_of(config)["languages"]["en"]["accuracy"] >= 0.0
    assert results_of(config)["config_hash"] != stale["config_hash"]


def _damage_train_line(data_dir: Path) -> None:
    lines = (data_dir / "train-en.tsv").read_text().splitlines()
    lines[2] = "only one column"
    (data_dir / "train-en.tsv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("fault", "fix"),
    [
        (
            ["--set", "aggregation.strategy=dlfa", "--set", "aggregation.layer=99"],
            ["--set", "aggregation.strategy=dlfa", "--set", "aggregation.layer=2"],
        ),
        (["--set", "aggregation.strategy=bogus"], []),
        ("malformed-line", ["--set", "task.skip_bad_lines=true"]),
    ],
    ids=["layer-99", "unknown-strategy", "malformed-line"],
)
def test_a_config_error_does_not_poison_the_run_directory(make_config, data_copy, fault, fix):
    config = make_config(task={"data_dir": str(data_copy)}, training={"max_steps": 2})
    if fault == "malformed-line":
        _damage_train_line(data_copy)
        fault = []
    failed = crossling("run", config, "--quiet", *fault)
    assert failed.returncode == 2, output(failed)
    corrected = crossling("run", config, "--quiet", *fix)
    assert corrected.returncode == 0, output(corrected)
    assert results_of(config)["stages"][0]["global_steps"] == 2


def test_train_records_the_config_and_run_does_not_reuse_it_under_another(make_config):
    config = make_config(training={"epochs": 1})
    trained = crossling("train", config, "--quiet")
    assert trained.returncode == 0, output(trained)
    run_dir = config.parent / "runs" / "fault"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["training"]["epochs"] == 1
    other = crossling("run", config, "--quiet", "--set", "training.epochs=2")
    assert_one_line_stderr(other, "different config", "training.epochs (1 -> 2)")
    same = crossling("run", config)
    assert same.returncode == 0, output(same)
    assert "already finished, loaded" in output(same)
    assert results_of(config)["stages"][0]["global_steps"] == STEPS_PER_EPOCH


def test_train_refuses_another_config_unless_forced(make_config):
    config = make_config(training={"max_steps": 2})
    assert crossling("run", config, "--quiet").returncode == 0
    other = crossling("train", config, "--quiet", "--set", "training.learning_rate=3e-2")
    assert_one_line_stderr(other, "different config", "training.learning_rate")
    forced = crossling("train", config, "--quiet", "--set", "training.learning_rate=3e-2", "--force")
    assert forced.returncode == 0, output(forced)
    assert not (config.parent / "runs" / "fault" / "results.json").exists(), "results of the old config were kept"


@pytest.mark.parametrize("command", ["run", "train", "evaluate"])
def test_run_train_and_evaluate_share_the_run_directory_lock(make_config, command):
    config = make_config(training={"max_steps": 2})
    run_dir = config.parent / "runs" / "fault"
    if command == "evaluate":
        assert crossling("run", config, "--quiet").returncode == 0
    target = run_dir if command == "evaluate" else config
    with exclusive_lock(run_dir / ".lock"):
        busy = crossling(command, target, "--quiet")
    assert_one_line_stderr(busy, str(run_dir), "in use by another crossling process")


def test_evaluate_refuses_a_config_edited_after_training(make_config):
    config = make_config(training={"max_steps": 2})
    assert crossling("run", config, "--quiet").returncode == 0
    recorded = config.parent / "runs" / "fault" / "config.yaml"
    edited = yaml.safe_load(recorded.read_text())
    edited["aggregation"] = {"strategy": "dlfa", "layer": 1}
    recorded.write_text(yaml.safe_dump(edited))
    result = crossling("evaluate", config.parent / "runs" / "fault", "--quiet")
    assert_one_line_stderr(result, str(recorded), "was not trained with")


def newest_checkpoint_step(*roots: Path) -> int:
    """The highest step of any checkpoint directory under ``roots`` (-1 if none).

    The run writes checkpoints while this looks: a temporary directory renamed away mid-walk
    counts as not there yet (the next poll sees the renamed checkpoint).
    """
    try:
        steps = [
            int(p.name.split("-")[-1])
            for root in roots
            if root.is_dir()
            for p in root.rglob("checkpoint-*")
            if p.is_dir() and not p.name.endswith(".tmp")
        ]
    except FileNotFoundError:
        return -1
    return max(steps, default=-1)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_prints_the_command_that_resumes_and_exits_130(make_config):
    config = make_config(training={"epochs": 4, "checkpoint_every_steps": 2})
    run_dir = config.parent / "runs" / "fault"
    args = ["run", str(config), "--quiet", "--set", "training.epochs=3"]
    process = subprocess.Popen(
        [str(CROSSLING), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        # A test suite started in the background (`make test &`, nohup) ignores SIGINT, and a child inherits an
        # ignored SIGINT (Python then installs no KeyboardInterrupt handler): give the child the default, as a shell
        # gives the command a user interrupts.
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 300
    while newest_checkpoint_step(run_dir, crossling_home() / "stages") < 4:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    resume = [line.split("Resume with: ", 1)[1] for line in stderr.splitlines() if "Resume with: " in line]
    assert resume == [shlex.join(["crossling", *args])], stderr
    resumed = crossling(*shlex.split(resume[0])[1:])
    assert resumed.returncode == 0, output(resumed)
    assert results_of(config)["stages"][0]["global_steps"] == 3 * STEPS_PER_EPOCH

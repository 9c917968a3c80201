"""Executors: a study gives the same results here, in worker processes, on local Ray and through submitit; killed workers are retried."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from tiny import shared_stage_study, write_yaml

from crossling.config import load_config
from crossling.pipelines.executors import RunJob, dependencies, plan_jobs, waves
from crossling.pipelines.experiment import plan_stages
from crossling.pipelines.rundir import run_directory
from crossling.pipelines.stages import partial_dir
from crossling.pipelines.sweep import expand, run_sweep
from crossling.training.checkpoint import list_checkpoints
from crossling.utils.io import read_json


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread here and in worker processes: tiny models on 2 shared cores run faster, and alike."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield
    torch.set_num_threads(threads)


def scores(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per run and language, the primary metric (what must not depend on where a run executed)."""
    return {name: {lang: r["languages"][lang][r["metric"]] for lang in r["languages"]} for name, r in results.items()}


@pytest.fixture(scope="module")
def local_scores(tiny_model, toy_pawsx, tmp_path_factory) -> dict[str, dict[str, float]]:
    """The study run one after another in this process: the reference."""
    out = tmp_path_factory.mktemp("local")
    config = load_config(write_yaml(out / "study.yaml", shared_stage_study(tiny_model, toy_pawsx, out / "runs")))
    return scores(run_sweep(config, show_progress=False))


def test_plan_orders_each_run_after_the_earlier_run_that_trains_a_stage_of_its_plan(tiny_model, toy_pawsx, tmp_path):
    config = load_config(write_yaml(tmp_path / "s.yaml", shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs")))
    members = expand(config)
    jobs = {job.name: job for job in plan_jobs(members)}
    # The jobs name the very stage ids the runs train (the stage cache's content addresses).
    assert {m.name: jobs[m.name].stages for m in members} == {
        m.name: tuple(s.id for s in plan_stages(m, run_directory(m))) for m in members
    }
    # direct's only stage IS inter-a's (and inter-b's) intermediate stage: same task, training and seed.
    assert jobs["direct"].stages == jobs["inter-a"].stages[:1] == jobs["inter-b"].stages[:1]
    assert len(set(jobs["inter-a"].stages + jobs["inter-b"].stages)) == 3  # the targets differ (learning rate)
    assert jobs["direct"].after == ()
    assert jobs["inter-a"].after == ("direct",) and jobs["inter-b"].after == ("direct",)


def test_a_run_waits_for_every_earlier_run_that_trains_one_of_its_stages_and_waves_follow_the_chain():
    plans = {"first": ("s1",), "second": ("s1", "s2"), "third": ("s1", "s2", "s3"), "alone": ("s9",), "again": ("s9",)}
    after = dependencies(plans)
    assert after == {
        "first": (),
        "second": ("first",),
        "third": ("first", "second"),
        "alone": (),
        "again": ("alone",),
    }
    jobs = [RunJob(name, "", "", ids, after[name]) for name, ids in plans.items()]
    assert [[job.name for job in wave] for wave in waves(jobs)] == [["first", "alone"], ["second", "again"], ["third"]]


def test_a_run_whose_data_cannot_be_read_plans_no_stages_and_is_left_to_its_worker(tiny_model, toy_pawsx, tmp_path):
    raw = shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs")
    (tmp_path / "missing").mkdir()
    raw["variants"] = {"good": {}, "bad": {"task.data_dir": str(tmp_path / "missing")}}
    jobs = {job.name: job for job in plan_jobs(expand(load_config(write_yaml(tmp_path / "s.yaml", raw))))}
    assert len(jobs["good"].stages) == 1 and jobs["bad"].stages == () and jobs["bad"].after == ()


def test_where_a_run_executes_is_not_part_of_its_identity(tiny_model, toy_pawsx, tmp_path):
    raw = shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs")
    here = expand(load_config(write_yaml(tmp_path / "a.yaml", raw)))
    ray = expand(load_config(write_yaml(tmp_path / "b.yaml", {**raw, "executor": {"kind": "ray", "max_workers": 4}})))
    assert [m.executor for m in here] == [m.executor for m in ray]


def test_submitit_gives_the_same_results_as_the_local_executor_and_a_rerun_starts_nothing(
    tiny_model, toy_pawsx, tmp_path, local_scores
):
    pytest.importorskip("submitit", reason="the cluster extra (submitit) is not installed")
    executor = {"kind": "slurm", "max_workers": 2, "slurm_cluster": "local"}
    config = load_config(
        write_yaml(
            tmp_path / "study.yaml", shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs", executor=executor)
        )
    )
    assert scores(run_sweep(config, show_progress=False)) == local_scores
    # A rerun finds every run finished and submits no job.
    before = {p: p.stat().st_mtime for p in (tmp_path / "runs" / "study").glob("*/results.json")}
    assert scores(run_sweep(config, show_progress=False)) == local_scores
    assert {p: p.stat().st_mtime for p in (tmp_path / "runs" / "study").glob("*/results.json")} == before
    runs = read_json(tmp_path / "runs" / "study" / "executor.json")["runs"]
    assert {name: (r["finished"], r["attempts"]) for name, r in runs.items()} == {
        "direct": (True, 0),
        "inter-a": (True, 0),
        "inter-b": (True, 0),
    }


def test_a_run_that_keeps_failing_is_reported_and_the_others_finish(tiny_model, toy_pawsx, tmp_path):
    raw = shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs", executor={"kind": "processes", "max_retries": 1})
    raw["variants"] = {"good": {}, "bad": {"task.data_dir": str(tmp_path / "missing")}}
    (tmp_path / "missing").mkdir()  # exists at load time, holds no data: the worker fails on it
    config = load_config(write_yaml(tmp_path / "study.yaml", raw))
    from crossling.errors import ConfigError

    with pytest.raises(ConfigError, match=r"1 of 2 runs failed: bad: "):
        run_sweep(config, show_progress=False)
    study = tmp_path / "runs" / "study"
    assert (study / "good" / "results.json").is_file()
    record = read_json(study / "executor.json")["runs"]
    assert record["good"]["finished"] and not record["bad"]["finished"]


def _kill_first_worker_once_checkpointed(run_dir: Path, stage: str, deadline: float) -> int:
    """SIGKILL the run's first worker once its stage has a checkpoint; returns the killed pid."""
    pointer = run_dir / "stages" / f"{stage}.json"  # names the stage's id in the stage cache once it trains
    while time.monotonic() < deadline:
        attempts = read_json(run_dir / "attempts.json") if (run_dir / "attempts.json").is_file() else []
        checkpoints = partial_dir(read_json(pointer)["stage_id"]) / "checkpoints" if pointer.is_file() else None
        if attempts and checkpoints is not None and list_checkpoints(checkpoints):
            pid = attempts[0]["pid"]
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.01)
    pytest.fail("the worker wrote no checkpoint in time")


@pytest.mark.parametrize("engine", ["processes", "ray"])
def test_a_worker_killed_mid_stage_is_retried_and_the_study_ends_as_if_it_never_was(
    engine, tiny_model, toy_pawsx, tmp_path, local_scores
):
    if engine == "ray":
        pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")
    import threading

    raw = shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs", executor={"kind": engine, "max_workers": 2})
    config = load_config(write_yaml(tmp_path / "study.yaml", raw))
    # inter-b's target stage is its own (direct's stage is the cached intermediate stage of inter-a).
    run_dir = tmp_path / "runs" / "study" / "inter-b"
    killed: list[int] = []
    killer = threading.Thread(
        target=lambda: killed.append(_kill_first_worker_once_checkpointed(run_dir, "01-pawsx", time.monotonic() + 300))
    )
    killer.start()
    results = run_sweep(config, show_progress=False)
    killer.join()
    attempts = read_json(run_dir / "attempts.json")
    assert killed and attempts[0]["pid"] == killed[0] and len(attempts) >= 2
    # The retried run resumed from its checkpoint: every score equals the uninterrupted local study's.
    assert scores(results) == local_scores
    assert all(r["finished"] for r in read_json(tmp_path / "runs" / "study" / "executor.json")["runs"].values())

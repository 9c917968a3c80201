"""Executors: run a study's runs here, in worker processes, on a Ray cluster or through Slurm (submitit).

crossling writes no scheduler of its own: each engine's own scheduler places the work, and
crossling only says what depends on what. Each run's plan is its list of training stages, named
by their content addresses in the stage cache (``crossling.pipelines.experiment.plan_stages``).
The first run of the study whose plan holds a stage trains it; every later run whose plan holds
any stage an earlier run trains starts once those runs have finished, and loads the stages from
the cache. Every run is a whole, resumable ``run_experiment``: a retried run resumes from its
newest checkpoint, and a finished run is not redone, so a rerun of the study skips what is
complete. Two workers that reach one stage at the same moment are still safe: the stage cache
takes a lock per stage.

Workers need nothing but a shared filesystem holding the study directory and ``CROSSLING_HOME``
(the stage and feature caches). A job carries its config as YAML text and returns the run's
``results.json`` mapping: plain data only, so no engine has to serialise crossling objects.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crossling.config.loader import build_config, dump_config
from crossling.config.schema import ExecutorConfig, ExperimentConfig
from crossling.errors import ConfigError, CrosslingError
from crossling.pipelines.experiment import plan_stages, run_experiment
from crossling.pipelines.rundir import config_hash, finished_results, run_directory
from crossling.utils.io import atomic_write_json, atomic_write_text, read_json

logger = logging.getLogger(__name__)

#: Engine names accepted by ``--executor`` / ``executor.kind``.
ENGINES = ("local", "processes", "ray", "slurm")


@dataclass(frozen=True)
class RunJob:
    """One run of a study, as an engine ships it to a worker.

    Args:
        name: The run's name (unique in the study).
        config_yaml: The run's resolved config (``dump_config``).
        run_dir: Where the run writes (on the shared filesystem).
        stages: Stage ids of the stages the run trains, in order (empty if they cannot be planned).
        after: Names of the earlier runs that train some of those stages: they must finish first.
    """

    name: str
    config_yaml: str
    run_dir: str
    stages: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass
class JobOutcome:
    """What became of one job: its results, or the error of its last attempt.

    Args:
        name: The run's name.
        results: ``results.json`` of the finished run (``None`` if it failed).
        error: One line on why the last attempt failed.
        attempts: How many attempts were made.
    """

    name: str
    results: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0


@dataclass
class StudyOutcome:
    """Every job's outcome, in plan order.

    Args:
        outcomes: Name -> outcome.
    """

    outcomes: dict[str, JobOutcome] = field(default_factory=dict)

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """Results of the runs that finished."""
        return {name: o.results for name, o in self.outcomes.items() if o.results is not None}

    @property
    def failed(self) -> dict[str, JobOutcome]:
        """Outcomes of the runs that failed after every retry."""
        return {name: o for name, o in self.outcomes.items() if o.results is None}


def trained_stage_ids(config: ExperimentConfig) -> tuple[str, ...]:
    """Content addresses of the stages ``config``'s run trains, in order (``()`` where they cannot be planned).

    A run whose data or model cannot be read here plans no stages: its worker reports the error.
    """
    try:
        stages = plan_stages(config, run_directory(config))
    except (CrosslingError, OSError) as exc:
        logger.info("%s: stages not planned (%s); the run depends on no other", config.name, _one_line(exc))
        return ()
    return tuple(stage.id for stage in stages if stage.task.spec.kind_plugin.fine_tunes)


def dependencies(plans: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Per run (in plan order), the earlier runs it waits for: the first run of each stage id its plan holds.

    ``plans`` maps each run's name to the ids of the stages it trains; the first run whose plan
    holds a stage trains it, and every later run holding it loads it from the stage cache.
    """
    trainer: dict[str, str] = {}
    after: dict[str, tuple[str, ...]] = {}
    for name, stage_ids in plans.items():
        after[name] = tuple(dict.fromkeys(trainer[sid] for sid in stage_ids if sid in trainer and trainer[sid] != name))
        for sid in stage_ids:
            trainer.setdefault(sid, name)
    return after


def plan_jobs(members: Sequence[ExperimentConfig]) -> list[RunJob]:
    """The study's runs as jobs: each waits for the earlier runs that train any of its stages first."""
    plans = {member.name: trained_stage_ids(member) for member in members}
    after = dependencies(plans)
    return [RunJob(m.name, dump_config(m), str(run_directory(m)), plans[m.name], after[m.name]) for m in members]


def execute_job(config_yaml: str) -> dict[str, Any]:
    """Worker entry point: rebuild the config from YAML and run it (resuming, or skipping a finished run).

    Errors of the user's making (``CrosslingError``: bad config or data) come back as
    ``{"error": ...}`` so that no engine retries them; anything else raises and may be retried.
    """
    config = build_config(yaml.safe_load(config_yaml), source="study job")
    _record_attempt(run_directory(config))
    try:
        return run_experiment(config, show_progress=False)
    except CrosslingError as exc:
        return {"error": str(exc)}


def _record_attempt(run_dir: Path) -> None:
    """Append this worker's pid, host and start time to ``<run_dir>/attempts.json`` (for monitoring and tests)."""
    path = run_dir / "attempts.json"
    attempts = read_json(path) if path.is_file() else []
    attempts.append({"pid": os.getpid(), "host": os.uname().nodename, "started": time.time()})
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, attempts)


def _outcome(name: str, value: Any, attempts: int) -> JobOutcome:
    if isinstance(value, dict) and "error" in value and "schema" not in value:
        return JobOutcome(name, error=str(value["error"]), attempts=attempts)
    return JobOutcome(name, results=value, attempts=attempts)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300]


# --------------------------------------------------------------------------------------------- engines


def run_local(jobs: Sequence[RunJob], settings: ExecutorConfig) -> StudyOutcome:
    """Run every job in this process, in plan order, retrying a failed one up to ``max_retries`` times."""
    study = StudyOutcome()
    for job in jobs:
        if skipped := _skipped(job, study):
            study.outcomes[job.name] = skipped
            continue
        study.outcomes[job.name] = _with_retries(job, settings.max_retries, lambda j: execute_job(j.config_yaml))
    return study


def _skipped(job: RunJob, study: StudyOutcome) -> JobOutcome | None:
    """The outcome of a job not started because a run that trains one of its stages failed (else None)."""
    failed = [dep for dep in job.after if study.outcomes[dep].results is None]
    return JobOutcome(job.name, error=f"skipped: {failed[0]} failed") if failed else None


def _with_retries(job: RunJob, max_retries: int, attempt: Callable[[RunJob], Any]) -> JobOutcome:
    """Call ``attempt(job)`` until it returns, at most ``1 + max_retries`` times."""
    error = "not run"
    for number in range(1, max_retries + 2):
        try:
            return _outcome(job.name, attempt(job), number)
        except Exception as exc:  # noqa: BLE001 - a worker fault of any kind is retried, then reported
            error = _one_line(exc)
            logger.warning("%s: attempt %d failed (%s)", job.name, number, error)
    return JobOutcome(job.name, error=error, attempts=max_retries + 1)


def run_processes(jobs: Sequence[RunJob], settings: ExecutorConfig, jobs_dir: Path) -> StudyOutcome:
    """Run each job as its own ``python -m crossling run`` process, ``max_workers`` at a time.

    A process that dies (killed, out of memory) is started again, up to ``max_retries`` times;
    the new one resumes the run from its newest checkpoint.
    """
    jobs_dir.mkdir(parents=True, exist_ok=True)
    study = StudyOutcome()
    pending = list(jobs)
    running: dict[str, tuple[subprocess.Popen[bytes], RunJob, int]] = {}
    while pending or running:
        for name, (process, job, number) in list(running.items()):
            if process.poll() is None:
                continue
            del running[name]
            outcome = _process_outcome(job, process.returncode, number, jobs_dir)
            if outcome is None and number <= settings.max_retries:
                logger.warning(
                    "%s: worker exited with %s; retrying (%d of %d)",
                    name,
                    process.returncode,
                    number,
                    settings.max_retries,
                )
                running[name] = (_start_process(job, jobs_dir), job, number + 1)
                continue
            study.outcomes[name] = outcome or JobOutcome(
                name, error=f"worker exited with {process.returncode} ({_log_tail(jobs_dir, job)})", attempts=number
            )
        for job in list(pending):
            if len(running) >= settings.max_workers:
                break
            done = [dep in study.outcomes for dep in job.after]
            if not all(done):
                continue
            pending.remove(job)
            if skipped := _skipped(job, study):
                study.outcomes[job.name] = skipped
                continue
            running[job.name] = (_start_process(job, jobs_dir), job, 1)
        time.sleep(0.2)
    return StudyOutcome({job.name: study.outcomes[job.name] for job in jobs})


def _start_process(job: RunJob, jobs_dir: Path) -> subprocess.Popen[bytes]:
    config_file = jobs_dir / f"{job.name}.yaml"
    atomic_write_text(config_file, job.config_yaml)
    Path(job.run_dir).mkdir(parents=True, exist_ok=True)
    log = open(jobs_dir / f"{job.name}.log", "ab")  # noqa: SIM115 - the child process owns it
    command = [sys.executable, "-m", "crossling", "run", str(config_file), "--quiet"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    log.close()
    attempts_path = Path(job.run_dir) / "attempts.json"
    attempts = read_json(attempts_path) if attempts_path.is_file() else []
    attempts.append({"pid": process.pid, "host": os.uname().nodename, "started": time.time()})
    atomic_write_json(attempts_path, attempts)
    return process


def _process_outcome(job: RunJob, returncode: int, number: int, jobs_dir: Path) -> JobOutcome | None:
    """The finished process's outcome; ``None`` when it died and should be retried."""
    results_path = Path(job.run_dir) / "results.json"
    if returncode == 0 and results_path.is_file():
        return JobOutcome(job.name, results=read_json(results_path), attempts=number)
    if returncode == 2:  # crossling's exit code for bad input: retrying cannot help
        return JobOutcome(job.name, error=_log_tail(jobs_dir, job), attempts=number)
    return None


def _log_tail(jobs_dir: Path, job: RunJob) -> str:
    path = jobs_dir / f"{job.name}.log"
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()] if path.is_file() else []
    return lines[-1].strip() if lines else "no output"


def run_ray(jobs: Sequence[RunJob], settings: ExecutorConfig) -> StudyOutcome:
    """Run every job as a Ray task with the config's resources; a run's task depends on its ``after`` runs' tasks.

    Connects to ``executor.ray_address`` (``auto``, ``ray://host:10001``) or starts a local
    instance on 127.0.0.1. Ray retries a task whose worker died (``max_retries``); errors a
    retry cannot fix come back as data and are not retried.
    """
    ray = _import_engine("ray")
    started_here = not ray.is_initialized()
    if started_here:
        if settings.ray_address:
            ray.init(address=settings.ray_address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=settings.max_workers,
                _node_ip_address="127.0.0.1",
                include_dashboard=False,
                log_to_driver=False,
            )
    try:
        options = {
            "num_cpus": settings.cpus_per_run,
            "num_gpus": settings.gpus_per_run,
            "max_retries": settings.max_retries,
            "retry_exceptions": True,
        }
        task = ray.remote(**options)(_after)
        refs: dict[str, Any] = {}
        for job in jobs:
            # The earlier runs' tasks are arguments: Ray starts this run only once they have completed.
            refs[job.name] = task.remote(job.config_yaml, *[refs[dep] for dep in job.after])
        study = StudyOutcome()
        for job in jobs:
            try:
                study.outcomes[job.name] = _outcome(job.name, ray.get(refs[job.name]), 1)
            except Exception as exc:  # noqa: BLE001 - reported per run, the others go on
                study.outcomes[job.name] = JobOutcome(job.name, error=_one_line(exc), attempts=settings.max_retries + 1)
        return study
    finally:
        if started_here:
            ray.shutdown()


def _after(config_yaml: str, *finished: Any) -> dict[str, Any]:
    """Run ``config_yaml`` once the runs it waits for (``finished``, their results) are done; skip if one failed."""
    for earlier in finished:
        if isinstance(earlier, dict) and "error" in earlier and "schema" not in earlier:
            return {"error": f"skipped: a run it shares stages with failed ({earlier['error']})"}
    return execute_job(config_yaml)


def run_slurm(jobs: Sequence[RunJob], settings: ExecutorConfig, jobs_dir: Path) -> StudyOutcome:
    """Submit the jobs through submitit: each wave (``waves``) as one job array.

    ``executor.slurm_cluster`` ``local`` runs the same code through submitit's local executor
    (subprocesses on this machine), which is how the tests exercise it. A job that fails is
    resubmitted up to ``max_retries`` times; it resumes from its newest checkpoint.
    """
    submitit = _import_engine("submitit")
    executor = submitit.AutoExecutor(folder=str(jobs_dir / "submitit"), cluster=settings.slurm_cluster)
    parameters: dict[str, Any] = {
        "timeout_min": settings.slurm_time_minutes,
        "cpus_per_task": int(settings.cpus_per_run),
        "slurm_array_parallelism": settings.max_workers,
        "name": "crossling",
    }
    if settings.slurm_cluster in (None, "slurm"):
        parameters.update(
            slurm_partition=settings.slurm_partition,
            gpus_per_node=int(settings.gpus_per_run),
            slurm_additional_parameters=dict(settings.slurm_extra),
        )
    executor.update_parameters(**{k: v for k, v in parameters.items() if v is not None})
    study = StudyOutcome()
    for wave in waves(jobs):
        ready = []
        for job in wave:
            if skipped := _skipped(job, study):
                study.outcomes[job.name] = skipped
            else:
                ready.append(job)
        attempt = 1
        while ready:
            handles = executor.map_array(execute_job, [job.config_yaml for job in ready])
            retry = []
            for job, handle in zip(ready, handles, strict=True):
                try:
                    study.outcomes[job.name] = _outcome(job.name, handle.result(), attempt)
                except Exception as exc:  # noqa: BLE001 - retried, then reported
                    if attempt <= settings.max_retries:
                        logger.warning("%s: job %s failed (%s); resubmitting", job.name, handle.job_id, _one_line(exc))
                        retry.append(job)
                    else:
                        study.outcomes[job.name] = JobOutcome(job.name, error=_one_line(exc), attempts=attempt)
            ready, attempt = retry, attempt + 1
    return StudyOutcome({job.name: study.outcomes[job.name] for job in jobs})


def waves(jobs: Sequence[RunJob]) -> list[list[RunJob]]:
    """``jobs`` in waves: a job is in the wave after the last of its ``after`` jobs (in plan order within a wave)."""
    depth: dict[str, int] = {}
    for job in jobs:  # a job's ``after`` runs come before it in the plan
        depth[job.name] = 1 + max((depth[dep] for dep in job.after if dep in depth), default=-1)
    return [[job for job in jobs if depth[job.name] == level] for level in range(max(depth.values(), default=-1) + 1)]


def _import_engine(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        raise ConfigError(f"executor {name!r} needs the {name} package: pip install 'crossling[cluster]'") from None


def run_jobs(jobs: Sequence[RunJob], settings: ExecutorConfig, study_dir: Path) -> StudyOutcome:
    """Run ``jobs`` with the engine ``settings.kind``; writes ``<study_dir>/executor.json`` (who ran what, failures).

    A run whose ``results.json`` already holds this config's results is not handed to any
    worker (on a cluster: no job is submitted for it).
    """
    started = time.time()
    finished = {job.name: _finished_results(job) for job in jobs}
    todo = [
        dataclasses.replace(job, after=tuple(d for d in job.after if finished[d] is None))
        for job in jobs
        if finished[job.name] is None
    ]
    ran = _dispatch(todo, settings, study_dir) if todo else StudyOutcome()
    outcome = StudyOutcome(
        {
            name: ran.outcomes[name] if results is None else JobOutcome(name, results, attempts=0)
            for name, results in finished.items()
        }
    )
    study_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        study_dir / "executor.json",
        {
            "executor": dataclasses.asdict(settings),
            "seconds": round(time.time() - started, 2),
            "runs": {
                name: {"finished": o.results is not None, "attempts": o.attempts, "error": o.error}
                for name, o in outcome.outcomes.items()
            },
        },
    )
    return outcome


def _dispatch(jobs: Sequence[RunJob], settings: ExecutorConfig, study_dir: Path) -> StudyOutcome:
    """Hand ``jobs`` to the engine named by ``settings.kind``."""
    if settings.kind == "processes":
        return run_processes(jobs, settings, study_dir / ".jobs")
    if settings.kind == "ray":
        return run_ray(jobs, settings)
    if settings.kind == "slurm":
        return run_slurm(jobs, settings, study_dir / ".jobs")
    return run_local(jobs, settings)


def _finished_results(job: RunJob) -> dict[str, Any] | None:
    """The run's ``results.json`` if it holds results of this very config (then no worker is started)."""
    config = build_config(yaml.safe_load(job.config_yaml), source="study job")
    return finished_results(Path(job.run_dir), config_hash(config))


def describe(outcome: StudyOutcome) -> str:
    """One line per failed run (empty when every run finished)."""
    return "\n".join(f"{name}: {o.error} (after {o.attempts} attempt(s))" for name, o in outcome.failed.items())


__all__ = [
    "ENGINES",
    "JobOutcome",
    "RunJob",
    "StudyOutcome",
    "dependencies",
    "describe",
    "execute_job",
    "plan_jobs",
    "run_jobs",
    "trained_stage_ids",
    "waves",
]

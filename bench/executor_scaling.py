"""Figure 8: a study of 8 tiny runs on the local executor vs Ray with 2 workers, and the executor's overhead per run."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from common import base_parser, fmt, markdown_table, run_figure, tiny_bert_dir

from crossling.config import load_config
from crossling.pipelines.sweep import run_sweep
from crossling.utils.io import read_json
from crossling.utils.paths import crossling_home


def study(model: Path, out: Path, runs: int, engine: str, workers: int, steps: int, first_seed: int) -> Path:
    """A study of ``runs`` template-NLI runs (seeds ``first_seed`` ...) on the tiny BERT, written as YAML.

    Every timed study takes seeds no other study of the benchmark takes: a stage is identified by its
    content (seed included), not by where it runs, so a study that repeated another's seeds would find
    every stage in the stage cache and train nothing.
    """
    config = {
        "name": "scaling",
        "output_dir": str(out),
        "model": {"name_or_path": str(model)},
        "task": {
            "name": "tmpl-nli",
            "max_train_examples": 256,
            "max_eval_examples": 64,
            "eval_languages": ["en", "de"],
        },
        "training": {
            "epochs": 1,
            "max_steps": steps,
            "batch_size": 16,
            "checkpoint_every_steps": 0,
            "mixed_precision": "no",
        },
        "sweep": {"seed": list(range(first_seed, first_seed + runs))},
        "executor": {"kind": engine, "max_workers": workers, "cpus_per_run": 1, "max_retries": 0},
    }
    path = out / f"{engine}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def timed_study(path: Path) -> float:
    """Wall seconds of ``crossling run`` on the study (every run trained and evaluated)."""
    started = time.perf_counter()
    run_sweep(load_config(path), show_progress=False)
    return time.perf_counter() - started


def overhead(model: Path, root: Path, engine: str, repeats: int, steps: int) -> list[float]:
    """Seconds from handing a one-run study to the engine until its worker starts the run (engine already up)."""
    seconds = []
    for repeat in range(repeats):
        path = study(model, root / f"overhead-{engine}-{repeat}", 1, engine, 1, steps, 90_000 + repeat)
        submitted = time.time()
        run_sweep(load_config(path), show_progress=False)
        attempts = read_json(next((root / f"overhead-{engine}-{repeat}" / "scaling").glob("*/attempts.json")))
        seconds.append(attempts[0]["started"] - submitted)
    return seconds


def measure(args: Any) -> str:
    """Local vs Ray (2 workers) on the same 8-run study, interleaved; the section body."""
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # A fresh stage and feature cache for this invocation (set before Ray starts, so its workers share it).
        os.environ["CROSSLING_HOME"] = str(root / "home")
        model = tiny_bert_dir(crossling_home() / "bench-models")
        ray.init(num_cpus=args.workers, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
        try:
            # Untimed: fills the feature cache and warms the imports, so no timed study pays for them.
            timed_study(study(model, root / "warm-up", args.runs, "local", 1, args.steps, 50_000))
            walls: dict[str, list[float]] = {"local": [], "ray": []}
            for repeat in range(args.repeats):
                for offset, engine in enumerate(("local", "ray")):
                    workers = args.workers if engine == "ray" else 1
                    first_seed = 1_000 * repeat + 500 * offset + 1
                    path = study(model, root / f"{engine}-{repeat}", args.runs, engine, workers, args.steps, first_seed)
                    walls[engine].append(timed_study(path))
            ray_overhead = overhead(model, root, "ray", args.repeats, args.steps)
        finally:
            ray.shutdown()
    speedups = [local / remote for local, remote in zip(walls["local"], walls["ray"], strict=True)]
    table = markdown_table(
        ["executor", "study wall time, s", "s per run", "speed-up vs local", "submission -> start, s"],
        [
            [
                "local (one process, 2 torch threads)",
                fmt(walls["local"], 1),
                fmt([w / args.runs for w in walls["local"]], 2),
                "1.00",
                "0 (same process)",
            ],
            [
                f"ray, {args.workers} workers (1 CPU each)",
                fmt(walls["ray"], 1),
                fmt([w / args.runs for w in walls["ray"]], 2),
                fmt(speedups, 2),
                fmt(ray_overhead, 2),
            ],
        ],
    )
    return (
        f"A study of {args.runs} runs (template NLI, tiny BERT h128 l4, {args.steps} optimiser steps of 16 pairs, "
        "evaluation on 64 pairs in en and de, one run per seed), all stages trained from scratch in each repeat; "
        "local and Ray repeats interleaved, each study with seeds of its own and a fresh stage cache per invocation (a "
        "repeated seed would find its stages cached and train nothing), after an untimed warm-up study that fills the "
        "feature cache. Ray's local instance is started once before the timing "
        "(its start-up, ~10 s here, is paid once per study). Submission -> start: a one-run study handed to the "
        "running Ray instance until its worker begins `run_experiment` (worker process, imports, config "
        "validation). Tiny runs make the per-run overhead visible; for real runs (minutes to hours) it is "
        "negligible.\n\n" + table
    )


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 30; quick 6).")
    args = parser.parse_args()
    args.steps = args.steps or (6 if args.quick else 30)
    run_figure("executor-scaling", "Figure 8: study executors (local vs Ray)", measure, args)


if __name__ == "__main__":
    main()

"""Study cost: the plan's device-hour estimate for the full-size RQ studies, and how close it came on a study run here.

1. Calibration: ``crossling plan --calibrate``'s logic (``crossling.pipelines.plan.calibrate``) on
   multilingual-e5-small at the full studies' main shape (PAWS-X pairs, max length 128, batch 32,
   embeddings trained, evaluation batch 128), on this machine: seconds per optimiser step and per
   evaluated example, median of ``--repeats``.
2. The full-size RQ studies (examples/full/*.yaml), planned without their data from the packaged
   XTREME size table: stages, steps, test examples, and the device hours those figures give.
3. A measured small study: the demo's quick mode (``crossling demo --quick``: 3 systems x 3 seeds;
   with ``--quick``, one system x 2 seeds on 96 examples) in a fresh stage cache, planned and calibrated as ``crossling plan --calibrate`` would, then run;
   its measured training, evaluation and wall time beside the estimate (the ratio says how good
   the cost model is).

``render_section`` turns the recorded figures (a JSON-ready dict) into the BENCHMARKS.md section.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO, base_parser, markdown_table, model_dir, model_label, run_figure

FULL = REPO / "examples" / "full"
#: The calibration config: the CPU rq4 example's first run (PAWS-X carved from ../shared/data) at the full shape.
CALIBRATION_CONFIG = REPO / "examples" / "rq4-ensembles.yaml"
CALIBRATION_SET = ["training.batch_size=32", "model.freeze_embeddings=false", "evaluation.batch_size=128"]
#: The full studies are planned with the offline e5 tokenizer standing in for their hub encoders (no network
#: here): counts from the size table do not depend on it; it tokenizes rq3's generated image-text rows.
STAND_IN = "model.name_or_path=offline:multilingual-e5-small"
#: ``--quick``: the small study shrunk to one system (``last``) x 2 seeds on 96 training examples (harness check).
QUICK_SET = [
    "seeds=[13, 14]",
    "variants={last: {}}",
    "task.params={train_size: 96, dev_size: 32, test_size: 32}",
    "training.epochs=1",
]


def _model_set(quick: bool) -> list[str]:
    """The override that puts the figure's model (e5-small, or the tiny BERT with ``--quick``) into a config."""
    return [f"model.name_or_path={model_dir(True)}"] if quick else [STAND_IN]


def calibrate_here(repeats: int, quick: bool) -> dict[str, Any]:
    """Median seconds per step and per evaluated example of the figure's model at the calibration shape, here."""
    from crossling.config import load_config
    from crossling.pipelines.plan import calibrate
    from crossling.tasks.loading import task_languages

    overrides = CALIBRATION_SET + _model_set(quick)
    config = load_config(CALIBRATION_CONFIG, overrides, task_languages=task_languages)
    runs = []
    for repeat in range(repeats):
        print(f"  calibration {repeat + 1}/{repeats} ...", flush=True)
        runs.append(calibrate(config))
    return {
        "seconds_per_step": statistics.median(r.seconds_per_step for r in runs),
        "seconds_per_example": statistics.median(r.seconds_per_example for r in runs),
        "steps_runs": [round(r.seconds_per_step, 4) for r in runs],
        "example_runs": [round(r.seconds_per_example, 5) for r in runs],
        "device": runs[0].device,
    }


def plan_full_studies(calibration: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    """Totals and estimate of every examples/full/*.yaml, counted from the size table where its data is absent."""
    from crossling.config import load_config
    from crossling.config.loader import data_may_be_absent
    from crossling.pipelines.plan import plan_study
    from crossling.tasks.loading import task_languages

    rows = []
    for path in sorted(FULL.glob("*.yaml")):
        print(f"  planning {path.name} ...", flush=True)
        with data_may_be_absent():
            config = load_config(path, _model_set(quick), task_languages=task_languages)
        study = plan_study(config)
        study.seconds_per_step = calibration["seconds_per_step"]
        study.seconds_per_example = calibration["seconds_per_example"]
        study.device = calibration["device"]
        rows.append({"config": path.relative_to(REPO).as_posix(), "name": config.name, **study.totals()})
    return rows


def _fresh_home(root: Path) -> None:
    """Point CROSSLING_HOME at an empty directory sharing only the converted models (nothing cached)."""
    home = root / "home"
    home.mkdir()
    (home / "models").symlink_to(model_dir(False).parent, target_is_directory=True)
    os.environ["CROSSLING_HOME"] = str(home)


def _measured_timing(study_dir: Path) -> dict[str, float]:
    """Training and evaluation seconds summed over the runs' results.json (shared stages are trained once)."""
    from crossling.utils.io import read_json

    timings = [read_json(p).get("timing", {}) for p in sorted(study_dir.rglob("results.json"))]
    return {
        "train_seconds": sum(t.get("train_seconds", 0.0) for t in timings),
        "eval_seconds": sum(t.get("eval_seconds", 0.0) for t in timings),
        "runs": len(timings),
    }


def small_study(quick: bool) -> dict[str, Any]:
    """Plan, calibrate and run the demo's quick study in a fresh cache; its estimate beside what it took."""
    from crossling.pipelines.demo import demo_config
    from crossling.pipelines.plan import calibrate, plan_study
    from crossling.pipelines.study import run_study

    model_dir(False)  # converted once, outside the timed part
    previous = os.environ["CROSSLING_HOME"]
    with tempfile.TemporaryDirectory(prefix="crossling-cost-") as tmp:
        _fresh_home(Path(tmp))
        try:
            # The demo's own encoder (e5-small) even with --quick.
            config = demo_config(quick=True, output_dir=Path(tmp) / "runs", overrides=QUICK_SET if quick else None)
            started = time.perf_counter()
            plan = plan_study(config)
            plan_seconds = time.perf_counter() - started
            measured = calibrate(config)
            plan.seconds_per_step, plan.seconds_per_example = measured.seconds_per_step, measured.seconds_per_example
            plan.device = measured.device
            print("  running the small study ...", flush=True)
            started = time.perf_counter()
            run_study(config, show_progress=False)
            wall = time.perf_counter() - started
            timing = _measured_timing(Path(tmp) / "runs" / config.name)
        finally:
            os.environ["CROSSLING_HOME"] = previous
    label = "one system (`last`) x 2 seeds, 96 training examples" if quick else "3 systems x 3 seeds"
    return {
        "name": config.name,
        "label": label,
        "plan_seconds": plan_seconds,
        "wall_seconds": wall,
        **timing,
        **plan.totals(),
    }


def render_section(figures: dict[str, Any]) -> str:
    """The section's Markdown body from the recorded figures (``calibration``, ``full``, ``small``, ``model``)."""
    cal, small = figures["calibration"], figures["small"]
    head = (
        "study (config)",
        "runs",
        "stages",
        "optimiser steps",
        "test examples",
        "training h",
        "evaluation h",
        "total h",
    )
    rows = [
        (
            f"{r['name']} (`{r['config']}`)",
            r["runs"],
            r["stages"],
            f"{r['steps']:,}",
            f"{r['eval_examples']:,}",
            f"{r['estimated_training_hours']:,.1f}",
            f"{r['estimated_evaluation_hours']:,.1f}",
            f"{r['estimated_device_hours']:,.1f}",
        )
        for r in figures["full"]
    ]
    est_train = small["estimated_training_hours"] * 3600
    est_eval = small["estimated_evaluation_hours"] * 3600
    measured = (
        (
            "training",
            f"{est_train:.0f} s",
            f"{small['train_seconds']:.0f} s",
            _ratio(small["train_seconds"], est_train),
        ),
        ("evaluation", f"{est_eval:.0f} s", f"{small['eval_seconds']:.0f} s", _ratio(small["eval_seconds"], est_eval)),
        (
            "wall (whole study)",
            f"{est_train + est_eval:.0f} s",
            f"{small['wall_seconds']:.0f} s",
            _ratio(small["wall_seconds"], est_train + est_eval),
        ),
    )
    return "\n".join(
        [
            f"Model for the calibration: {figures['model']}. Calibration (`crossling plan --calibrate`'s logic, "
            f"{os.path.basename(CALIBRATION_CONFIG)} with `{' '.join(CALIBRATION_SET)}`: PAWS-X pairs, max length 128, "
            f"batch 32) on {cal['device']}: **{cal['seconds_per_step']:.3f} s per optimiser step** "
            f"({', '.join(map(str, cal['steps_runs']))}) and **{cal['seconds_per_example'] * 1000:.2f} ms per evaluated "
            f"example** ({', '.join(str(round(x * 1000, 2)) for x in cal['example_runs'])} ms).",
            "",
            "Full-size RQ studies, counted from the packaged XTREME size table (`src/crossling/tasks/xtreme_sizes.yaml`; "
            "the downloads are not on this machine), hours at the figures above, i.e. **on this CPU with the "
            "calibration model**, one figure for every stage: xlm-roberta-base and mBERT have about 4x e5-small's "
            "matmul weights per token (85M vs 21M; mT5-small's encoder about the same as e5-small), and QA stages "
            "(max length 384) take at least 3x a 128-token step, so read the hours as a lower bound for this machine. "
            "For a GPU: `crossling plan CONFIG --seconds-per-step S --seconds-per-example E --device NAME` with "
            "figures measured there (`crossling plan CONFIG --calibrate` on the GPU, with the data).",
            "",
            markdown_table(head, rows),
            "",
            f"Measured small study: `{small['name']}` (the `crossling demo --quick` study, {small['label']}, "
            f"multilingual-e5-small: {small['runs']} runs, "
            f"{small['stages']} stages, {small['steps']:,} steps, {small['eval_examples']:,} test examples), fresh stage "
            f"cache, planned ({small['plan_seconds']:.0f} s, features built) and calibrated on its own first stage "
            f"({small['seconds_per_step']:.3f} s/step, {small['seconds_per_example'] * 1000:.2f} ms/example), then run:",
            "",
            markdown_table(("time", "estimate", "measured", "measured / estimate"), measured),
            "",
            "Training and evaluation time are the runs' `results.json` timings summed; the wall time also holds "
            "model loading, dev scoring for model selection, checkpoints and reports, which the estimate leaves out.",
        ]
    )


def _ratio(measured: float, estimate: float) -> str:
    return f"{measured / estimate:.2f}" if estimate > 0 else "-"


def measure(args: argparse.Namespace) -> str:
    """Calibrate, plan the full studies, run the small study; the section body."""
    calibration = calibrate_here(args.repeats, args.quick)
    figures = {
        "model": model_label(args.quick),
        "calibration": calibration,
        "full": plan_full_studies(calibration, args.quick),
        "small": small_study(args.quick),
    }
    return render_section(figures)


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    args = parser.parse_args()
    run_figure("study-cost", "Study cost: estimated device hours of the full RQ studies", measure, args)


if __name__ == "__main__":
    main()

"""Run every benchmark figure in turn (``--quick``: tiny BERT, small data): records in bench/results, then BENCHMARKS.md.

``--device cuda`` runs every figure on the GPU (crossling, HF Trainer and the GEMM peaks alike).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The figure scripts, in the order of BENCHMARKS.md.
SCRIPTS = (
    "padding.py",
    "dlfa_overhead.py",
    "vs_hf_trainer.py",
    "eval_speed.py",
    "flops.py",
    "cache.py",
    "memory.py",
    "compile.py",
    "profile_eval.py",
    "executor_scaling.py",
    "pool_scaling.py",
)


def main() -> int:
    """Run the scripts (each in its own process); non-zero exit if any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Tiny BERT and small data (validates the harness).")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved repeats per figure (>= 3).")
    parser.add_argument("--only", default="", help="Comma-separated script names to run (default: all).")
    parser.add_argument("--no-write", action="store_true", help="Print the sections only.")
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="Where every figure runs (auto: GPU if any)."
    )
    args = parser.parse_args()
    chosen = [s for s in SCRIPTS if not args.only or s.removesuffix(".py") in args.only.split(",") or s in args.only]
    failed = []
    started = time.perf_counter()
    for script in chosen:
        command = [sys.executable, str(HERE / script), "--repeats", str(args.repeats), "--device", args.device]
        command += ["--quick"] if args.quick else []
        command += ["--no-write"] if args.no_write else []
        print(f"== {script} ({time.perf_counter() - started:.0f} s so far)", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(script)
    print(f"== done in {time.perf_counter() - started:.0f} s; failed: {', '.join(failed) or 'none'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

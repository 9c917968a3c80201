"""Figure 6: data preparation time of a second run (feature cache hit) versus the first (tokenize and write)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from common import (
    base_parser,
    fmt,
    interleaved,
    load_tokenizer,
    markdown_table,
    median,
    model_dir,
    model_label,
    ratios,
    run_figure,
    task_data,
)
from records import summary_row

TARGET = 0.10


def prepare(task: str, tokenizer: Any, home: Path, **kwargs: Any) -> float:
    """Seconds to get the training and evaluation features of ``task`` with CROSSLING_HOME = ``home``."""
    previous = os.environ["CROSSLING_HOME"]
    os.environ["CROSSLING_HOME"] = str(home)
    try:
        started = time.perf_counter()
        data = task_data(task, **kwargs)
        data.train_features(tokenizer)
        for language in data.eval_languages():
            data.features(language, data.config.eval_split, tokenizer)
        return time.perf_counter() - started
    finally:
        os.environ["CROSSLING_HOME"] = previous


def first_then_second(task: str, tokenizer: Any, **kwargs: Any) -> dict[str, float]:
    """In a fresh cache directory: the first preparation (miss), then the second (hit)."""
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as home:
        first = prepare(task, tokenizer, Path(home), **kwargs)
        second = prepare(task, tokenizer, Path(home), **kwargs)
    return {"first": first, "second": second}


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """First/second data preparation for UD-POS English and tmpl-nli (12 languages); the section body."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    cases = {
        f"udpos en train ({args.max_train} sentences) + test": ("udpos", {"max_train": args.max_train}),
        "tmpl-nli train 2000 + test 200 x 12 languages": (
            "tmpl-nli",
            {"params": {"train_size": 2000, "dev_size": 10, "test_size": 200}},
        ),
    }
    rows: list[list[str]] = []
    summary: list[dict[str, str]] = []
    for label, (task, kwargs) in cases.items():
        runs = interleaved(
            {"run": lambda task=task, kwargs=kwargs: first_then_second(task, tokenizer, **kwargs)}, args.repeats
        )["run"]
        first = [r["first"] for r in runs]
        second = [r["second"] for r in runs]
        share = ratios(second, first)
        summary.append(
            summary_row(
                f"6 feature cache, second run / first: {label}",
                f"<= {TARGET:.0%}",
                f"**{100 * median(share):.1f}%**; {median(second):.3f} vs {median(first):.2f} s",
                "met" if median(share) <= TARGET else "NOT met",
            )
        )
        rows.append(
            [
                label,
                fmt(first),
                fmt(second, 3),
                fmt([100 * s for s in share], 1) + " %",
                "met" if median(share) <= TARGET else "NOT met",
            ]
        )
    table = markdown_table(["data", "first run s", "second run s", "second / first (target <= 10%)", "target"], rows)
    body = (
        f"Tokenizer: {model_label(args.quick)}. Each repeat uses a fresh CROSSLING_HOME: the first preparation "
        "reads the records and tokenizes them into the Arrow cache (with checksums); the second, in a new "
        "TaskData, finds the cache (checksums verified) and memory-maps it. Timed: `TaskData` construction, "
        "`train_features` and the test features of every evaluation language.\n\n" + table
    )
    return body, summary


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument(
        "--max-train", type=int, default=None, help="UD-POS training sentences (default 12000; quick 3000)."
    )
    args = parser.parse_args()
    args.max_train = args.max_train or (3000 if args.quick else 12000)
    run_figure("cache", "Figure 6: feature cache, second run vs first", measure, args)


if __name__ == "__main__":
    main()

"""A/B timings of the training-loop changes of issue #15 item 2, interleaved in one process (A B, B A, ...).

Each comparison prints the per-pair ratios new / old and their median (below 1: the new way is
faster). Old ways are rebuilt here: per-row Arrow reads (a dataset without ``__getitems__``), a
finiteness check with a host sync per step, torch's dropout; "new" in the collation comparison is
the vectorised collation that was tried and not adopted. Not a BENCHMARKS.md figure: it prints
only (run it on an idle machine for numbers to publish).

    python bench/loop_ab.py --pairs 5 --threads 1
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from common import (
    crossling_train,
    interleaved,
    load_average,
    load_tokenizer,
    median,
    model_dir,
    setup_environment,
    task_data,
)


def _timed(fn: Callable[[], Any], inner: int) -> dict[str, float]:
    """Seconds per call of ``fn`` over ``inner`` calls."""
    started = time.perf_counter()
    for _ in range(inner):
        fn()
    return {"seconds": (time.perf_counter() - started) / inner}


def compare(label: str, old: Callable[[], dict[str, float]], new: Callable[[], dict[str, float]], pairs: int) -> None:
    """Run ``old`` and ``new`` interleaved ``pairs`` times each; print the seconds and the per-pair ratios new/old."""
    runs = interleaved({"old": old, "new": new}, pairs)
    olds, news = [r["seconds"] for r in runs["old"]], [r["seconds"] for r in runs["new"]]
    ratios = [n / o for n, o in zip(news, olds, strict=True)]
    print(
        f"RESULT {label}: old {median(olds) * 1e3:.3f} ms, new {median(news) * 1e3:.3f} ms, "
        f"new/old median {median(ratios):.3f} (pairs: {', '.join(f'{r:.3f}' for r in ratios)})",
        flush=True,
    )


def vectorised_collate(rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """The vectorised collation that was tried (flat rows): each column's tokens read into one flat array
    (``np.fromiter``) and scattered by a length mask; equal to ``PaddingCollator`` (asserted before timing)."""
    lengths = np.fromiter((len(row["input_ids"]) for row in rows), dtype=np.int64, count=len(rows))
    longest = -(-int(lengths.max()) // 8) * 8
    mask = np.arange(longest) < lengths[:, None]
    batch = {}
    for key in rows[0]:
        if key in ("length", "example_id", "word_ids", "offset_mapping", "example_index"):
            continue
        if key == "labels":
            batch[key] = torch.tensor([row[key] for row in rows], dtype=torch.long)
            continue
        flat = np.fromiter(itertools.chain.from_iterable(row[key] for row in rows), dtype=np.int64, count=mask.sum())
        padded = np.full((len(rows), longest), pad_id if key == "input_ids" else 0, dtype=np.int64)
        padded[mask] = flat
        batch[key] = torch.from_numpy(padded)
    return batch


class RowByRow:
    """A dataset without ``__getitems__``: ``read_rows`` falls back to one ``features[i]`` per row (the old reads)."""

    def __init__(self, features: Any) -> None:
        self.features = features

    def __getitem__(self, key: Any) -> Any:
        return self.features[key]

    def __len__(self) -> int:
        return len(self.features)


def bench_collation(features: Any, pad_id: int, pairs: int) -> None:
    """Collating XNLI batches of 32 rows: ``PaddingCollator`` (a numpy row assignment per sequence) against the
    vectorised variant (not adopted: it measured no faster)."""
    from crossling.data.batching import PaddingCollator, training_batches

    collator = PaddingCollator(pad_id)
    batches = [features.__getitems__(b) for b in training_batches(features["length"], 32, seed=0, epoch=0)][:40]
    for rows in batches:
        assert all(torch.equal(vectorised_collate(rows, pad_id)[k], v) for k, v in collator(rows).items())
    old = lambda: _timed(lambda: [collator(rows) for rows in batches], 10)  # noqa: E731
    new = lambda: _timed(lambda: [vectorised_collate(rows, pad_id) for rows in batches], 10)  # noqa: E731
    compare("collation of 40 XNLI batches of 32 (new: the vectorised variant)", old, new, pairs)


def bench_reads(features: Any, pad_id: int, pairs: int) -> None:
    """Evaluation input: reading and collating every batch of 64, per row against one read per batch."""
    from crossling.data.batching import PaddingCollator, evaluation_batches
    from crossling.evaluation.predict import read_rows

    collator, batches = PaddingCollator(pad_id), evaluation_batches(features["length"], 64)
    rows = RowByRow(features)
    old = lambda: _timed(lambda: [collator(read_rows(rows, b)) for b in batches], 3)  # noqa: E731
    new = lambda: _timed(lambda: [collator(read_rows(features, b)) for b in batches], 3)  # noqa: E731
    compare(f"evaluation reads + collation, {len(features)} rows in batches of 64", old, new, pairs)


def bench_predict(model: torch.nn.Module, features: Any, pad_id: int, pairs: int) -> None:
    """``predict_logits`` (bf16) over the test rows: per-row reads against one read per batch; outputs equal."""
    from crossling.data.batching import PaddingCollator
    from crossling.evaluation.predict import predict_logits

    def run(data: Any) -> list[np.ndarray]:
        return predict_logits(model, data, batch_size=64, collator=PaddingCollator(pad_id), mixed_precision="bf16")

    assert all(np.array_equal(a, b) for a, b in zip(run(RowByRow(features)), run(features), strict=True))
    compare(
        f"predict_logits, {len(features)} rows",
        lambda: _timed(lambda: run(RowByRow(features)), 1),
        lambda: _timed(lambda: run(features), 1),
        pairs,
    )


def bench_finite(pairs: int) -> None:
    """Per-step cost of the finiteness check: ``isfinite`` + a host read every step against ``FiniteWatch``."""
    from crossling.training.finite import FiniteWatch

    weights = torch.randn(256, 256, requires_grad=True)
    inputs = torch.randn(64, 256)

    def steps(check_each_step: bool) -> None:
        watch = FiniteWatch("bench", checkpoints=None)  # type: ignore[arg-type]
        for step in range(1, 65):
            loss = (inputs @ weights).square().mean()
            if check_each_step:
                if not torch.isfinite(loss):
                    raise RuntimeError("non-finite")
            else:
                watch.record("loss", loss, step, 1)
                if watch.due(step):
                    watch.check()

    compare(
        "64 small steps (64x256 @ 256x256 + loss) with the finiteness check",
        lambda: _timed(lambda: steps(True), 5),
        lambda: _timed(lambda: steps(False), 5),
        pairs,
    )


def bench_dropout(pairs: int) -> None:
    """One dropout forward + backward on a bf16 and an fp32 32 x 48 x 384 activation: nn.Dropout against FastDropout."""
    from crossling.training.dropout import FastDropout

    for dtype in (torch.bfloat16, torch.float32):
        x, grad = torch.randn(32, 48, 384, dtype=dtype), torch.randn(32, 48, 384, dtype=dtype)

        def run(module: torch.nn.Module, x: torch.Tensor = x, grad: torch.Tensor = grad) -> None:
            leaf = x.detach().requires_grad_()
            module(leaf).backward(grad)

        old, new = torch.nn.Dropout(0.1), FastDropout(0.1)
        compare(
            f"dropout p=0.1 forward+backward, {dtype}",
            lambda: _timed(lambda: run(old), 20),  # noqa: B023
            lambda: _timed(lambda: run(new), 20),  # noqa: B023
            pairs,
        )


def bench_attention(pairs: int) -> None:
    """One e5-sized attention (32 x 12 heads x 48 x 32, padded keys) forward + backward under bf16 autocast, dropout
    0.1: transformers' sdpa attention against ``fast_dropout_attention``."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from crossling.training.dropout_switch import fast_dropout_attention

    torch.manual_seed(0)
    q, k, v, grad = (torch.randn(32, 12, 48, 32, dtype=torch.bfloat16) for _ in range(4))
    mask = (torch.arange(48)[None, :] < torch.randint(20, 49, (32,))[:, None])[:, None, None, :]
    module = torch.nn.Module()

    def run(attention: Callable[..., Any]) -> None:
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = attention(module, *leaves, mask, dropout=0.1, scaling=32**-0.5)
        out.backward(grad.transpose(1, 2))

    compare(
        "attention with dropout 0.1 forward+backward (one layer)",
        lambda: _timed(lambda: run(sdpa_attention_forward), 5),
        lambda: _timed(lambda: run(fast_dropout_attention), 5),
        pairs,
    )


def bench_steps(data: Any, features: Any, tokenizer: Any, args: argparse.Namespace) -> None:
    """Steady-state seconds per optimiser step of ``train_stage`` (e5, XNLI, batch 32, bf16): dropout torch vs fast."""
    path = model_dir(False)

    def run(impl: str) -> dict[str, float]:
        summary = crossling_train(
            path, data, features, tokenizer, steps=args.steps, batch_size=32, precision="bf16", dropout_impl=impl
        )
        return {"seconds": summary["seconds_per_step"]}

    compare(
        f"train_stage step (steps 2..{args.steps - 1} of {args.steps})",
        lambda: run("torch"),
        lambda: run("fast"),
        args.pairs,
    )


def main() -> None:
    """Parse the options and run the comparisons asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="Interleaved A/B pairs per comparison (>= 5).")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine).")
    parser.add_argument("--steps", type=int, default=8, help="Optimiser steps per train_stage run.")
    parser.add_argument(
        "--only", nargs="*", default=["collation", "reads", "finite", "dropout", "attention", "predict", "steps"]
    )
    args = parser.parse_args()
    setup_environment()
    torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer(model_dir(False))
    data = task_data("xnli", max_train=2000)
    train, test = data.train_features(tokenizer), data.features("en", "test", tokenizer)
    pad = tokenizer.pad_token_id
    print(
        f"load average before: {load_average()}; threads {torch.get_num_threads()}; train rows {len(train)}, test rows {len(test)}",
        flush=True,
    )
    benches: dict[str, Callable[[], None]] = {
        "collation": lambda: bench_collation(train, pad, args.pairs),
        "reads": lambda: bench_reads(test, pad, args.pairs),
        "finite": lambda: bench_finite(args.pairs),
        "dropout": lambda: bench_dropout(args.pairs),
        "attention": lambda: bench_attention(args.pairs),
        "predict": lambda: bench_predict(_eval_model(data), test, pad, args.pairs),
        "steps": lambda: bench_steps(data, train, tokenizer, args),
    }
    for name in args.only:
        benches[name]()
    print(f"load average (1/5/15 min) after: {load_average()}", flush=True)


def _eval_model(data: Any) -> torch.nn.Module:
    """e5 with an untrained head for ``data``'s task (prediction speed does not depend on the weights)."""
    from crossling.config.schema import AggregationConfig, ModelConfig
    from crossling.models.model import build_model

    torch.manual_seed(0)
    return build_model(ModelConfig(name_or_path=str(model_dir(False))), AggregationConfig(), data.spec)


if __name__ == "__main__":
    main()

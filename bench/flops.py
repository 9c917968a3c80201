"""Figure 5: useful-FLOP utilisation of crossling's training against measured bf16 and fp32 GEMM peaks."""

from __future__ import annotations

import time
from typing import Any

import torch
from common import (
    base_parser,
    count_matmul_params,
    crossling_train,
    device,
    fmt,
    interleaved,
    load_tokenizer,
    markdown_table,
    median,
    model_dir,
    model_label,
    run_figure,
    synchronize,
    task_data,
)
from records import summary_row

TARGET = 0.5


def _matmul_seconds(a: torch.Tensor, b: torch.Tensor) -> float:
    """Seconds of one ``torch.matmul(a, b)``: CUDA events on a GPU (no host overhead), the wall clock on a CPU."""
    if a.device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(a, b)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000
    started = time.perf_counter()
    torch.matmul(a, b)
    return time.perf_counter() - started


def gemm_peak(dtype: torch.dtype, size: int, seconds: float = 3.0) -> float:
    """FLOP/s of ``torch.matmul`` on ``size`` x ``size`` matrices of ``dtype`` on the figure's device (best call)."""
    a = torch.randn(size, size, device=device()).to(dtype)
    b = torch.randn(size, size, device=device()).to(dtype)
    torch.matmul(a, b)
    synchronize()
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        best = min(best, _matmul_seconds(a, b))
    return 2 * size**3 / best


def useful_flops(run: dict[str, Any], matmul_params: int, layers: int, hidden: int) -> float:
    """``6 * P * tokens + 12 * L * H * sum(len^2)`` over real (non-padding) tokens of the timed steps."""
    return 6 * matmul_params * run["real_tokens"] + 12 * layers * hidden * run["sum_sq_len"]


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """GEMM peaks interleaved with training runs; the section body."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    probe = crossling_train(path, data, features, tokenizer, steps=3, batch_size=2, keep_model=True)["model"]
    params = count_matmul_params(probe)
    layers, hidden = probe.encoder.config.num_hidden_layers, probe.encoder.config.hidden_size
    runs = interleaved(
        {
            "train": lambda: crossling_train(
                path, data, features, tokenizer, steps=args.steps, batch_size=args.batch_size
            ),
            "gemm-bf16": lambda: {"flops": gemm_peak(torch.bfloat16, args.gemm_size)},
            "gemm-fp32": lambda: {"flops": gemm_peak(torch.float32, args.gemm_size)},
        },
        args.repeats,
    )
    achieved = [useful_flops(r, params, layers, hidden) / r["seconds"] for r in runs["train"]]
    bf16 = [r["flops"] for r in runs["gemm-bf16"]]
    fp32 = [r["flops"] for r in runs["gemm-fp32"]]
    util_bf16 = [a / p for a, p in zip(achieved, bf16, strict=True)]
    util_fp32 = [a / p for a, p in zip(achieved, fp32, strict=True)]
    g = 1e9
    table = markdown_table(
        [
            "useful GFLOP/s (training)",
            "bf16 GEMM peak GFLOP/s",
            "fp32 GEMM peak GFLOP/s",
            "utilisation vs bf16 peak",
            "utilisation vs fp32 peak",
            "target >= 50%",
        ],
        [
            [
                fmt([a / g for a in achieved], 1),
                fmt([x / g for x in bf16], 1),
                fmt([x / g for x in fp32], 1),
                fmt([100 * u for u in util_bf16], 1) + " %",
                fmt([100 * u for u in util_fp32], 1) + " %",
                "met" if median(util_bf16) >= TARGET else "NOT met (vs the bf16 peak the run computes in)",
            ]
        ],
    )
    run = runs["train"][0]
    row = summary_row(
        f"5 useful-FLOP utilisation of training, batch {args.batch_size}",
        f">= {TARGET:.0%}",
        f"**{100 * median(util_bf16):.1f}%** of the bf16 GEMM peak ({median(achieved) / g:.0f} of "
        f"{median(bf16) / g:.0f} GFLOP/s); {100 * median(util_fp32):.0f}% of the fp32 peak",
        "met" if median(util_bf16) >= TARGET else "NOT met (see the notes)",
    )
    body = (
        f"Model: {model_label(args.quick)}: P = {params / 1e6:.2f}M parameters in matmuls (every nn.Linear "
        f"weight: encoder and head; embeddings are lookups, not matmuls), L = {layers}, H = {hidden}. Training: "
        f"crossling's `train_stage`, XNLI English, batch {args.batch_size}, {args.steps} steps, precision "
        f"{run['precision']}, dynamic padding ({100 * run['padding_fraction']:.0f}% of the computed tokens are "
        "padding, not counted). Useful FLOPs of the timed steps = 6 * P * real_tokens + 12 * L * H * "
        "sum_i(len_i^2) (forward + backward of the matmuls, plus QK^T and AV on real lengths); utilisation = "
        f"useful FLOP/s / peak. Peaks: best `torch.matmul` of {args.gemm_size} x {args.gemm_size} matrices over "
        f"3 s ({'CUDA events' if device().type == 'cuda' else 'wall clock'}), same process and threads "
        f"({torch.get_num_threads()}).\n\n" + table
    )
    return body, [row]


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 10; quick 6).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--gemm-size", type=int, default=None, help="GEMM peak matrix size (CPU 2048, GPU 8192).")
    args = parser.parse_args()
    args.steps = args.steps or (6 if args.quick else 10)
    if args.gemm_size is None:  # resolved here, before the figure picks its device: from --device and torch
        gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        args.gemm_size = 8192 if gpu else 2048
    run_figure("flops", "Figure 5: useful-FLOP utilisation of training", measure, args)


if __name__ == "__main__":
    main()

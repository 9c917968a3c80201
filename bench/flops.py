"""Figure 5: useful-FLOP utilisation of crossling's training against measured bf16 and fp32 GEMM peaks."""

from __future__ import annotations

import time
from typing import Any

import torch
from common import (
    auto_precision,
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
    ratios,
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


#: The options measured besides crossling's default configuration (see ``option_configs``).
OPTION_HELP = (
    "the other dropout_impl, --option-batches, fp32 (precision no), and the model cast to bf16 once (no autocast)"
)


def option_configs(args: Any) -> dict[str, dict[str, Any]]:
    """The training configurations timed: crossling's default (batch ``--batch-size``) first, then the options.

    Both dropout implementations are named explicitly (``dropout-torch``, ``dropout-fast``); the other
    options use crossling's default ``training.dropout_impl``, whichever that is.
    """
    from crossling.config.schema import TrainingConfig

    default_dropout = TrainingConfig().dropout_impl
    base = {"dropout_impl": default_dropout, "batch_size": args.batch_size, "precision": "auto", "bf16_weights": False}
    configs = {"default": base}
    if args.no_options:
        return configs
    for impl in ("torch", "fast"):
        if impl != default_dropout:
            configs[f"dropout-{impl}"] = {**base, "dropout_impl": impl}
    for batch in args.option_batches:
        configs[f"batch-{batch}"] = {**base, "batch_size": batch}
    configs["fp32"] = {**base, "precision": "no"}
    configs["bf16-weights"] = {**base, "precision": "no", "bf16_weights": True}
    return configs


def train_option(path: Any, data: Any, features: Any, tokenizer: Any, config: dict[str, Any], steps: int) -> dict:
    """One timed training run of ``config``: the StepTimer's steady-state summary (no model, no epoch rates)."""
    run = crossling_train(
        path,
        data,
        features,
        tokenizer,
        steps=steps,
        batch_size=config["batch_size"],
        precision=config["precision"],
        dropout_impl=config["dropout_impl"],
        model_dtype=torch.bfloat16 if config["bf16_weights"] else None,
    )
    run.pop("epoch", None)
    return run


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """Every configuration warmed up once, then timed interleaved with the GEMM peaks; the section body and row."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    probe = crossling_train(path, data, features, tokenizer, steps=3, batch_size=2, keep_model=True)["model"]
    configs = option_configs(args)
    for key, config in configs.items():  # untimed: oneDNN builds its kernels for every shape on first use
        print(f"  warm-up: {key} ...", flush=True)
        train_option(path, data, features, tokenizer, config, args.steps)
    variants: dict[str, Any] = {
        key: (lambda c=config: train_option(path, data, features, tokenizer, c, args.steps))
        for key, config in configs.items()
    }
    variants["gemm-bf16"] = lambda: {"flops": gemm_peak(torch.bfloat16, args.gemm_size)}
    variants["gemm-fp32"] = lambda: {"flops": gemm_peak(torch.float32, args.gemm_size)}
    runs = interleaved(variants, args.repeats)
    raw = {
        "model": model_label(args.quick),
        "params": count_matmul_params(probe),
        "layers": probe.encoder.config.num_hidden_layers,
        "hidden": probe.encoder.config.hidden_size,
        "steps": args.steps,
        "gemm_size": args.gemm_size,
        "timing": "CUDA events" if device().type == "cuda" else "wall clock",
        "threads": torch.get_num_threads(),
        "auto_precision": auto_precision(path),
        "configs": configs,
        "runs": runs,
    }
    return render(raw)


def utilisation(raw: dict[str, Any], key: str) -> dict[str, list[float]]:
    """Per repeat: useful FLOP/s of ``key``'s runs, its share of the bf16 and fp32 peaks, and the padding-free bound.

    The padding-free bound assumes the padded tokens cost nothing: the same useful FLOPs in
    ``1 - padding share`` of the time (an upper bound of packing or unpadding).
    """
    runs = raw["runs"][key]
    achieved = [useful_flops(r, raw["params"], raw["layers"], raw["hidden"]) / r["seconds"] for r in runs]
    bf16 = ratios(achieved, [r["flops"] for r in raw["runs"]["gemm-bf16"]])
    return {
        "achieved": achieved,
        "bf16": bf16,
        "fp32": ratios(achieved, [r["flops"] for r in raw["runs"]["gemm-fp32"]]),
        "padfree": [u / (1 - r["padding_fraction"]) for u, r in zip(bf16, runs, strict=True)],
    }


def option_label(raw: dict[str, Any], key: str) -> str:
    """How the section names a configuration: dropout, batch and the precision it ran in."""
    config, used = raw["configs"][key], raw["runs"][key][0]["precision"]
    if config["bf16_weights"]:
        precision = "weights cast to bf16 once, no autocast (a bound, not shipped numerics)"
    elif config["precision"] == "auto":
        precision = f"mixed_precision auto (ran {used})"
    else:
        precision = "fp32 (mixed_precision no)"
    name = "default: " if key == "default" else ""
    return f"{name}dropout_impl {config['dropout_impl']}, batch {config['batch_size']}, {precision}"


def default_table(raw: dict[str, Any]) -> str:
    """The default configuration's utilisation against both peaks (the figure's first table)."""
    use, g = utilisation(raw, "default"), 1e9
    bf16, fp32 = ([r["flops"] for r in raw["runs"][f"gemm-{p}"]] for p in ("bf16", "fp32"))
    return markdown_table(
        [
            "useful GFLOP/s (training)",
            "bf16 GEMM peak GFLOP/s",
            "fp32 GEMM peak GFLOP/s",
            "utilisation vs bf16 peak",
            "utilisation vs fp32 peak",
            f"target >= {TARGET:.0%}",
        ],
        [
            [
                fmt([a / g for a in use["achieved"]], 1),
                fmt([x / g for x in bf16], 1),
                fmt([x / g for x in fp32], 1),
                fmt([100 * u for u in use["bf16"]], 1) + " %",
                fmt([100 * u for u in use["fp32"]], 1) + " %",
                "met" if median(use["bf16"]) >= TARGET else "NOT met (vs the bf16 peak the run computes in)",
            ]
        ],
    )


def options_table(raw: dict[str, Any]) -> str:
    """Every configuration's step time, throughput against the default, utilisation and padding-free bound."""
    default = [r["examples_per_s"] for r in raw["runs"]["default"]]
    rows = []
    for key in raw["configs"]:
        runs, use = raw["runs"][key], utilisation(raw, key)
        rows.append(
            [
                option_label(raw, key),
                fmt([r["seconds_per_step"] for r in runs], 3),
                fmt(ratios([r["examples_per_s"] for r in runs], default)),
                fmt([a / 1e9 for a in use["achieved"]], 1),
                fmt([100 * u for u in use["bf16"]], 1) + " %",
                fmt([100 * u for u in use["fp32"]], 1) + " %",
                f"{100 * median([r['padding_fraction'] for r in runs]):.0f}%",
                fmt([100 * u for u in use["padfree"]], 1) + " %",
            ]
        )
    headers = ["configuration", "s/step", "examples/s vs default", "useful GFLOP/s", "vs bf16 peak", "vs fp32 peak"]
    return markdown_table(headers + ["padding share", "padding-free bound vs bf16 peak"], rows)


def _best(raw: dict[str, Any], field: str, keys: list[str]) -> tuple[str, float]:
    """The configuration among ``keys`` with the highest median ``utilisation`` ``field``, and that median."""
    values = {key: median(utilisation(raw, key)[field]) for key in keys}
    key = max(values, key=values.__getitem__)
    return key, values[key]


def _precision_sentence(raw: dict[str, Any]) -> str:
    auto = raw["auto_precision"]
    text = f"`mixed_precision: auto` chose {auto['precision']} here ({auto['reason']})"
    if "fp32" not in raw["configs"] or auto["precision"] == "no":
        return text + "."
    speed = median(ratios(*([r["examples_per_s"] for r in raw["runs"][k]] for k in ("default", "fp32"))))
    verdict = "pays" if speed > 1 else "does not pay"
    return f"{text}; at the default's batch and dropout it runs {speed:.2f}x fp32's examples/s: the choice {verdict}."


def account(raw: dict[str, Any]) -> str:
    """The options' verdict: auto precision, the best shippable option, the bf16-weights bound and the ceiling."""
    configs = raw["configs"]
    shipped = [key for key in configs if not configs[key]["bf16_weights"]]
    best, value = _best(raw, "bf16", shipped)
    parts = [
        _precision_sentence(raw),
        f"Best measured option: {option_label(raw, best)}, {100 * value:.1f}% of the bf16 peak "
        f"(target {TARGET:.0%}: {'met' if value >= TARGET else 'NOT met'}).",
    ]
    if "bf16-weights" in configs:
        bound = median(utilisation(raw, "bf16-weights")["bf16"])
        parts.append(
            f"The model cast to bf16 once and trained without autocast reaches {100 * bound:.1f}%: the upper "
            "bound of keeping bf16 weight copies between steps instead of autocast's per-step casts. It is a "
            "bound, not an option crossling ships: pure-bf16 training keeps no fp32 master weights or optimizer "
            "state, so its numerics are not mixed precision's."
        )
    top, ceiling = _best(raw, "padfree", list(configs))
    reach = "within" if ceiling >= TARGET else "out of"
    parts.append(
        f"Ceiling: if the padded tokens cost nothing as well (packing or unpadding; not measured, computed from "
        f"each run's padding share), the best configuration ({option_label(raw, top)}) would reach "
        f"{100 * ceiling:.1f}% of the bf16 peak: the {TARGET:.0%} target is {reach} reach of the options measured."
    )
    return " ".join(parts)


def render(raw: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The section body and summary row from the raw measurements (default configuration, then the options)."""
    use, run, config = utilisation(raw, "default"), raw["runs"]["default"][0], raw["configs"]["default"]
    bf16, fp32 = ([r["flops"] for r in raw["runs"][f"gemm-{p}"]] for p in ("bf16", "fp32"))
    body = (
        f"Model: {raw['model']}: P = {raw['params'] / 1e6:.2f}M parameters in matmuls (every nn.Linear weight: "
        f"encoder and head; embeddings are lookups, not matmuls), L = {raw['layers']}, H = {raw['hidden']}. "
        f"Training: crossling's `train_stage`, XNLI English, {raw['steps']} steps per run, crossling's default "
        f"configuration: batch {config['batch_size']}, `dropout_impl: {config['dropout_impl']}`, precision "
        f"{run['precision']}, dynamic padding ({100 * run['padding_fraction']:.0f}% of the computed tokens are "
        "padding, not counted). Useful FLOPs of the timed steps = 6 * P * real_tokens + 12 * L * H * "
        "sum_i(len_i^2) (forward + backward of the matmuls, plus QK^T and AV on real lengths); utilisation = "
        f"useful FLOP/s / peak. Peaks: best `torch.matmul` of {raw['gemm_size']} x {raw['gemm_size']} matrices "
        f"over 3 s ({raw['timing']}), same process and threads ({raw['threads']}).\n\n" + default_table(raw)
    )
    if len(raw["configs"]) > 1:
        body += (
            "\n\nOptions on the same data (same seed, so the same batches in the same order at each batch size; "
            "every configuration warmed up once, then timed in the same interleaved repeats as the peaks):\n\n"
            + options_table(raw)
            + "\n\n"
            + account(raw)
        )
    measured = (
        f"**{100 * median(use['bf16']):.1f}%** of the bf16 GEMM peak ({median(use['achieved']) / 1e9:.0f} of "
        f"{median(bf16) / 1e9:.0f} GFLOP/s); {100 * median(use['fp32']):.0f}% of the fp32 peak"
    )
    if len(raw["configs"]) > 1:
        shipped = [key for key in raw["configs"] if not raw["configs"][key]["bf16_weights"]]
        best, value = _best(raw, "bf16", shipped)
        measured += f"; best option ({option_label(raw, best)}) {100 * value:.1f}%"
    row = summary_row(
        f"5 useful-FLOP utilisation of training, batch {config['batch_size']}, dropout_impl {config['dropout_impl']}",
        f">= {TARGET:.0%}",
        measured,
        "met" if median(use["bf16"]) >= TARGET else "NOT met (see the notes)",
    )
    return body, [row]


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 10; quick 6).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--gemm-size", type=int, default=None, help="GEMM peak matrix size (CPU 2048, GPU 8192).")
    parser.add_argument(
        "--option-batches",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[64, 128],
        help="Batch sizes timed besides --batch-size (comma-separated).",
    )
    parser.add_argument("--no-options", action="store_true", help=f"Time the default only, not {OPTION_HELP}.")
    args = parser.parse_args()
    args.steps = args.steps or (6 if args.quick else 10)
    if args.gemm_size is None:  # resolved here, before the figure picks its device: from --device and torch
        gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        args.gemm_size = 8192 if gpu else 2048
    run_figure("flops", "Figure 5: useful-FLOP utilisation of training", measure, args)


if __name__ == "__main__":
    main()

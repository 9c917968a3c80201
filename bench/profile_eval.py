"""Profile of crossling's zero-shot evaluation (figure 4's data): where its time goes, and the options measured."""

from __future__ import annotations

import contextlib
import copy
import statistics
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from unittest import mock

import numpy as np
import torch
from baselines import hf_model
from common import (
    StepTimer,
    auto_precision,
    base_parser,
    device,
    eval_model,
    eval_setup,
    interleaved,
    markdown_table,
    model_label,
    run_figure,
)
from eval_speed import TARGET, crossling_eval, eval_arguments, trainer_eval

#: Labels of the crossling steps that are not torch operators (``record_function`` ranges around them).
DATA_LABEL = "data: "
#: Operator name fragments -> the group they are reported under (first match wins); see ``group_of``.
GROUPS = (
    ("scaled_dot_product", "attention (SDPA)"),
    ("flash_attention", "attention (SDPA)"),
    ("aten::bmm", "attention (SDPA)"),
    ("softmax", "softmax"),
    ("addmm", "matmuls (linear layers)"),
    ("aten::mm", "matmuls (linear layers)"),
    ("aten::linear", "matmuls (linear layers)"),
    ("layer_norm", "layer norm"),
    ("gelu", "GELU"),
    ("copy_", "dtype casts and copies (autocast)"),
    ("to_copy", "dtype casts and copies (autocast)"),
    ("embedding", "embedding lookup"),
    ("index_select", "embedding lookup"),
)
MATMULS = "matmuls (linear layers)"
ATTENTION = "attention (SDPA)"
UNTRACED = "Python between operators (not traced)"
#: The options of the section, in its order: (key, mixed precision, weights in bf16, big batch, loop).
VARIANTS = (
    ("autocast", "bf16", False, False, "crossling"),
    ("fp32", "no", False, False, "crossling"),
    ("bf16_weights", "no", True, False, "crossling"),
    ("autocast_big", "bf16", False, True, "crossling"),
    ("trainer", "bf16", False, False, "trainer"),
)


def group_of(event: Any) -> str:
    """The reporting group of a profiler event: data loading if it runs inside a data range, else by its name."""
    node = event
    while node is not None:
        if node.name.startswith(DATA_LABEL):
            return "data loading and collation"
        node = node.cpu_parent
    for fragment, group in GROUPS:
        if fragment in event.name:
            return group
    return "other operators"


@contextlib.contextmanager
def labelled_data_steps(data: Any) -> Iterator[None]:
    """Wrap evaluation's data steps (cached features, Arrow row reads, collation) in profiler ranges.

    The wrappers call crossling's own functions unchanged; they only name the time they take.
    """
    import crossling.evaluation.predict as predict
    import crossling.pipelines.experiment as experiment

    read_rows, collator_for, features = predict.read_rows, experiment.collator_for, data.features

    def labelled(label: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with torch.profiler.record_function(DATA_LABEL + label):
                return function(*args, **kwargs)

        return call

    def labelled_collator_for(tokenizer: Any, spec: Any) -> Any:
        return labelled("collate", collator_for(tokenizer, spec))

    with (
        mock.patch.object(predict, "read_rows", labelled("read rows (Arrow)", read_rows)),
        mock.patch.object(experiment, "collator_for", labelled_collator_for),
        mock.patch.object(data, "features", labelled("cached features", features)),
    ):
        yield


def profile_evaluation(model: torch.nn.Module, setup: Any, batch_size: int, top: int) -> dict[str, Any]:
    """One bf16-autocast evaluation under torch.profiler: self CPU seconds per group, the wall time, top operators."""
    with (
        labelled_data_steps(setup.data),
        torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof,
    ):
        run = crossling_eval(model, setup.data, setup.tokenizer, batch_size, "bf16")
    groups: dict[str, float] = defaultdict(float)
    for event in prof.events():
        groups[group_of(event)] += event.self_cpu_time_total / 1e6
    traced = sum(groups.values())
    groups[UNTRACED] = max(0.0, run["seconds"] - traced)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)
    return {"wall_seconds": run["seconds"], "groups": dict(groups), "top_table": table}


def predictions_pass(model: torch.nn.Module, setup: Any, batch_size: int, precision: str) -> dict[str, Any]:
    """An untimed pass (also the variant's warm-up): every row's predicted class and the real/padded tokens."""
    from crossling.evaluation.predict import predict_logits
    from crossling.pipelines.stage_inputs import collator_for

    collator = collator_for(setup.tokenizer, setup.data.spec)
    timer = StepTimer().attach(model)
    try:
        logits = [
            predict_logits(model, f, batch_size=batch_size, collator=collator, mixed_precision=precision)
            for f in setup.features
        ]
    finally:
        timer.detach()
    return {
        "predictions": np.concatenate([np.stack(rows).argmax(-1) for rows in logits]),
        "real_tokens": sum(b[1] for b in timer.batches),
        "padded_tokens": sum(b[2] for b in timer.batches),
    }


def variant_runs(args: Any, setup: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Warm up and check every variant once (predictions, padding), then time them in interleaved repeats."""
    ours = eval_model(setup)
    bf16_model = copy.deepcopy(ours).to(torch.bfloat16)
    theirs = hf_model(setup.path, len(setup.data.spec.labels))
    checks, timed = {}, {}
    for key, precision, bf16_weights, big, loop in VARIANTS:
        model = bf16_model if bf16_weights else ours
        batch = args.big_batch if big else args.batch_size
        if loop == "trainer":
            trainer_eval(theirs, setup.data, setup.tokenizer, batch, precision)  # warm-up
            timed[key] = lambda b=batch, p=precision: trainer_eval(theirs, setup.data, setup.tokenizer, b, p)
            continue
        checks[key] = predictions_pass(model, setup, batch, precision)
        timed[key] = lambda m=model, b=batch, p=precision: crossling_eval(m, setup.data, setup.tokenizer, b, p)
    reference = checks["fp32"]["predictions"]
    agreement = {
        key: {
            "same_as_fp32": float((check.pop("predictions") == reference).mean()),
            "real_tokens": check["real_tokens"],
            "padded_tokens": check["padded_tokens"],
        }
        for key, check in checks.items()
    }
    profile = profile_evaluation(ours, setup, args.batch_size, args.top)
    return {"profile": profile, "checks": agreement}, interleaved(timed, args.repeats)


def measure(args: Any) -> dict[str, Any]:
    """Profile figure 4's evaluation and time its options; the raw record."""
    setup = eval_setup(args.quick, args.test_size)
    extra, runs = variant_runs(args, setup)
    return {
        "raw": {
            "quick": args.quick,
            "model": model_label(args.quick),
            "device": device().type,
            "test_size": setup.test_size,
            "languages": len(setup.features),
            "rows": setup.rows,
            "real_tokens": setup.real_tokens,
            "batch_size": args.batch_size,
            "big_batch": args.big_batch,
            "auto_precision": auto_precision(setup.path),
            "target": TARGET,
            **extra,
            "runs": runs,
        }
    }


# --- rendering (from the raw record, at every render of BENCHMARKS.md) ---------------------------------


def _cell(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({', '.join(f'{v:.{digits}f}' for v in values)})"


def _seconds(raw: dict[str, Any], key: str) -> list[float]:
    return [r["seconds"] for r in raw["runs"][key]]


def _per_repeat(numerator: list[float], denominator: list[float]) -> list[float]:
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def _padding(raw: dict[str, Any], key: str) -> float:
    check = raw["checks"][key]
    return 1 - check["real_tokens"] / check["padded_tokens"]


def variant_label(raw: dict[str, Any], key: str) -> str:
    """How the section names a variant (its precision, weights, batch size and loop)."""
    labels = {
        "autocast": f"crossling, bf16 autocast, batch {raw['batch_size']} (figure 4's setting)",
        "fp32": f"crossling, fp32 (no autocast), batch {raw['batch_size']}",
        "bf16_weights": f"crossling, weights cast to bf16 once (no autocast), batch {raw['batch_size']}",
        "autocast_big": f"crossling, bf16 autocast, batch {raw['big_batch']}",
        "trainer": f"Trainer.predict loop, bf16 autocast, batch {raw['batch_size']} (figure 4's baseline)",
    }
    return labels[key]


def ceilings(raw: dict[str, Any]) -> dict[str, float]:
    """The numbers the section's account rests on, all from the record.

    ``now``: Trainer seconds / crossling seconds (median of per-repeat ratios); ``matmul_share``:
    the matmul group's share of the profiled wall time; ``ceiling``: the speed-up over the Trainer
    loop if everything but the matmuls took no time; ``compute_ceiling``: the same keeping attention; ``padfree_ceiling``: the same with the padded
    tokens' matmul time removed too; ``need_seconds``: crossling's time at the target speed-up;
    ``rest_now``/``rest_needed``: the non-matmul seconds now and at the target (negative: out of reach).
    """
    profile = raw["profile"]
    default = statistics.median(_seconds(raw, "autocast"))
    now = statistics.median(_per_repeat(_seconds(raw, "trainer"), _seconds(raw, "autocast")))
    share = profile["groups"].get(MATMULS, 0.0) / profile["wall_seconds"]
    compute = share + profile["groups"].get(ATTENTION, 0.0) / profile["wall_seconds"]
    need = default * now / raw["target"]
    return {
        "now": now,
        "default_seconds": default,
        "matmul_share": share,
        "ceiling": now / share if share else float("inf"),
        "compute_share": compute,
        "compute_ceiling": now / compute if compute else float("inf"),
        "padfree_ceiling": now / (share * (1 - _padding(raw, "autocast"))) if share else float("inf"),
        "need_seconds": need,
        "rest_now": default * (1 - share),
        "rest_needed": need - default * share,
    }


def groups_table(raw: dict[str, Any]) -> str:
    """Seconds and shares of the profiled evaluation, by group (largest first)."""
    profile = raw["profile"]
    wall = profile["wall_seconds"]
    ordered = sorted(profile["groups"].items(), key=lambda item: -item[1])
    return markdown_table(
        ["group", "self CPU s", "share of the profiled wall time"],
        [[group, f"{seconds:.3f}", f"{100 * seconds / wall:.1f}%"] for group, seconds in ordered],
    )


def options_table(raw: dict[str, Any]) -> str:
    """Every variant's seconds, speed-ups (against figure 4's setting and the Trainer loop), padding and predictions."""
    default, trainer = _seconds(raw, "autocast"), _seconds(raw, "trainer")
    rows = []
    for key, *_ in VARIANTS:
        seconds = _seconds(raw, key)
        check = raw["checks"].get(key)
        rows.append(
            [
                variant_label(raw, key),
                _cell(seconds),
                _cell(_per_repeat(default, seconds)),
                _cell(_per_repeat(trainer, seconds)),
                f"{100 * _padding(raw, key):.1f}%" if check else "",
                f"{100 * check['same_as_fp32']:.1f}%" if check else "",
                f"{raw['runs'][key][0]['accuracy']:.3f}",
            ]
        )
    return markdown_table(
        [
            "variant",
            "seconds",
            "speed-up vs figure 4's setting",
            "speed-up vs the Trainer loop",
            "padding share of computed tokens",
            "rows with fp32's predicted class",
            "mean accuracy (untrained head)",
        ],
        rows,
    )


def account(raw: dict[str, Any]) -> str:
    """What the profile says a speed-up of ``target`` over the Trainer loop would need."""
    c = ceilings(raw)
    target = raw["target"]
    reach = "within" if c["ceiling"] >= target else "out of"
    rest = (
        f"the rest would have to shrink from {c['rest_now']:.2f} s to {c['rest_needed']:.2f} s "
        f"({100 * c['rest_needed'] / c['rest_now']:.0f}% of it)"
        if c["rest_needed"] > 0
        else "even with everything but the matmuls free it would not be enough: the matmuls themselves "
        "(fewer padded tokens, faster kernels) would have to get faster"
    )
    return (
        f"What {target}x needs: crossling's evaluation is {c['now']:.2f}x the Trainer loop here "
        f"({c['default_seconds']:.2f} s). The matmuls (linear layers) are {100 * c['matmul_share']:.1f}% of "
        f"the profiled time, so even with everything else free the ceiling is {c['ceiling']:.2f}x the Trainer "
        f"loop ({reach} reach of {target}x); {c['compute_ceiling']:.2f}x if attention keeps its time too "
        f"(matmuls and attention {100 * c['compute_share']:.1f}%), and {c['padfree_ceiling']:.2f}x with "
        "the matmuls alone if the padded tokens "
        f"({100 * _padding(raw, 'autocast'):.1f}% of those computed) cost nothing as well. {target}x needs "
        f"{c['need_seconds']:.2f} s: the matmuls take about {c['default_seconds'] * c['matmul_share']:.2f} s "
        f"of today's time (their profiled share), so {rest}."
    )


def best_option(raw: dict[str, Any]) -> tuple[str, float]:
    """The fastest crossling variant and its speed-up over the Trainer loop (median of per-repeat ratios)."""
    trainer = _seconds(raw, "trainer")
    speedups = {
        key: statistics.median(_per_repeat(trainer, _seconds(raw, key))) for key, *_ in VARIANTS if key != "trainer"
    }
    key = max(speedups, key=speedups.__getitem__)
    return key, speedups[key]


def batches_note(raw: dict[str, Any]) -> str:
    """How many batches each language makes at both batch sizes (evaluation batches never span languages)."""
    per_language = raw["rows"] // raw["languages"]
    small, big = (-(-per_language // size) for size in (raw["batch_size"], raw["big_batch"]))
    same = (
        f" (the same batches: batch {raw['big_batch']} only differs for languages with more than "
        f"{raw['batch_size']} rows)"
        if small == big
        else ""
    )
    return (
        f"Evaluation batches never span languages: with {per_language} rows per language, batch "
        f"{raw['batch_size']} makes {small} batch(es) per language and batch {raw['big_batch']} {big}{same}."
    )


def render(raw: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The section body and summary row of a raw evaluation-profile record."""
    from records import summary_row

    c = ceilings(raw)
    profile, auto = raw["profile"], raw["auto_precision"]
    best, best_speedup = best_option(raw)
    weights = raw["checks"]["bf16_weights"]["same_as_fp32"]
    autocast = raw["checks"]["autocast"]["same_as_fp32"]
    loads = [r["load"].split()[0] for runs in raw["runs"].values() for r in runs]
    intro = (
        f"Model: {raw['model']} with an untrained 3-way head, on {raw['device']}; figure 4's data: tmpl-nli test "
        f"split, {raw['test_size']} pairs in each of {raw['languages']} languages ({raw['rows']} rows, "
        f"{raw['real_tokens']} real tokens, features cached beforehand), crossling's `evaluate_languages`. "
        f"`mixed_precision: auto` chooses {auto['precision']} here ({auto['reason']}). Profile: one bf16-autocast "
        f"evaluation at batch {raw['batch_size']} under torch.profiler ({profile['wall_seconds']:.2f} s, against "
        f"{c['default_seconds']:.2f} s unprofiled), self CPU time of every operator grouped; the data steps "
        "(cached features, Arrow row reads, collation) are named with `record_function` ranges, and the wall "
        "time no operator accounts for is the Python between them."
        + (
            " On a GPU these are host (CPU) times of the operators' dispatch, not their kernels' times."
            if raw["device"] == "cuda"
            else ""
        )
    )
    options = (
        f"Options, each warmed up once, then timed in interleaved repeats (1-minute load before them: "
        f"{min(loads)}-{max(loads)}); predicted classes compared with fp32's over all {raw['rows']} rows. "
        + batches_note(raw)
    )
    closing = (
        f"Casting the weights to bf16 once removes autocast's per-batch weight casts (an upper bound of keeping "
        f"bf16 weight copies): {100 * weights:.1f}% of its rows get fp32's predicted class, against "
        f"{100 * autocast:.1f}% under autocast. Fastest crossling variant: {variant_label(raw, best)}, "
        f"{best_speedup:.2f}x the Trainer loop (target {raw['target']}x)."
    )
    body = "\n\n".join(
        [intro, groups_table(raw), account(raw), options, options_table(raw), closing]
        + ["Top operators (the profiled evaluation):", "```\n" + profile["top_table"].rstrip() + "\n```"]
    )
    within = c["ceiling"] >= raw["target"]
    row = summary_row(
        f"4 profile of evaluation: ceiling vs the Trainer.predict loop if all but the matmuls were free "
        f"(batch {raw['batch_size']}, bf16)",
        f">= {raw['target']}x (figure 4)",
        f"**{c['ceiling']:.2f}x** ceiling (matmuls {100 * c['matmul_share']:.0f}% of the time); best measured "
        f"option {best_speedup:.2f}x",
        f"{raw['target']}x " + ("within the ceiling" if within else "out of reach without faster matmuls"),
    )
    return body, [row]


def main() -> None:
    """Parse the options, profile and time, write the record and re-render BENCHMARKS.md."""
    parser = base_parser(__doc__)
    parser.add_argument("--big-batch", type=int, default=256, help="The larger batch size measured.")
    parser.add_argument("--top", type=int, default=15, help="Operators listed.")
    args = eval_arguments(parser)
    run_figure("eval-profile", "Profile of crossling's zero-shot evaluation (figure 4)", measure, args)


if __name__ == "__main__":
    main()

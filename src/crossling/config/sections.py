"""Config sections every stage has: its task and its training, and the field helpers of every section."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from crossling.config.selection import SELECTION_HELP, TRAIN_LANGUAGES_HELP
from crossling.errors import ConfigError

#: A language code as it may appear in file and directory names: ISO 639 (``en``, ``yue``), then
#: optional subtags (``zh-Hant``, ``de-en`` for an MLQA context-question pair). Nothing that could
#: climb out of a directory (``/``, ``..``) matches.
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")

#: A run or variant name (a directory under ``output_dir``): word characters and ``. , = + -``,
#: not starting with a dot, so never ``.``, ``..``, a hidden name or a path.
RUN_NAME = re.compile(r"^\w[\w.,=+-]*$")


def check_language_codes(key: str, codes: tuple[str, ...]) -> None:
    """``ConfigError`` naming ``key`` if any of ``codes`` is not a well-formed language code."""
    for code in codes:
        if not isinstance(code, str) or not LANGUAGE_CODE.fullmatch(code):
            raise ConfigError(f"{key}: expected language codes like 'en', 'zh-Hant' or 'de-en', got {code!r}")


def check_run_name(key: str, name: str) -> None:
    """``ConfigError`` naming ``key`` unless ``name`` is a plain directory name (no path, not ``..``)."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise ConfigError(
            f"{key}: expected a plain name of letters, digits and . , = + - _ (not starting with '.'), got {name!r}"
        )


def help_field(text: str, **kwargs: Any) -> Any:
    """A dataclass field whose ``help`` metadata documents the option (CLI help and docs read it)."""
    return field(metadata={"help": text}, **kwargs)


_help = help_field


@dataclass(frozen=True)
class TaskConfig:
    """Which task, from which source, in which languages.

    Args:
        name: Registered task name (see `crossling tasks`).
        source: Data source of the task (``hub``, ``local``, ``generated``); default: the task's own default.
        data_dir: Directory of local files (required for ``local``).
        train_languages: Languages whose train split is used, or a URIEL rule (``crossling.config.selection``).
        train_language_selection: Written when a rule chose ``train_languages``: the rule and the URIEL distances.
        eval_languages: Languages evaluated zero-shot; empty means all languages of the task.
        extra_languages: Languages the task does not declare that you still want to use (local
            data in another language); any other undeclared language is an error.
        benchmark: Language set when ``eval_languages`` is empty.
        eval_split: Split scored for every language.
        dev_split: Split of the first train language used for model selection.
        max_length: Maximum sequence length in sub-tokens; default: the task's.
        max_train_examples: Cap on training examples (per language).
        max_eval_examples: Cap on evaluation examples (per language).
        skip_bad_lines: Skip malformed lines and report how many, instead of failing.
        params: Source-specific parameters (e.g. sizes of the template benchmark).
        subword_labels: Tagging tasks: which sub-tokens of a word carry its label: the first that is not
            SentencePiece's bare ``▁`` (default), the first (XTREME's scripts), or all (read at the first).
        carve: ``{from: dev|test, train: N, dev: D}``: one split read as train, dev, test (``crossling.data.carved``);
            ``disjoint: true`` gives each training language its own block of N examples.
    """

    name: str = _help("Registered task name (see `crossling tasks`).", default="tmpl-nli")
    source: str | None = _help("Data source: hub, local or generated. Default: the task's default.", default=None)
    data_dir: Path | None = _help(
        "Directory with local files (XTREME layout {split}-{lang}.tsv, raw TSVs).", default=None
    )
    train_languages: tuple[str, ...] = _help(TRAIN_LANGUAGES_HELP, default=("en",))
    train_language_selection: dict[str, Any] = _help(SELECTION_HELP, default_factory=dict)
    eval_languages: tuple[str, ...] = _help("Languages to evaluate zero-shot; empty = all of the task's.", default=())
    extra_languages: tuple[str, ...] = _help(
        "Languages the task does not declare, accepted anyway (for local data in other languages).", default=()
    )
    benchmark: Literal["xtreme", "xtreme-r"] = _help(
        "Language set used when eval_languages is empty.", default="xtreme"
    )
    eval_split: Literal["test", "dev"] = _help("Split scored in every language.", default="test")
    dev_split: Literal["dev", "test", "none"] = _help(
        "Split of the first train language used to select the checkpoint ('none': keep the last).", default="dev"
    )
    max_length: int | None = _help("Maximum sequence length in sub-tokens (default: the task's).", default=None)
    max_train_examples: int | None = _help("Use at most this many training examples per language.", default=None)
    max_eval_examples: int | None = _help("Evaluate on at most this many examples per language.", default=None)
    skip_bad_lines: bool = _help("Skip malformed lines in data files (their number is reported).", default=False)
    params: dict[str, Any] = _help(
        "Source-specific parameters, e.g. {train_size: 2000} for the template benchmark.", default_factory=dict
    )
    subword_labels: Literal["first_content", "first", "all"] = _help(
        "Tagging: label a word's first non-'▁' sub-token (first_content), its first sub-token as XTREME does "
        "(first), or all its sub-tokens (all).",
        default="first_content",
    )
    carve: dict[str, Any] = _help(
        "{from: dev|test, train: N, dev: D}: read each language's `from` split as train (first N), dev (next D), "
        "test (the rest), for data translated example by example with one split only (XNLI, PAWS-X, XQuAD). "
        "`disjoint: true`: the i-th training language trains on the i-th block of N (no meaning in two languages).",
        default_factory=dict,
    )

    def __post_init__(self) -> None:
        counts = [self.carve.get(k) for k in ("train", "dev")]
        keys = set(self.carve) - {"disjoint"}
        valid = keys == {"from", "train", "dev"} and self.carve["from"] in ("dev", "test")
        valid = valid and isinstance(self.carve.get("disjoint", False), bool)
        if self.carve and not (valid and all(isinstance(n, int) and n >= 1 for n in counts)):
            raise ConfigError(
                f"task.carve: expected {{from: dev|test, train: N >= 1, dev: D >= 1[, disjoint: true]}}, got {self.carve}"
            )
        if not self.train_languages:
            raise ConfigError("task.train_languages: at least one training language is required")
        for key in ("train_languages", "eval_languages", "extra_languages"):
            check_language_codes(f"task.{key}", getattr(self, key))
        if self.max_length is not None and self.max_length < 8:
            raise ConfigError(f"task.max_length: expected >= 8, got {self.max_length}")
        for key in ("max_train_examples", "max_eval_examples"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"task.{key}: expected a positive integer, got {value}")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation and checkpointing of one fine-tuning stage.

    Args:
        epochs: Passes over the training data.
        max_steps: Stop after this many optimiser steps (overrides epochs when set).
        learning_rate: Peak AdamW learning rate.
        batch_size: Examples per forward pass.
        gradient_accumulation_steps: Forward passes per optimiser step (effective batch = product).
        weight_decay: AdamW weight decay (not applied to biases and norms).
        warmup_ratio: Fraction of steps with linear warm-up, then linear decay to 0.
        max_grad_norm: Gradient clipping norm (0 disables it).
        mixed_precision: ``auto`` uses bf16 autocast on a GPU that supports it (else fp16), and on a CPU
            with native bf16 instructions (AMX, AVX512-BF16, Arm BF16) or where a short cached probe
            measured bf16 matmuls faster than fp32; else fp32. The manifest records the choice and why.
        group_by_length: Batch examples of similar length (dynamic padding wastes less).
        checkpoint_every_steps: Save a resumable checkpoint every N optimiser steps (0: only at epoch ends).
        checkpoint_every_minutes: Also save one when this many minutes have passed since the last one
            (0: off). With both set, whichever comes first; every checkpoint restarts the minutes
            clock. On a fast GPU this bounds the time spent writing large checkpoints without
            guessing a step count.
        select_best: Keep the checkpoint that scores best on the dev split (else the last one).
        active_vocabulary: Give the word-embedding table gradients and AdamW state only for the rows of
            token ids in the training data. The other rows' gradients are zero at every step, so AdamW
            only decays them; that decay is applied exactly, and the trained model equals dense
            training up to float rounding, at a fraction of the time and memory for large vocabularies.
        compile: Compile the training forward/backward with torch.compile (dynamic shapes).
        dropout_impl: The dropout of the model's ``nn.Dropout`` modules while it trains: ``torch`` (``nn.Dropout``,
            the default) or ``fast`` (``crossling.training.dropout.FastDropout``: masks from 16 random bits per
            bf16 element and one multiply instead of a ``bernoulli_`` draw per element, several times cheaper
            on CPU), also on the attention probabilities of encoders using ``sdpa`` attention (torch's math
            kernel's float32 computation with that dropout, ``crossling.training.dropout_switch``). ``fast``
            draws another random stream than torch's, so its weights differ from a ``torch`` run of the same
            seed (exact and resumable for itself). On a GPU, torch's fused dropout kernels stay in use.
    """

    epochs: int = _help("Passes over the training data.", default=3)
    max_steps: int | None = _help("Stop after this many optimiser steps (overrides epochs).", default=None)
    learning_rate: float = _help("Peak AdamW learning rate.", default=2e-5)
    batch_size: int = _help("Examples per forward pass.", default=32)
    gradient_accumulation_steps: int = _help("Forward passes per optimiser step.", default=1)
    weight_decay: float = _help("AdamW weight decay (biases and norms excluded).", default=0.01)
    warmup_ratio: float = _help("Fraction of optimiser steps of linear warm-up.", default=0.1)
    max_grad_norm: float = _help("Gradient clipping max norm; 0 disables clipping.", default=1.0)
    mixed_precision: Literal["auto", "bf16", "fp16", "no"] = _help(
        "Mixed precision: auto = bf16 on a bf16 GPU (else fp16) or a CPU with native bf16 (AMX/AVX512-BF16) "
        "or a measured bf16 speed-up, else fp32 (the manifest says which and why).",
        default="auto",
    )
    group_by_length: bool = _help("Group examples of similar length into batches (dynamic padding).", default=True)
    checkpoint_every_steps: int = _help(
        "Save a resumable checkpoint every N optimiser steps (0: epoch ends only).", default=200
    )
    checkpoint_every_minutes: float = _help(
        "Also save a resumable checkpoint when this many minutes have passed since the last one (0: off; "
        "with checkpoint_every_steps, whichever comes first).",
        default=0.0,
    )
    select_best: bool = _help("Keep the checkpoint best on the dev split, not the last one.", default=True)
    active_vocabulary: bool = _help(
        "Train only the embedding rows of token ids in the training data (same result as dense AdamW, "
        "less time and memory).",
        default=True,
    )
    compile: bool = _help("Compile the training forward/backward with torch.compile (dynamic shapes).", default=False)
    dropout_impl: Literal["torch", "fast"] = _help(
        "Dropout while training: torch (nn.Dropout) or fast (16 random bits per bf16 element, one multiply, also on "
        "sdpa attention probabilities; cheaper on CPU, another random stream than torch's).",
        default="torch",
    )

    def __post_init__(self) -> None:
        positive = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"training.{key}: expected an integer >= 1, got {value}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"training.max_steps: expected an integer >= 1, got {self.max_steps}")
        if not self.learning_rate > 0:
            raise ConfigError(f"training.learning_rate: expected > 0, got {self.learning_rate}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"training.warmup_ratio: expected a value in [0, 1), got {self.warmup_ratio}")
        if self.max_grad_norm < 0 or self.weight_decay < 0 or self.checkpoint_every_steps < 0:
            raise ConfigError("training.max_grad_norm, weight_decay and checkpoint_every_steps must be >= 0")
        if not self.checkpoint_every_minutes >= 0:  # also refuses NaN
            raise ConfigError(
                f"training.checkpoint_every_minutes: expected minutes >= 0 (0: off), got {self.checkpoint_every_minutes}"
            )

"""One fine-tuning stage on accelerate: AdamW + linear schedule, accumulation, bf16, checkpoints, resume."""

from __future__ import annotations

import contextlib
import logging
import math
import random
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DistributedDataParallelKwargs, send_to_device
from transformers import get_linear_schedule_with_warmup

from crossling.config.schema import TrainingConfig
from crossling.errors import TrainingError
from crossling.training.active_vocabulary import ActiveRowsEmbedding, active_vocabulary
from crossling.training.batches import LOSS_WEIGHT, Shard, as_batches
from crossling.training.checkpoint import (
    CheckpointSchedule,
    TrainState,
    latest_valid_checkpoint,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
    save_model_weights,
)
from crossling.training.dropout_switch import dropout_implementation
from crossling.training.finite import FiniteWatch
from crossling.training.tracking import Tracking
from crossling.utils.distributed import process_count
from crossling.utils.io import atomic_write_json, read_json
from crossling.utils.precision import hidden_size_of, resolve_mixed_precision

logger = logging.getLogger(__name__)

DevScorer = Callable[[torch.nn.Module], float]


@dataclass
class StageResult:
    """What a finished training stage reports (also written to ``stage.json``).

    Args:
        global_steps: Optimiser steps done.
        epochs: Epochs started.
        selected_step: Step whose weights were kept.
        selection: ``best-dev`` or ``last``.
        best_dev: Dev score of the kept weights (``None`` without a dev split).
        dev_history: ``[step, epoch, score]`` per dev evaluation.
        train_examples: Number of training examples.
        train_seconds: Wall time spent in optimisation (this process; resumed runs add up).
        mixed_precision: The precision actually used.
    """

    global_steps: int
    epochs: int
    selected_step: int
    selection: str
    best_dev: float | None
    dev_history: list[list[float]]
    train_examples: int
    train_seconds: float
    mixed_precision: str


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def make_accelerator(mixed_precision: str, hidden_size: int = 768, tracking: Tracking | None = None) -> Accelerator:
    """A fresh Accelerator (its process-wide state is reset so stages may differ in precision), with trackers if given.

    ``auto`` is resolved by :func:`crossling.utils.precision.choose_precision` at ``hidden_size``.
    Launched on several processes, the model it prepares is wrapped in DDP with
    ``find_unused_parameters``: a mixture's batch uses one head, the other heads get no gradient
    (torch warns once that a single-task model has none unused; the check costs a graph traversal per step).
    """
    AcceleratorState._reset_state()
    ddp = [DistributedDataParallelKwargs(find_unused_parameters=True)] if process_count() > 1 else []
    return Accelerator(
        mixed_precision=resolve_mixed_precision(mixed_precision, hidden_size),
        **({"kwargs_handlers": ddp} if ddp else {}),
        **(tracking.accelerator_kwargs() if tracking else {}),
    )


def batch_sharding(accelerator: Accelerator) -> tuple[Shard | None, Callable[[Any], Any]]:
    """How this process reads training batches: no shard and accelerate's ``prepare`` in a single process;
    on several, its ``Shard`` of every global batch, moved to its device (accelerate's own sharding of a
    data loader would hand out whole batches, changing the global batch and the data order)."""
    if accelerator.num_processes == 1:
        return None, accelerator.prepare

    def to_device(loader: Any) -> Iterator[Any]:
        return (send_to_device(batch, accelerator.device) for batch in loader)

    return Shard(accelerator.process_index, accelerator.num_processes), to_device


def parameter_groups(
    model: torch.nn.Module, weight_decay: float, learning_rate: float, lr_multipliers: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """AdamW groups: decay / no decay, each split by learning rate.

    Biases and normalisation weights get no decay (BERT's recipe). A trainable parameter
    whose name starts with a key of ``lr_multipliers`` trains at ``learning_rate`` times its
    value; the others at ``learning_rate``. Empty groups are left out.
    """
    multipliers = {prefix: m for prefix, m in (lr_multipliers or {}).items() if m != 1.0}
    groups: dict[tuple[float, bool], list[torch.nn.Parameter]] = {(1.0, True): [], (1.0, False): []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        multiplier = next((m for prefix, m in multipliers.items() if name.startswith(prefix)), 1.0)
        decays = not (param.ndim < 2 or "norm" in name.lower())
        groups.setdefault((multiplier, decays), []).append(param)
    return [
        {"params": params, "weight_decay": weight_decay if decays else 0.0, "lr": learning_rate * multiplier}
        for (multiplier, decays), params in groups.items()
        if params
    ]


def build_optimizer(
    model: torch.nn.Module, config: TrainingConfig, total_steps: int, lr_multipliers: Mapping[str, float] | None = None
) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW over ``parameter_groups`` and the linear warm-up/decay schedule (each group keeps its own peak lr)."""
    optimizer = torch.optim.AdamW(
        parameter_groups(model, config.weight_decay, config.learning_rate, lr_multipliers),
        lr=config.learning_rate,
        fused=fused_adamw_supported(model),
    )
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)


def fused_adamw_supported(model: torch.nn.Module) -> bool:
    """Whether torch's fused AdamW kernel can update every trainable parameter (floating point, on CPU or CUDA).

    The fused kernel updates all parameters in one pass; torch's default on CPU is a Python loop over
    tensors, which on a 118M-parameter encoder took as long as the forward and backward passes.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    return bool(trainable) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in trainable)


def _progress_bar() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeRemainingColumn(),
        transient=True,
    )


def train_stage(
    model: torch.nn.Module,
    train_features: Any,
    *,
    config: TrainingConfig,
    seed: int,
    work_dir: Path,
    collator: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    dev_scorer: DevScorer | None = None,
    stage_name: str = "train",
    show_progress: bool = True,
    stop_after_steps: int | None = None,
    lr_multipliers: Mapping[str, float] | None = None,
    tracking: Tracking | None = None,
) -> StageResult:
    """Fine-tune ``model`` on ``train_features`` (an Arrow dataset with a ``length`` column, or a mixture's
    ``crossling.training.batches.MixtureBatches``), resumably.

    The stage writes resumable checkpoints to ``work_dir/checkpoints`` and, when done, the kept
    weights to ``work_dir/model.safetensors`` and its report to ``work_dir/stage.json``. Called
    again, a finished stage loads its weights and returns its report; an interrupted one
    resumes from its newest intact checkpoint and ends with the same weights as an
    uninterrupted run. ``training.dropout_impl: fast`` swaps the model's ``nn.Dropout`` modules for
    ``FastDropout`` and its sdpa attention for ``fast_dropout_attention`` while the stage trains.
    ``stop_after_steps`` simulates an interruption (tests, benchmarks).
    ``lr_multipliers`` scales the learning rate of parameters by name prefix (``parameter_groups``).
    With ``tracking``, train loss, learning rate and dev scores go to its trackers.

    Launched on several processes (``accelerate launch``), every process takes its ``Shard`` of
    each global batch (``training.batch_size`` stays the global batch, the data order that of one
    process), the model is DDP-wrapped, dev scoring is sharded (``predict_logits``), and only the
    main process writes checkpoints, weights and the report; the others wait for it where they
    read what it wrote. A resumed run restores the main process's random state on every process.
    """
    done_marker = work_dir / "stage.json"
    final_weights = work_dir / "model.safetensors"
    if done_marker.is_file() and final_weights.is_file():
        load_model_weights(model, final_weights)
        logger.info("%s: already finished, loaded %s", stage_name, final_weights)
        return StageResult(**read_json(done_marker))

    seed_everything(seed)
    accelerator = make_accelerator(config.mixed_precision, hidden_size_of(model), tracking=tracking)
    shard, prepare = batch_sharding(accelerator)
    if tracking:
        tracking.start(accelerator)
    source = as_batches(
        train_features, collator, batch_size=config.batch_size, seed=seed, group_by_length=config.group_by_length
    )
    pad_ids = [collator.pad_token_id] if isinstance(getattr(collator, "pad_token_id", None), int) else []
    with (
        active_vocabulary(model, source.feature_sets(), extra_ids=pad_ids, enabled=config.active_vocabulary) as compact,
        dropout_implementation(model, config.dropout_impl),
    ):
        loop = _StageLoop.start(
            model, accelerator, config, source, work_dir, compact, stage_name, tracking, lr_multipliers
        )
        show_progress = show_progress and loop.main
        progress = _progress_bar()
        with progress if show_progress else contextlib.nullcontext():
            bar = progress.add_task(
                stage_name, total=loop.total_steps, completed=loop.state.global_step, loss=float("nan")
            )
            advance = (lambda loss: _advance(progress, bar, loss)) if show_progress else None
            while loop.state.global_step < loop.total_steps:
                loop.run_epoch(
                    source.loader(loop.state.epoch, loop.state.batches_done, prepare, shard), advance, stop_after_steps
                )
                loop.end_epoch(dev_scorer)
    return loop.finish(dev_scorer, done_marker, final_weights, source.rows)


@dataclass
class _StageLoop:
    """One stage's training between its set-up and its report: the step, the epoch's end, checkpoints.

    Holds what those share (the accelerator, the prepared model and optimizer, the schedule, the
    resumable ``TrainState``); ``train_stage`` drives it epoch by epoch.
    """

    config: TrainingConfig
    accelerator: Accelerator
    main: bool
    model: torch.nn.Module  # as prepared (DDP-wrapped on several processes)
    unwrapped: torch.nn.Module
    forward: Callable[..., Any]
    optimizer: Any
    scheduler: Any
    compact: ActiveRowsEmbedding | None
    state: TrainState
    checkpoints: Path
    best_path: Path
    schedule: CheckpointSchedule
    stage_name: str
    tracking: Tracking | None
    batches_per_epoch: int
    total_steps: int
    epochs: int
    started: float
    watch: FiniteWatch

    @classmethod
    def start(
        cls,
        model: torch.nn.Module,
        accelerator: Accelerator,
        config: TrainingConfig,
        source: Any,
        work_dir: Path,
        compact: ActiveRowsEmbedding | None,
        stage_name: str,
        tracking: Tracking | None,
        lr_multipliers: Mapping[str, float] | None,
    ) -> _StageLoop:
        """Count the steps, build the optimizer, resume from the newest intact checkpoint, prepare for the devices."""
        batches_per_epoch = source.batches_per_epoch()
        steps_per_epoch = math.ceil(batches_per_epoch / config.gradient_accumulation_steps)
        total_steps = config.max_steps or steps_per_epoch * config.epochs
        optimizer, scheduler = build_optimizer(model, config, total_steps, lr_multipliers)
        checkpoints = work_dir / "checkpoints"
        state = TrainState(dev_history=[])
        resume_from = latest_valid_checkpoint(checkpoints)
        if resume_from is not None:
            state = load_checkpoint(resume_from, model=model, optimizer=optimizer, scheduler=scheduler)
            _restore_step_state(state, compact, accelerator)
            logger.info("%s: resuming from %s (step %d)", stage_name, resume_from.name, state.global_step)
        model, optimizer = accelerator.prepare(model, optimizer)
        return cls(
            config=config,
            accelerator=accelerator,
            main=accelerator.is_main_process,
            model=model,
            unwrapped=accelerator.unwrap_model(model),
            # The compiled callable shares the module's parameters; saving and scoring use the module.
            forward=torch.compile(model, dynamic=True) if config.compile else model,
            optimizer=optimizer,
            scheduler=scheduler,
            compact=compact,
            state=state,
            checkpoints=checkpoints,
            best_path=work_dir / "best.safetensors",
            schedule=CheckpointSchedule(config.checkpoint_every_steps, config.checkpoint_every_minutes),
            stage_name=stage_name,
            tracking=tracking,
            batches_per_epoch=batches_per_epoch,
            total_steps=total_steps,
            epochs=math.ceil(total_steps / steps_per_epoch),
            started=time.perf_counter(),
            watch=FiniteWatch(stage_name, checkpoints),
        )

    def checkpoint(self) -> None:
        """Check the steps since the last check are finite, write a resumable checkpoint (main process), restart the
        checkpoint clock."""
        self.watch.check()
        # accelerate wraps the optimizer; its state lives in the inner one.
        inner = getattr(self.optimizer, "optimizer", self.optimizer)
        _record_step_state(self.state, self.compact, self.accelerator)
        if self.main:
            save_checkpoint(
                self.checkpoints, model=self.unwrapped, optimizer=inner, scheduler=self.scheduler, state=self.state
            )
        self.schedule.written()

    def run_epoch(
        self, loader: Any, advance: Callable[[float | None], Any] | None, stop_after_steps: int | None
    ) -> None:
        """Train on the rest of the epoch's batches (or up to ``total_steps``), checkpointing when due.

        The loss is checked for finiteness every ``FiniteWatch.every`` steps and at every log,
        checkpoint and the end (no host sync per step); ``advance`` gets the loss of the last check
        (None between checks).
        """
        config, state = self.config, self.state
        self.model.train()
        for batch in loader:
            weight = batch.pop(LOSS_WEIGHT, None)
            steps = _ends_step(state.batches_done + 1, config.gradient_accumulation_steps, self.batches_per_epoch)
            loss, weighted = self._backward(batch, weight, steps)
            state.batches_done += 1
            if not steps:
                continue
            self._optimizer_step()
            checked = bool(self.tracking) or self.watch.due(state.global_step)
            if checked:
                self.watch.check()
            if advance is not None:
                advance(self.watch.last_loss if checked else None)
            if self.tracking:
                # Sharded: the mean of the weighted shares is the global batch's loss.
                train_loss = loss if weight is None else self.accelerator.reduce(weighted.detach(), "mean")
                self.tracking.log(
                    self.accelerator,
                    {"train_loss": train_loss.item(), "learning_rate": self.scheduler.get_last_lr()[0]},
                    state.global_step,
                )
            if state.global_step >= self.total_steps:
                break
            if self.schedule.due(state.global_step):
                self.checkpoint()
            if stop_after_steps is not None and state.global_step >= stop_after_steps:
                self.checkpoint()
                raise KeyboardInterrupt(
                    f"{self.stage_name}: stopped after {stop_after_steps} steps (simulated interruption)"
                )

    def _backward(
        self, batch: dict[str, torch.Tensor], weight: torch.Tensor | None, steps: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward and backward one batch (gradients synced only on a step); returns the loss and its weighted form."""
        config = self.config
        with (
            _out_of_memory_as_error(self.stage_name, self.state, config),
            contextlib.nullcontext() if steps else self.accelerator.no_sync(self.model),
        ):
            loss = self.forward(**batch)["loss"]
            self.watch.record("loss", loss, self.state.global_step + 1, self.state.epoch + 1)
            weighted = loss if weight is None else loss * weight
            self.accelerator.backward(weighted / config.gradient_accumulation_steps)
        return loss, weighted

    def _optimizer_step(self) -> None:
        """Clip, step, decay the frozen vocabulary rows, advance the schedule, count the step."""
        accelerator = self.accelerator
        if self.config.max_grad_norm > 0:
            norm = accelerator.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
            # fp16: overflowed gradients are expected, the scaler skips their step.
            if isinstance(norm, torch.Tensor) and accelerator.scaler is None:
                self.watch.record("gradient norm", norm, self.state.global_step + 1, self.state.epoch + 1)
        scale_before = _loss_scale(accelerator)
        self.optimizer.step()
        # fp16: a step whose gradients overflowed is skipped by the scaler; dense AdamW then
        # applies no decay, and the schedule waits (as HF Trainer's does).
        if not _loss_scale(accelerator) < scale_before:
            if self.compact is not None:
                self.compact.after_optimizer_step(self.optimizer)  # before the scheduler changes the lr
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state.global_step += 1

    def end_epoch(self, dev_scorer: DevScorer | None) -> None:
        """End of the epoch (or of max_steps): check finiteness, score on dev, keep the best weights, checkpoint."""
        self.watch.check()
        state = self.state
        if dev_scorer is not None:
            score = dev_scorer(self.unwrapped)
            state.dev_history.append([state.global_step, state.epoch + 1, score])
            logger.info("%s: epoch %d step %d dev %.2f", self.stage_name, state.epoch + 1, state.global_step, score)
            if self.tracking:
                self.tracking.log(self.accelerator, {"dev_score": score}, state.global_step)
            if state.best_metric is None or score > state.best_metric:
                state.best_metric, state.best_step = score, state.global_step
                if self.main:
                    save_model_weights(self.unwrapped, self.best_path)
        state.epoch += 1
        state.batches_done = 0
        if state.global_step < self.total_steps:
            self.checkpoint()

    def finish(self, dev_scorer: DevScorer | None, done_marker: Path, final_weights: Path, rows: int) -> StageResult:
        """Keep the best (or last) weights, write them and the stage's report, remove the checkpoints."""
        self.watch.check()
        accelerator, state, config = self.accelerator, self.state, self.config
        accelerator.wait_for_everyone()  # the main process has written the best weights
        use_best = config.select_best and dev_scorer is not None and self.best_path.is_file()
        if use_best:
            load_model_weights(self.unwrapped, self.best_path)
        if self.main:
            save_model_weights(self.unwrapped, final_weights)
        last_dev = state.dev_history[-1][2] if state.dev_history else None
        result = StageResult(
            global_steps=state.global_step,
            epochs=self.epochs,
            selected_step=state.best_step if use_best else state.global_step,
            selection="best-dev" if use_best else "last",
            best_dev=state.best_metric if use_best else last_dev,
            dev_history=state.dev_history,
            train_examples=rows,
            train_seconds=round(time.perf_counter() - self.started, 3),
            mixed_precision=accelerator.mixed_precision,
        )
        accelerator.wait_for_everyone()  # every process has loaded the best weights before they are removed
        if self.main:
            atomic_write_json(done_marker, asdict(result))
        if self.tracking:
            accelerator.end_training()  # flushes and closes the trackers
        if self.main:
            shutil.rmtree(self.checkpoints, ignore_errors=True)
            self.best_path.unlink(missing_ok=True)
        return result


def _advance(progress: Any, bar: Any, loss: float | None) -> None:
    """One step of the progress bar; its loss field changes only when ``loss`` is known (at a finiteness check)."""
    progress.update(bar, advance=1, **({} if loss is None else {"loss": loss}))


def _ends_step(batches_done: int, accumulation: int, batches_per_epoch: int) -> bool:
    """Whether the optimiser steps after the ``batches_done``-th batch of an epoch (DDP syncs gradients only then)."""
    return batches_done % accumulation == 0 or batches_done == batches_per_epoch


def _loss_scale(accelerator: Accelerator) -> float:
    """The fp16 gradient scaler's current scale (0.0 without one).

    The scaler lowers it exactly when it skips a step for overflowed gradients. accelerate's
    ``optimizer_step_was_skipped`` cannot tell: with fused AdamW the scaler hands ``found_inf``
    to the fused kernel, which skips the update itself, so the step looks taken.
    """
    return accelerator.scaler.get_scale() if accelerator.scaler is not None else 0.0


def _record_step_state(state: TrainState, compact: ActiveRowsEmbedding | None, accelerator: Accelerator) -> None:
    """Put what a checkpoint needs beyond the tensors into ``state``: the frozen rows' decay, the fp16 scaler."""
    state.embedding_decay = compact.decay if compact is not None else 1.0
    state.grad_scaler = accelerator.scaler.state_dict() if accelerator.scaler is not None else None


def _restore_step_state(state: TrainState, compact: ActiveRowsEmbedding | None, accelerator: Accelerator) -> None:
    """Inverse of :func:`_record_step_state` on resume (JSON floats round-trip exactly, so ``d`` is bit-identical)."""
    if compact is not None:
        compact.decay = state.embedding_decay
    if accelerator.scaler is not None and state.grad_scaler:
        accelerator.scaler.load_state_dict(state.grad_scaler)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device out-of-memory error (``torch.OutOfMemoryError`` or a RuntimeError saying so)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


@contextlib.contextmanager
def _out_of_memory_as_error(stage_name: str, state: TrainState, config: TrainingConfig) -> Iterator[None]:
    """Turn an out-of-memory error of a forward/backward pass into a ``TrainingError`` with the remedy."""
    try:
        yield
    except RuntimeError as exc:  # torch.OutOfMemoryError is a RuntimeError
        if not is_out_of_memory(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        effective = config.batch_size * config.gradient_accumulation_steps
        raise TrainingError(
            f"{stage_name}: out of memory at step {state.global_step + 1} (epoch {state.epoch + 1}) with "
            f"training.batch_size {config.batch_size}; lower training.batch_size and raise "
            f"training.gradient_accumulation_steps to keep the effective batch of {effective} "
            "(or lower task.max_length)"
        ) from None

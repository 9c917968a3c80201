"""Multi-process runs (``accelerate launch``): which process writes, barriers, and the main process's word for all."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import torch
from accelerate import PartialState
from accelerate.utils import broadcast, parse_flag_from_env


def process_state() -> PartialState:
    """accelerate's process-wide state, created as ``Accelerator`` would create it.

    ``ACCELERATE_USE_CPU`` (``accelerate launch --cpu``, or set by hand) makes a multi-process
    launch a gloo CPU group; the first ``PartialState`` fixes that for the whole process, so it
    must read the flag here too.
    """
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))


def process_count() -> int:
    """Processes of this run: 1 unless launched by ``accelerate launch --num_processes N`` (or torchrun, mpirun)."""
    return process_state().num_processes


def is_main_process() -> bool:
    """Whether this process writes the run's files (every process is the main one in a single-process run)."""
    return process_state().is_main_process


def wait_for_everyone() -> None:
    """A barrier across the run's processes; nothing in a single-process run."""
    process_state().wait_for_everyone()


def main_process_first() -> contextlib.AbstractContextManager:
    """A block the main process runs first while the others wait, then they (``main_process_first``): e.g. the main
    one builds a missing feature cache, the others load it. Every process must enter it; nothing in a single process."""
    return process_state().main_process_first()


def from_main(value: Any) -> Any:
    """The main process's ``value`` on every process; ``value`` itself in a single process.

    Every process must call it at the same point. ``value`` must be JSON data (a message, a flag,
    a record): it travels as UTF-8 JSON bytes in a tensor (its length first), never pickled.
    """
    state = process_state()
    if state.num_processes == 1:
        return value
    payload = json.dumps(value).encode("utf-8") if state.is_main_process else b""
    size = broadcast(torch.tensor([len(payload)], dtype=torch.long, device=state.device), from_process=0)
    buffer = torch.zeros(int(size.item()), dtype=torch.uint8, device=state.device)
    if state.is_main_process:
        buffer.copy_(torch.frombuffer(bytearray(payload), dtype=torch.uint8))
    buffer = broadcast(buffer, from_process=0)
    return json.loads(bytes(buffer.cpu().tolist()).decode("utf-8"))

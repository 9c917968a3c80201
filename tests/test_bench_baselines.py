"""The HF Trainer arms of the benchmarks pad, time and configure like crossling (bench/baselines.py, bench/common.py)."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from tiny import train_tokenizer


@pytest.fixture(scope="module")
def bench(bench_import):
    baselines, common = bench_import("baselines"), bench_import("common")
    before = common._DEVICE
    common._DEVICE = torch.device("cpu")  # as select_device("cpu"), without hiding GPUs from other tests
    yield baselines, common
    common._DEVICE = before


@pytest.fixture(scope="module")
def tokenizer():
    tok = train_tokenizer(["a small corpus of words", "more words for the tokenizer"])
    tok.pad_token = "[MASK]"  # a pad id other than 0, so padding with 0 would show
    assert tok.pad_token_id != 0
    return tok


def _rows(tokenizer, lengths):
    rows = []
    for n in lengths:
        ids = [2] + [5 + i for i in range(n - 2)] + [3]
        rows.append({"input_ids": ids, "attention_mask": [1] * n, "labels": 0, "length": n, "example_id": "x"})
    return Dataset.from_list(rows)


def test_run_xnli_rows_are_padded_to_128_with_the_pad_id(bench, tokenizer):
    baselines, _ = bench
    dataset = baselines.hf_dataset(_rows(tokenizer, [3, 7]), pad_to_max_length=True, pad_id=tokenizer.pad_token_id)
    assert "length" not in dataset.column_names and "example_id" not in dataset.column_names
    for row, n in zip(dataset, [3, 7], strict=True):
        assert len(row["input_ids"]) == 128
        assert row["input_ids"][n:] == [tokenizer.pad_token_id] * (128 - n)
        assert row["attention_mask"][n:] == [0] * (128 - n)


def test_the_matched_collator_pads_to_a_multiple_of_8_with_the_pad_id(bench, tokenizer):
    baselines, _ = bench
    rows = baselines.hf_dataset(_rows(tokenizer, [3, 9]), pad_to_max_length=False).remove_columns(["length"])
    batch = baselines.hf_collator(tokenizer, pad_to_max_length=False)([rows[0], rows[1]])
    assert batch["input_ids"].shape == (2, 16)
    assert batch["input_ids"][0, 3:].tolist() == [tokenizer.pad_token_id] * 13


def test_trainer_arguments_follow_crossling_precision_device_and_weight_decay(bench, tmp_path):
    baselines, _ = bench
    args = baselines.hf_args(str(tmp_path), batch_size=32, precision="bf16", group_by_length=True, weight_decay=0.01)
    assert args.bf16 and not args.fp16 and args.weight_decay == 0.01
    assert args.train_sampling_strategy == "group_by_length" and args.per_device_eval_batch_size == 32
    assert args.use_cpu  # the figure chose the CPU
    fp32 = baselines.hf_args(str(tmp_path), batch_size=8, precision="no", group_by_length=False)
    assert not fp32.bf16 and not fp32.fp16 and fp32.train_sampling_strategy == "random"


class _Toy(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(6, 1)

    def forward(self, input_ids, attention_mask):
        return self.linear(attention_mask.float()).sum()


def test_the_epoch_timer_covers_every_step_from_first_forward_to_last_optimizer_step(bench):
    _, common = bench
    model = _Toy()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    timer = common.StepTimer().attach(model)
    for length in (3, 5, 2):
        mask = torch.zeros(2, 6, dtype=torch.long)
        mask[:, :length] = 1
        model(input_ids=torch.zeros(2, 6, dtype=torch.long), attention_mask=mask).backward()
        optimizer.step()
    timer.detach()
    model(input_ids=torch.zeros(2, 6, dtype=torch.long), attention_mask=mask).backward()
    optimizer.step()  # after detach: not recorded
    epoch = timer.epoch()
    assert epoch["steps"] == 3 and epoch["examples"] == 6
    assert epoch["real_tokens"] == 2 * (3 + 5 + 2) and epoch["padded_tokens"] == 3 * 12
    assert epoch["seconds"] == timer.step_ends[-1] - timer.stamps[0] > 0


def test_settled_load_average_waits_for_the_previous_benchmarks_load_to_decay(bench, monkeypatch):
    _, common = bench
    loads = iter(["1.9 1.5 1.2", "1.4 1.4 1.2", "0.9 1.3 1.2", "0.9 1.3 1.2"])
    slept = []
    monkeypatch.setattr(common, "load_average", lambda: next(loads))
    monkeypatch.setattr(common.time, "sleep", slept.append)
    assert common.settled_load_average(cores=2) == "0.9 1.3 1.2"
    assert slept == [5, 5]  # two polls above half the cores, then settled


def test_settled_load_average_records_a_load_that_does_not_settle(bench, monkeypatch):
    _, common = bench
    monkeypatch.setattr(common, "load_average", lambda: "3.0 3.0 3.0")
    monkeypatch.setattr(common.time, "sleep", lambda seconds: None)
    assert common.settled_load_average(cores=2, limit_seconds=0.0) == "3.0 3.0 3.0"

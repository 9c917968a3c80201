"""A process's share of a global batch (``Shard``): contiguous slices that cover the batch, and loss weights that
make the processes' averaged gradient the whole batch's."""

from __future__ import annotations

import pytest
import torch

from crossling.training.batches import Shard


@pytest.mark.parametrize("rows, count", [(15, 2), (6, 4), (16, 3), (2, 2)])
def test_the_slices_cover_the_batch_in_order_and_the_weights_average_to_one(rows, count):
    batch = list(range(100, 100 + rows))
    parts = [Shard(index, count).part(batch, [1] * 200) for index in range(count)]
    assert [row for part, _ in parts for row in part] == batch
    assert max(len(p) for p, _ in parts) - min(len(p) for p, _ in parts) <= 1
    assert sum(weight for _, weight in parts) / count == pytest.approx(1.0)
    assert [weight for _, weight in parts] == pytest.approx([count * len(p) / rows for p, _ in parts])


def test_weighted_shares_give_the_gradient_of_the_whole_batch_mean():
    # Token-level losses (tagging) are means over labelled tokens: the weights follow the tokens, not the rows.
    torch.manual_seed(0)
    units = [3, 1, 4, 1, 5, 9, 2]
    losses = [torch.randn(n) for n in units]
    whole = torch.cat(losses).mean()
    batch = list(range(len(units)))
    count = 3
    averaged = torch.zeros(())
    for index in range(count):
        rows, weight = Shard(index, count).part(batch, units)
        averaged += weight * torch.cat([losses[i] for i in rows]).mean() / count  # what DDP's average sees
    assert averaged.item() == pytest.approx(whole.item(), abs=1e-6)


def test_a_process_without_rows_or_labelled_tokens_joins_with_weight_zero():
    # 2 rows over 3 processes: the third has none; it takes a labelled row so its loss is finite, weighted 0.
    assert Shard(2, 3).part([7, 8], [1] * 10) == ([7], 0.0)
    units = {7: 0, 8: 0, 9: 0, 10: 4}
    assert Shard(0, 2).part([7, 8, 9, 10], units) == ([10], 0.0)
    assert Shard(1, 2).part([7, 8, 9, 10], units) == ([9, 10], 2.0)

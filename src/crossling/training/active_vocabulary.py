"""Train only the word-embedding rows the training data uses: the result of dense AdamW at a fraction of the cost."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

logger = logging.getLogger(__name__)


class ActiveRowsEmbedding(nn.Module):
    """A word-embedding table whose trainable part is the rows of the token ids a training set uses.

    Under AdamW a row whose gradient is zero at every step only decays,
    ``w <- w * (1 - lr_t * wd)``: its moments stay 0, so its Adam update is 0. The rows of
    token ids that occur in no training batch are such rows. This module keeps them in a
    frozen table and applies their decay as one running factor ``d = prod_t (1 - lr_t * wd)``,
    and trains only the A active rows:

        forward(ids) = rows[slot[ids]]             where ids is active
                     = frozen[ids] * d              elsewhere (evaluation only)

    The embedding gradient, the AdamW moments and the AdamW update shrink from V x H to
    A x H (XLM-R's V is 250,002; 2,000 XNLI pairs use A of about 12,000). The padding row is
    active but, as in ``nn.Embedding``, never receives a gradient, so it decays like a dense
    one. ``state_dict`` uses the replaced ``nn.Embedding``'s layout (one ``weight`` of V x H),
    so checkpoints and weight files are unchanged; ``load_state_dict`` reads the active rows
    from it (resuming the same stage). The frozen table is never modified before
    :meth:`write_back`, so where a stage is interrupted does not change its rounding; ``d`` itself
    is saved with each checkpoint (``TrainState.embedding_decay``). A step the fp16 gradient scaler
    skips (overflowed gradients) applies no decay, in dense AdamW as here: the loop then does not
    call :meth:`after_optimizer_step`.

    Args:
        embedding: The ``nn.Embedding`` to replace; its weight tensor becomes the frozen table
            (shared, not copied) and receives the trained rows in :meth:`write_back`.
        active_ids: The token ids whose rows are trained (the padding id is added).
    """

    def __init__(self, embedding: nn.Embedding, active_ids: Iterable[int]) -> None:
        super().__init__()
        vocab_size, hidden = embedding.weight.shape
        ids = {int(i) for i in active_ids}
        if embedding.padding_idx is not None:
            ids.add(int(embedding.padding_idx))
        bad = [i for i in ids if not 0 <= i < vocab_size]
        if bad:
            raise ValueError(f"token ids {sorted(bad)[:5]} are outside the embedding table (size {vocab_size})")
        active = torch.tensor(sorted(ids), dtype=torch.long, device=embedding.weight.device)
        slot_of = torch.full((vocab_size,), -1, dtype=torch.long, device=active.device)
        slot_of[active] = torch.arange(len(active), device=active.device)
        self.embedding = [embedding]  # a list: not a submodule, so not in state_dict or parameters()
        self.register_buffer("frozen", embedding.weight.data, persistent=False)
        self.register_buffer("active_ids", active, persistent=False)
        self.register_buffer("slot_of", slot_of, persistent=False)
        self.rows = nn.Parameter(embedding.weight.data[active].clone())
        self.padding_slot = None if embedding.padding_idx is None else int(slot_of[embedding.padding_idx])
        self.embedding_dim = hidden
        self.num_embeddings = vocab_size
        self.decay = 1.0  # d: the AdamW decay the frozen rows have accrued
        self.register_state_dict_post_hook(_state_dict_as_weight)
        self.register_load_state_dict_pre_hook(_load_weight_into_rows)

    @property
    def weight(self) -> Tensor:
        """The full V x H table as dense training would hold it (a new tensor)."""
        return self.materialized()

    def materialized(self) -> Tensor:
        """``frozen * d`` with the active rows written in: the table the replaced ``nn.Embedding`` would hold."""
        table = self.frozen * self.decay if self.decay != 1.0 else self.frozen.clone()
        table[self.active_ids] = self.rows.detach()
        return table

    def forward(self, input_ids: Tensor) -> Tensor:
        """Embeddings of ``input_ids``; in training mode every id must be active."""
        slots = self.slot_of[input_ids]
        active = slots >= 0
        if bool(active.all()):
            return F.embedding(slots, self.rows, padding_idx=self.padding_slot)
        if self.training:
            unknown = input_ids[~active].unique()[:5].tolist()
            raise RuntimeError(
                f"token ids {unknown} occur in a training batch but not in the training features the active "
                "vocabulary was built from; set training.active_vocabulary: false for such data"
            )
        frozen = F.embedding(input_ids, self.frozen)
        if self.decay != 1.0:
            frozen = frozen * self.decay
        trained = F.embedding(slots.clamp(min=0), self.rows)
        return torch.where(active.unsqueeze(-1), trained, frozen)

    def after_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Accrue the frozen rows' decay for the step just taken (call before ``scheduler.step()``)."""
        group = self._group(optimizer)
        self.decay *= 1.0 - float(group["lr"]) * float(group.get("weight_decay", 0.0))

    def _group(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        # Looked up each time: loading a state dict (accelerate's prepare does) replaces the group dicts.
        return next(g for g in optimizer.param_groups if any(p is self.rows for p in g["params"]))

    def write_back(self) -> nn.Embedding:
        """Write ``frozen * d`` and the trained rows into the replaced ``nn.Embedding``'s weight; return it."""
        if self.decay != 1.0:
            self.frozen.mul_(self.decay)
            self.decay = 1.0
        self.frozen[self.active_ids] = self.rows.detach()
        original = self.embedding[0]
        original.weight.data = self.frozen  # the same tensor unless the module was moved to another device
        return original


def _state_dict_as_weight(module: ActiveRowsEmbedding, state_dict: dict[str, Any], prefix: str, _meta: Any) -> None:
    state_dict.pop(prefix + "rows")
    state_dict[prefix + "weight"] = module.materialized()


def _load_weight_into_rows(module: ActiveRowsEmbedding, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    # Only the active rows are read: the frozen rows are the installed table's, scaled by ``d``
    # (a checkpoint of the same stage holds exactly those; ``replay_decay`` restores ``d``).
    weight = state_dict.pop(prefix + "weight", None)
    if weight is None:
        return  # load_state_dict reports the missing key
    if tuple(weight.shape) != tuple(module.frozen.shape):
        raise RuntimeError(
            f"{prefix}weight has shape {tuple(weight.shape)}, the embedding {tuple(module.frozen.shape)}"
        )
    state_dict[prefix + "rows"] = weight[module.active_ids.to(weight.device)]


def token_ids_of(features: Any, extra_ids: Iterable[int] = ()) -> np.ndarray:
    """The distinct token ids in the ``input_ids`` column of Arrow feature rows (any nesting), plus ``extra_ids``.

    ``features`` may be a list of such datasets (a mixture's members): the union of their ids.
    """
    if isinstance(features, list):
        parts = [token_ids_of(part) for part in features]
        return np.union1d(np.unique(np.concatenate(parts)), np.asarray(list(extra_ids), dtype=np.int64))
    import pyarrow as pa
    import pyarrow.compute as pc

    column = (
        features.data.column("input_ids")
        if hasattr(features, "data")
        else pa.chunked_array([pa.array(features["input_ids"])])
    )
    while pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        column = pc.list_flatten(column)
    ids = np.asarray(pc.unique(column).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.union1d(ids, np.asarray(list(extra_ids), dtype=np.int64))


def _input_embedding_slots(model: nn.Module) -> list[tuple[nn.Module, str, nn.Embedding]] | None:
    """Where the model's trainable word-embedding table sits: ``(parent, attribute, nn.Embedding)`` triples.

    Several ``nn.Embedding`` modules may share the table (T5's ``shared`` and
    ``encoder.embed_tokens``); None when there is no such table, it is frozen, or it is tied
    to something other than an embedding (an output projection), whose gradient would be lost.
    """
    encoder = getattr(model, "encoder", model)
    get = getattr(encoder, "get_input_embeddings", None)
    embedding = get() if callable(get) else None
    if not isinstance(embedding, nn.Embedding) or not embedding.weight.requires_grad:
        return None
    weight = embedding.weight
    slots = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, nn.Embedding) and child.weight is weight
    ]
    sharing = {id(child) for _, _, child in slots}
    users = [m for m in model.modules() if any(p is weight for p in m.parameters(recurse=False))]
    if any(id(m) not in sharing for m in users):
        return None
    return slots


@contextmanager
def active_vocabulary(
    model: nn.Module, features: Any, *, extra_ids: Iterable[int] = (), enabled: bool = True
) -> Iterator[ActiveRowsEmbedding | None]:
    """Within the block, the model's word embeddings train only the rows of ids in ``features``.

    Yields the installed :class:`ActiveRowsEmbedding` (None when disabled, or when the model
    has no trainable, untied ``nn.Embedding`` for its inputs). On exit, however the block ends,
    the trained rows are written back into the original ``nn.Embedding``, which is put back.
    """
    slots = _input_embedding_slots(model) if enabled else None
    if not slots:
        yield None
        return
    ids = token_ids_of(features, extra_ids)
    compact = ActiveRowsEmbedding(slots[0][2], ids.tolist())
    logger.info("active vocabulary: training %d of %d embedding rows", len(compact.active_ids), compact.num_embeddings)
    for parent, name, _ in slots:
        setattr(parent, name, compact)
    try:
        yield compact
    finally:
        compact.write_back()
        for parent, name, original in slots:
            setattr(parent, name, original)

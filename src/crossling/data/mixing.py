"""Task mixtures: which member task each training batch comes from, a pure function of the seed and the batch number."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Stream of ``numpy.random.default_rng([seed, MIXTURE_STREAM])``: the member draw never shares
#: random numbers with a member's own batch order (``training_batches``' ``[seed, epoch]``).
MIXTURE_STREAM = 7_919


def mixture_probabilities(sizes: Sequence[int], sampling: str, temperature: float = 1.0) -> np.ndarray:
    """The probability of drawing each member task for a batch.

    With ``n_i`` the training rows of member i and k members:
    ``proportional``: ``p_i = n_i / sum_j n_j``; ``temperature``: ``p_i = n_i^(1/T) / sum_j n_j^(1/T)``
    (T = 1 is proportional, T -> infinity uniform; Arivazhagan et al. 2019, mT5's T = 3.33);
    ``uniform``: ``p_i = 1 / k``.

    Raises ValueError for an unknown mode, a member without rows or T <= 0.
    """
    n = np.asarray(sizes, dtype=np.float64)
    if n.size == 0 or (n <= 0).any():
        raise ValueError(f"every mixture member needs training rows, got sizes {list(sizes)}")
    if sampling == "proportional":
        weights = n
    elif sampling == "temperature":
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        # In log space: n_i^(1/T) of large n overflows nothing, and the ratio is what matters.
        logs = np.log(n) / temperature
        weights = np.exp(logs - logs.max())
    elif sampling == "uniform":
        weights = np.ones_like(n)
    else:
        raise ValueError(f"unknown sampling {sampling!r}; expected proportional, temperature or uniform")
    return weights / weights.sum()


def mixture_schedule(probabilities: Sequence[float], total_batches: int, seed: int) -> np.ndarray:
    """The member index of every batch ``0 .. total_batches - 1``, drawn i.i.d. from ``probabilities``.

    The same (probabilities, total_batches, seed) always give the same schedule, so where a
    resumed stage continues depends only on the batch number.
    """
    rng = np.random.default_rng([seed, MIXTURE_STREAM])
    return rng.choice(len(probabilities), size=total_batches, p=np.asarray(probabilities, dtype=np.float64))


def member_positions(schedule: np.ndarray, members: int) -> np.ndarray:
    """For every batch, how many batches of its member came before it (the member's own batch counter)."""
    positions = np.empty(len(schedule), dtype=np.int64)
    seen = np.zeros(members, dtype=np.int64)
    for index, member in enumerate(schedule):
        positions[index] = seen[member]
        seen[member] += 1
    return positions

"""The "image" of a meaning: a fixed-length scene vector, a seeded sum of role=value embeddings plus noise."""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np

from crossling.data.template.meaning import Employment, Meaning


def scene_slots(meaning: Meaning) -> tuple[tuple[str, str], ...]:
    """The ``(role, value)`` pairs a scene shows: roles, action, object attributes, place, time, negation."""
    if isinstance(meaning, Employment):
        slots = [("agent", meaning.person), ("action", "work"), ("org", meaning.org)]
        return tuple(slots + ([("place", meaning.city)] if meaning.city else []))
    slots = [("agent", meaning.agent), ("action", meaning.action)]
    if meaning.thing:
        slots.append(("object", meaning.thing.noun))
        slots += [(name, value) for name in ("colour", "size") if (value := meaning.modifier(name))]
    else:
        slots.append(("patient", meaning.patient))
    slots += [(name, value) for name in ("place", "time") if (value := meaning.modifier(name))]
    if meaning.negated:
        slots.append(("polarity", "negated"))
    return tuple(slots)


@cache
def _embedding(role: str, value: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(f"{role}={value}".encode()).digest()[:8], "big")
    return np.random.default_rng(seed).standard_normal(dim)


def scene_features(meaning: Meaning, dim: int, noise: float, noise_seed: int) -> tuple[float, ...]:
    """The unit-length scene vector ``v / ||v||`` of ``meaning``, rounded to 6 decimals.

    ``v = sum_{(r, x) in scene_slots(meaning)} e(r, x) + noise * sqrt(k) * z``, where ``e(r, x)``
    is a standard-normal vector of length ``dim`` seeded by the string ``r=x`` (so the same
    role and value always look the same, and ``agent=anna`` differs from ``patient=anna``),
    ``k`` the number of slots and ``z`` standard-normal noise seeded by ``noise_seed``.
    """
    slots = scene_slots(meaning)
    vector = sum(_embedding(role, value, dim) for role, value in slots)
    vector = vector + noise * np.sqrt(len(slots)) * np.random.default_rng(noise_seed).standard_normal(dim)
    vector = vector / np.linalg.norm(vector)
    return tuple(round(float(x), 6) for x in vector)

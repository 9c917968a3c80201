"""Mixture sampling: member probabilities follow their formulas, and the draw is a function of the seed alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossling.data.mixing import member_positions, mixture_probabilities, mixture_schedule

SIZES = [4000, 1000, 250]


@pytest.mark.parametrize(
    ("sampling", "temperature", "expected"),
    [
        ("proportional", 1.0, [4000 / 5250, 1000 / 5250, 250 / 5250]),
        # n^(1/2): 63.25, 31.62, 15.81 -> 4 : 2 : 1
        ("temperature", 2.0, [4 / 7, 2 / 7, 1 / 7]),
        ("uniform", 1.0, [1 / 3, 1 / 3, 1 / 3]),
    ],
)
def test_probabilities_follow_the_formula(sampling, temperature, expected):
    assert mixture_probabilities(SIZES, sampling, temperature) == pytest.approx(expected, rel=1e-12)


def test_temperature_one_is_proportional_and_a_large_temperature_approaches_uniform():
    assert mixture_probabilities(SIZES, "temperature", 1.0) == pytest.approx(
        mixture_probabilities(SIZES, "proportional")
    )
    assert mixture_probabilities(SIZES, "temperature", 1e6) == pytest.approx([1 / 3] * 3, abs=1e-5)


@pytest.mark.parametrize(("sampling", "temperature"), [("proportional", 1.0), ("temperature", 3.0), ("uniform", 1.0)])
def test_drawn_batches_match_the_probabilities_within_the_binomial_tolerance(sampling, temperature):
    draws = 60_000
    p = mixture_probabilities(SIZES, sampling, temperature)
    counts = np.bincount(mixture_schedule(p, draws, seed=5), minlength=len(SIZES))
    for count, probability in zip(counts, p, strict=True):
        # Count ~ Binomial(draws, p): 5 standard deviations leave a false alarm of about 6e-7 per member.
        tolerance = 5 * math.sqrt(draws * probability * (1 - probability))
        assert abs(count - draws * probability) <= tolerance, (count, draws * probability, tolerance)


def test_the_schedule_depends_only_on_the_seed_and_its_prefix_is_stable():
    p = mixture_probabilities(SIZES, "uniform")
    first = mixture_schedule(p, 500, seed=3)
    assert np.array_equal(first, mixture_schedule(p, 500, seed=3))
    assert not np.array_equal(first, mixture_schedule(p, 500, seed=4))
    assert np.array_equal(first[:200], mixture_schedule(p, 200, seed=3))


def test_member_positions_count_each_members_earlier_batches():
    schedule = np.array([0, 1, 0, 0, 2, 1])
    assert member_positions(schedule, 3).tolist() == [0, 0, 1, 2, 0, 1]


@pytest.mark.parametrize(
    ("sizes", "sampling", "temperature"),
    [([10, 0], "proportional", 1.0), ([], "uniform", 1.0), ([5], "temperature", 0.0), ([5], "random", 1.0)],
)
def test_bad_inputs_are_value_errors(sizes, sampling, temperature):
    with pytest.raises(ValueError):
        mixture_probabilities(sizes, sampling, temperature)

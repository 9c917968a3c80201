"""Ensemble arithmetic: the mean of the members' probabilities, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.analysis.ensembles import average_probabilities
from crossling.errors import DataError


def test_average_probabilities_by_hand():
    a = [np.log(np.array([0.8, 0.2]))]
    b = [np.log(np.array([0.4, 0.6])) + 7.0]  # logits, not log-probabilities: the softmax removes the shift
    (mean,) = average_probabilities([a, b], axis=-1)
    np.testing.assert_allclose(np.exp(mean), [0.6, 0.4], rtol=1e-6)
    # QA rows (T x 2): distributions over the positions, one per column.
    start_end = [np.log(np.array([[0.5, 0.1], [0.5, 0.9]]))]
    other = [np.log(np.array([[0.9, 0.3], [0.1, 0.7]]))]
    (qa,) = average_probabilities([start_end, other], axis=0)
    np.testing.assert_allclose(np.exp(qa), [[0.7, 0.2], [0.3, 0.8]], rtol=1e-6)
    with pytest.raises(DataError, match="numbers of rows"):
        average_probabilities([a, a + a], axis=-1)

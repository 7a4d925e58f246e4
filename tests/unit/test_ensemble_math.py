"""Pure functions behind the ensemble: the weight grid and the stable probability mixture."""

import numpy as np
import pytest

from models.triage.ensemble import mix, simplex


def test_simplex_enumerates_every_weight_vector_summing_to_one():
    grid = simplex(3, 0.5)
    assert len(grid) == 6  # (1,0,0) (0,1,0) (0,0,1) (.5,.5,0) (.5,0,.5) (0,.5,.5)
    assert all(w.sum() == pytest.approx(1.0) and (w >= 0).all() for w in grid)


def test_mix_is_the_log_of_the_weighted_probability_mean():
    a = np.log(np.array([[0.7, 0.2, 0.1]]))
    b = np.log(np.array([[0.1, 0.1, 0.8]]))
    mixed = mix(np.stack([a, b]), np.array([0.25, 0.75]))
    assert np.exp(mixed) == pytest.approx(np.array([[0.25, 0.125, 0.625]]))
    # a zero weight ignores that member, even where it says probability 0
    only_a = mix(np.stack([a, np.full_like(b, -1e9)]), np.array([1.0, 0.0]))
    assert np.exp(only_a) == pytest.approx(np.exp(a))

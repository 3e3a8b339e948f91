"""Coverage and spread of sampled positives (benchmarks/sampling.py reports them), on hand-built cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from distortion_reliability.sampling.metrics import coverage, spread
from distortion_reliability.box import Box

# Natural units differ from the unit cube on purpose.
BOX = Box(["rotation", "rain"], [0.0, -1.0], [90.0, 1.0])


def _grid_3x3():
    grid = BOX.grid(3)  # unit coordinates 0, .5, 1 per axis: step 0.5
    unit = BOX.to_unit(grid)
    labels = unit[:, 0] <= 0.5  # the six levels with x in {0, .5} are reliable
    return grid, labels


def test_coverage_counts_reliable_cells_within_one_step():
    grid, labels = _grid_3x3()
    # One positive at unit (0.1, 0.1): within 0.5 (Euclidean) of (0,0) (0,.5) (.5,0), not of (.5,.5)
    # (0.566 away): 3 of the 6 reliable levels.
    sampled = BOX.from_unit(np.array([[0.1, 0.1], [0.9, 0.9]]))
    assert coverage(BOX, sampled, [True, False], grid, labels, 3) == pytest.approx(3 / 6)
    # A second positive at (0.3, 0.8) adds (.5,.5) (.36 away), (0, 1) (.36), (.5, 1) (.28): all six.
    sampled = BOX.from_unit(np.array([[0.1, 0.1], [0.3, 0.8]]))
    assert coverage(BOX, sampled, [True, True], grid, labels, 3) == pytest.approx(1.0)
    # Exactly one step away counts; a hair beyond does not.
    centre = BOX.from_unit(np.array([[0.0, 0.5]]))  # (0,0) (0,.5) (0,1) (.5,.5); (.5,0) is .707 away
    assert coverage(BOX, centre, [True], grid, labels, 3) == pytest.approx(4 / 6)
    beyond = BOX.from_unit(np.array([[0.0, 0.5 + 1e-6]]))
    assert coverage(BOX, beyond, [True], grid, labels, 3) == pytest.approx(3 / 6)  # (0, 0) is now too far


def test_coverage_edge_cases():
    grid, labels = _grid_3x3()
    sampled = BOX.from_unit(np.array([[0.1, 0.1]]))
    assert coverage(BOX, sampled, [False], grid, labels, 3) == 0.0  # negatives cover nothing
    assert math.isnan(coverage(BOX, sampled, [True], grid, np.zeros(len(grid), bool), 3))


def test_spread_is_the_median_nearest_neighbour_distance():
    # Unit-cube positives: three on a line at 0, .1, .3 (NN distances .1 .1 .2) and one at (1, 1)
    # whose nearest neighbour (0.3, 0) lies sqrt(.49 + 1) away: median of (.1, .1, .2, 1.2207) = .15.
    unit = np.array([[0.0, 0.0], [0.1, 0.0], [0.3, 0.0], [1.0, 1.0], [0.5, 0.5]])
    labels = [True, True, True, True, False]  # the negative is ignored
    assert spread(BOX, BOX.from_unit(unit), labels) == pytest.approx(0.15)
    assert math.isnan(spread(BOX, BOX.from_unit(unit[:1]), [True]))
    # Resampling one spot gives a tiny spread.
    assert spread(BOX, BOX.from_unit(np.array([[0.2, 0.2]] * 3 + [[0.2, 0.2001]])), [True] * 4) == 0.0

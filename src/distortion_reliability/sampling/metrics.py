"""What a sampled training set buys besides its positive count: coverage and spread of its positives.

Counting positives rewards resampling one spot: a sampler can "find" hundreds of positives that sit
within a hair of each other. These two numbers say how much of the reliable region they map.

* :func:`coverage` -- the share of the grid's reliable cells within one grid step of a sampled
  positive: a reliable grid level g counts as covered when some sampled positive p lies within
  Euclidean distance ``step = 1 / (points_per_dim - 1)`` of it in the unit cube (the grid's spacing;
  a degenerate dimension has width 0 and adds nothing). The max-norm would be 12x looser in 6-D
  (a cube of side 2 steps around each cell) and saturates at the paper's 4 points per dimension.
* :func:`spread` -- the median distance (Euclidean, unit cube) from each sampled positive to its
  nearest other sampled positive; NaN with fewer than two.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import ConfigError
from ..box import Box


def coverage(box: Box, sampled_levels: np.ndarray, sampled_labels: np.ndarray, grid_levels: np.ndarray,
             grid_labels: np.ndarray, points_per_dim: int) -> float:
    """Share of the reliable grid levels within one grid step (Euclidean, unit cube) of a sampled positive.

    NaN when the grid has no reliable level.
    """
    if int(points_per_dim) != points_per_dim or points_per_dim < 2:
        raise ConfigError("points_per_dim", points_per_dim, "must be an integer >= 2")
    grid_labels = np.asarray(grid_labels, dtype=bool).reshape(-1)
    reliable = box.to_unit(np.asarray(grid_levels, dtype=float))[grid_labels]
    if len(reliable) == 0:
        return float("nan")
    positives = box.to_unit(np.asarray(sampled_levels, dtype=float))[np.asarray(sampled_labels, dtype=bool)]
    if len(positives) == 0:
        return 0.0
    step = 1.0 / (int(points_per_dim) - 1)
    # A hair of slack so a positive exactly one step away counts despite float rounding.
    distance, _ = cKDTree(positives).query(reliable, k=1, distance_upper_bound=step * (1 + 1e-9))
    return float(np.mean(np.isfinite(distance)))


def spread(box: Box, sampled_levels: np.ndarray, sampled_labels: np.ndarray) -> float:
    """Median nearest-neighbour distance (Euclidean, unit cube) among the sampled positives; NaN below two."""
    positives = box.to_unit(np.asarray(sampled_levels, dtype=float))[np.asarray(sampled_labels, dtype=bool)]
    if len(positives) < 2:
        return float("nan")
    distance, _ = cKDTree(positives).query(positives, k=2)
    return float(np.median(distance[:, 1]))

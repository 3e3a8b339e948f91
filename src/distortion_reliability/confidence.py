"""How sure is an answer? Binomial intervals for f, three label states, and predict's verdicts.

**The interval.** f(c) is measured on the N images of D, a sample of the images T will meet:
``k`` correct of ``n`` is a binomial count, and the interval for the accuracy f behind it is the
Clopper–Pearson interval at confidence 1 − δ::

    lower = Beta⁻¹(δ/2; k, n − k + 1)        (0 when k = 0)
    upper = Beta⁻¹(1 − δ/2; k + 1, n − k)    (1 when k = n)

Clopper–Pearson, not Wilson: it inverts the exact binomial test, so its coverage is at least
1 − δ for *every* f and n (Wilson's dips below nominal near 0 and 1, where a shift or rain
level with f ≈ 0.97 lies); at N = 899 and f = 0.5 it is ±3.3 points, as wide as Wilson's.

**Levels the oracle stopped early.** :meth:`Oracle.label` stops counting a level once the images
not yet seen cannot change ``f ≥ h`` on D (:meth:`~distortion_reliability.oracle.Count.decided`).
The interval of such a level is computed from the counts seen so far — k correct of the first
n < N images, themselves a sample of D's seeded order — at confidence 1 − δ/L, L = ⌈N / chunk⌉
the number of points where early stopping looks (8 by default). The stop depends on the data, so
a plain 1 − δ interval at the stopping point would not be justified; by the union bound over the L
looks the 1 − δ/L interval misses f with probability at most δ whichever look (and whichever h of
an earlier call) stopped it. A level counted on all N images gets the plain 1 − δ interval (the
union bound over both cases is 2δ in the worst case; simulated under the oracle's own stopping
rule — N = 899 at h = 0.5 and 0.9, N = 120 at h = 0.7, 26 values of f each, 4,000 draws — the
worst case covered f in 95.05 % of draws; ``tests/test_confidence.py`` asserts ≥ 93 %). Cost: an early-stopped level's interval is about 1.4× wider, which rarely changes
its state, as a level stops early only once its count is well away from h: on the digits grid
(h = 0.5) 4,003 of 4,096 levels stopped early and none of them is within noise of h.

**Three states** of a grid level at confidence 1 − δ: *reliable* (lower ≥ h), *unreliable*
(upper < h), otherwise *within noise of h*: D is too small to say on which side of h it lies. A
confident state never contradicts the oracle's label: the interval holds k/n, and an early stop
leaves k/n on the side of h it decided (stopped reliable: k ≥ hN so k/n ≥ h; stopped unreliable:
k + N − n < hN so k/n < h).

**Verdicts** of ``predict``: P(reliable) from the answering predictor (the GP classifier) against
two thresholds: reliable at P ≥ 0.95, unreliable at P ≤ 0.05, otherwise *uncertain*.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta

from .errors import ConfigError

__all__ = ["DELTA", "RELIABLE", "UNRELIABLE", "WITHIN_NOISE", "STATE_NAMES", "clopper_pearson", "count_intervals",
           "label_states", "verdicts", "early_stopping_looks"]

DELTA = 0.05  # 95 % intervals unless a caller asks otherwise
RELIABLE, UNRELIABLE, WITHIN_NOISE = 1, 0, -1
STATE_NAMES = {RELIABLE: "reliable", UNRELIABLE: "unreliable", WITHIN_NOISE: "within noise of h"}


def _check_delta(delta: float) -> float:
    if not (isinstance(delta, (int, float)) and 0 < delta < 1):
        raise ConfigError("delta", delta, "must be a number in (0, 1) (1 − δ is the confidence)")
    return float(delta)


def clopper_pearson(k, n, delta: float | np.ndarray = DELTA) -> tuple[np.ndarray, np.ndarray]:
    """The two-sided 1 − δ Clopper–Pearson interval for a binomial proportion: k successes in n trials.

    ``k``, ``n`` and ``delta`` broadcast; returns ``(lower, upper)`` arrays in [0, 1].
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    delta = np.asarray(delta, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise ConfigError("counts", "k, n", "must satisfy 0 <= k <= n and n >= 1")
    if np.any(delta <= 0) or np.any(delta >= 1):
        raise ConfigError("delta", delta, "must lie in (0, 1)")
    with np.errstate(invalid="ignore", divide="ignore"):  # the k = 0 and k = n ends are set below
        lower = np.where(k > 0, beta.ppf(delta / 2, k, n - k + 1), 0.0)
        upper = np.where(k < n, beta.ppf(1 - delta / 2, k + 1, n - k), 1.0)
    return lower, upper


def early_stopping_looks(n_total: int, chunk_size: int) -> int:
    """L: how many times :meth:`Oracle.label` can check a level's count (after every chunk of images)."""
    return max(1, math.ceil(int(n_total) / max(1, int(chunk_size))))


def count_intervals(n_correct, n_evaluated, n_total: int, looks: int,
                    delta: float = DELTA) -> tuple[np.ndarray, np.ndarray]:
    """The interval for f of each level from the oracle's counts (module docstring).

    Parameters
    ----------
    n_correct, n_evaluated : array-like of int
        Per level: k correct among the first n images of D (:meth:`Oracle.label_counts`).
    n_total : int
        N, the size of D.
    looks : int
        L, the early stopping's number of looks (:func:`early_stopping_looks`); a level with
        n < N gets the 1 − δ/L interval, a level counted on all N images the 1 − δ one.
    delta : float
        1 − δ is the confidence.
    """
    delta = _check_delta(delta)
    n_evaluated = np.asarray(n_evaluated)
    stopped_early = n_evaluated < int(n_total)
    return clopper_pearson(n_correct, n_evaluated, np.where(stopped_early, delta / max(1, int(looks)), delta))


def label_states(lower, upper, h: float) -> np.ndarray:
    """Per level: RELIABLE (lower ≥ h), UNRELIABLE (upper < h) or WITHIN_NOISE (h inside the interval)."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    states = np.full(lower.shape, WITHIN_NOISE, dtype=np.int8)
    states[lower >= h] = RELIABLE
    states[upper < h] = UNRELIABLE
    return states


def verdicts(p_reliable, reliable_at: float = 0.95, unreliable_at: float = 0.05) -> np.ndarray:
    """``reliable`` where P(reliable) ≥ ``reliable_at``, ``unreliable`` where ≤ ``unreliable_at``, else
    ``uncertain``."""
    if not (0 <= unreliable_at < reliable_at <= 1):
        raise ConfigError("reliable_at/unreliable_at", (reliable_at, unreliable_at),
                          "must satisfy 0 <= unreliable_at < reliable_at <= 1")
    p = np.asarray(p_reliable, dtype=float)
    return np.where(p >= reliable_at, "reliable", np.where(p <= unreliable_at, "unreliable", "uncertain"))

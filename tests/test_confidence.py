"""Confidence: Clopper-Pearson intervals and their coverage (also under the oracle's early stopping),
the three label states, predict's verdicts, the Brier score and the grid's intervals from the oracle's counts."""

from __future__ import annotations

import numpy as np
import pytest
from test_oracle import make_oracle, random_levels

from distortion_reliability.calibration import brier_score, reliability_curve
from distortion_reliability.confidence import (
    RELIABLE,
    UNRELIABLE,
    WITHIN_NOISE,
    clopper_pearson,
    count_intervals,
    early_stopping_looks,
    label_states,
    verdicts,
)
from distortion_reliability.errors import ConfigError
from distortion_reliability.oracle import Count


def test_clopper_pearson_known_values_and_ends():
    lo, hi = clopper_pearson(5, 10, 0.05)  # textbook values of the exact interval for 5 of 10
    assert lo == pytest.approx(0.1871, abs=1e-4) and hi == pytest.approx(0.8129, abs=1e-4)
    lo, hi = clopper_pearson([0, 10], [10, 10], 0.05)
    assert lo[0] == 0 and hi[0] == pytest.approx(1 - 0.025 ** 0.1)  # k = 0: upper = 1 - (δ/2)^(1/n)
    assert hi[1] == 1 and lo[1] == pytest.approx(0.025 ** 0.1)
    lo, hi = clopper_pearson(450, 899, 0.05)  # the digits case: about ±3.3 points near f = 0.5
    assert (hi - lo) / 2 == pytest.approx(0.033, abs=0.001)
    with pytest.raises(ConfigError):
        clopper_pearson(11, 10)


@pytest.mark.parametrize("n", [30, 899])
def test_coverage_on_simulated_binomial_counts(n):
    rng = np.random.default_rng(18)
    worst = 1.0
    for p in (0.02, 0.1, 0.3, 0.5, 0.74, 0.9, 0.97, 0.995):
        k = rng.binomial(n, p, size=20_000)
        lo, hi = clopper_pearson(k, n, 0.05)
        worst = min(worst, float(np.mean((lo <= p) & (p <= hi))))
    assert worst >= 0.93  # nominal 95 %; exact (never below 95 %) up to simulation noise


@pytest.mark.parametrize("n_total,h", [(899, 0.5), (899, 0.9), (120, 0.7)])
def test_coverage_under_the_oracles_early_stopping(n_total, h):
    """Counts stopped by Count.decided (the oracle's own rule), intervals as count_intervals makes them."""
    rng = np.random.default_rng(7)
    chunk = -(-n_total // 8)  # the oracle's default chunk, N/8 rounded up
    looks = early_stopping_looks(n_total, chunk)
    stops = list(range(chunk, n_total, chunk)) + [n_total]
    draws, worst, stopped_any = 3000, 1.0, 0.0
    for p in np.linspace(max(0.02, h - 0.2), min(0.99, h + 0.2), 9):
        per_chunk = rng.binomial(np.diff([0] + stops), p, size=(draws, len(stops)))
        seen = np.cumsum(per_chunk, axis=1)
        k, n = np.empty(draws, int), np.empty(draws, int)
        for r in range(draws):
            for j, stop in enumerate(stops):
                if stop == n_total or Count(stop, int(seen[r, j])).decided(n_total, h) is not None:
                    k[r], n[r] = seen[r, j], stop
                    break
        lo, hi = count_intervals(k, n, n_total, looks, 0.05)
        worst = min(worst, float(np.mean((lo <= p) & (p <= hi))))
        stopped_any = max(stopped_any, float(np.mean(n < n_total)))
    assert stopped_any > 0.9  # the case is real: far from h nearly every count stopped early
    assert worst >= 0.93


def test_early_stopped_counts_get_the_wider_interval():
    lo_full, hi_full = count_intervals([600], [899], 899, looks=8)
    lo_stop, hi_stop = count_intervals([600], [898], 899, looks=8)  # one image short: stopped early
    assert hi_stop - lo_stop > 1.3 * (hi_full - lo_full)
    lo_one, hi_one = count_intervals([600], [898], 899, looks=1)
    assert hi_one - lo_one < hi_stop - lo_stop


def test_three_label_states_on_hand_made_intervals():
    lower = np.array([0.52, 0.40, 0.47, 0.50, 0.30, 0.10])
    upper = np.array([0.60, 0.49, 0.53, 0.58, 0.50, 0.499])
    states = label_states(lower, upper, h=0.5)
    # lower >= h reliable (0.50 counts), upper < h unreliable, h inside (0.50 upper included) within noise
    assert states.tolist() == [RELIABLE, UNRELIABLE, WITHIN_NOISE, RELIABLE, WITHIN_NOISE, UNRELIABLE]


def test_states_from_counts_near_and_far_from_h():
    # N = 899, h = 0.5: 449 of 899 is a hair below h, within noise; 600 and 300 are far either side
    lo, hi = count_intervals([449, 600, 300], [899, 899, 899], 899, looks=8)
    assert label_states(lo, hi, 0.5).tolist() == [WITHIN_NOISE, RELIABLE, UNRELIABLE]


def test_verdict_thresholds_default_and_configured():
    p = np.array([0.0, 0.05, 0.0501, 0.5, 0.9499, 0.95, 1.0])
    assert verdicts(p).tolist() == ["unreliable", "unreliable", "uncertain", "uncertain", "uncertain",
                                    "reliable", "reliable"]
    assert verdicts(p, reliable_at=0.9, unreliable_at=0.2).tolist()[3:] == ["uncertain", "reliable", "reliable",
                                                                             "reliable"]
    with pytest.raises(ConfigError):
        verdicts(p, reliable_at=0.3, unreliable_at=0.6)


def test_brier_score_and_reliability_curve_on_a_hand_made_case():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.6, 0.2, 0.0])
    assert brier_score(y, p) == pytest.approx((0.01 + 0.16 + 0.04 + 0.0) / 4)
    assert brier_score(y, y) == 0 and brier_score(y, np.full(4, 0.5)) == pytest.approx(0.25)
    curve = reliability_curve(y, p, bins=2)  # [0, 0.5): 0.2, 0.0 -> observed 0; [0.5, 1]: 0.9, 0.6 -> 1
    assert curve["n"].tolist() == [2, 2] and curve["observed"].tolist() == [0.0, 1.0]
    assert curve["mean_p"].tolist() == pytest.approx([0.1, 0.75])
    with pytest.raises(ConfigError):
        brier_score(y, np.array([0.5, 1.5, 0, 0]))


def test_oracle_label_counts_are_what_the_labels_were_decided_from():
    levels = random_levels(40, seed=5)
    oracle = make_oracle(chunk_size=25)
    labels = oracle.label(levels, 0.6)
    n_eval, n_corr = make_oracle(chunk_size=25).label_counts(levels, 0.6)
    assert (n_eval < oracle.n).any() and (n_eval == oracle.n).any()  # some stopped early, some ran to N
    np.testing.assert_array_equal([Count(e, c).decided(oracle.n, 0.6) for e, c in zip(n_eval, n_corr)], labels)
    f = make_oracle().accuracy(levels)
    full = n_eval == oracle.n
    np.testing.assert_allclose(n_corr[full] / oracle.n, f[full])

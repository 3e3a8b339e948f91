"""advice: suggested h and the grid's reliable share at other h from early-stopped counts."""

from __future__ import annotations

import numpy as np
import pytest

from distortion_reliability.advice import share_by_h, suggest_h
from distortion_reliability.oracle import Count


def test_suggest_h_puts_about_the_share_above_it():
    values = np.linspace(0.0, 1.0, 1001)
    h = suggest_h(values, share=0.04)
    assert h == pytest.approx(0.96)
    assert np.mean(values >= h) == pytest.approx(0.04, abs=0.002)
    assert suggest_h(np.array([np.nan])) is None


def test_share_by_h_from_early_stopped_counts_brackets_the_exact_share():
    rng = np.random.default_rng(0)
    n_total, h0 = 1000, 0.85
    f = rng.uniform(0.3, 0.95, size=400)
    correct_all = rng.random((400, n_total)) < f[:, None]
    seen, correct = [], []
    for row in correct_all:  # the oracle's early stopping at h0, in blocks of 100 images
        for n in range(100, n_total + 1, 100):
            if Count(n, int(row[:n].sum())).decided(n_total, h0) is not None:
                break
        seen.append(n)
        correct.append(int(row[:n].sum()))
    exact = correct_all.mean(axis=1)
    rows = share_by_h(np.array(correct), np.array(seen), n_total, [0.6, 0.7, h0])
    for row in rows:
        truth = np.mean(exact >= row["h"])
        assert row["certain"] <= truth <= row["at_most"]
        assert row["estimate"] == pytest.approx(truth, abs=0.05)
    # At the labelling h every level is decided: the bounds meet at the exact share.
    assert rows[-1]["certain"] == rows[-1]["at_most"] == pytest.approx(np.mean(exact >= h0))
    assert rows[0]["at_most"] > rows[0]["certain"]  # below h0 the early stop leaves real doubt


def test_share_by_h_rejects_impossible_counts():
    with pytest.raises(ValueError):
        share_by_h(np.array([5]), np.array([3]), 10, [0.5])

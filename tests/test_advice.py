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


def _domains(overrides: list[str]) -> dict[int, tuple[float, float]]:
    import re

    out = {}
    for text in overrides:
        i, lo, hi = re.search(r"distortion\.ops\.(\d+)\.domain=\[([^,]+),([^\]]+)\]", text).groups()
        out[int(i)] = (float(lo), float(hi))
    return out


def test_a_narrower_box_is_never_empty_even_when_the_best_levels_share_a_value():
    """The held-out fault run saw 'distortion.ops.0.domain=[1.3,1.3]': every best level at scale 1.3."""
    from distortion_reliability.advice import MIN_DOMAIN_SHARE, narrower_box
    from distortion_reliability.box import Box

    box = Box(["scale", "rotation"], [0.5, 0.0], [1.3, 90.0])
    rng = np.random.default_rng(0)
    levels = np.column_stack([rng.uniform(0.5, 1.3, 200), rng.uniform(0, 90, 200)])
    values = rng.uniform(0, 0.3, 200)
    levels[:12, 0] = 1.3          # the best levels all sit on the upper edge of scale
    levels[:12, 1] = 40.0 + np.arange(12) * 1e-4   # and within 0.0011 degrees of each other
    values[:12] = 0.9
    domains = _domains(narrower_box(box, levels, values))
    assert set(domains) == {0, 1}
    for i, (lo, hi) in domains.items():
        width = box.upper[i] - box.lower[i]
        assert hi - lo >= MIN_DOMAIN_SHARE * width * 0.99, (i, lo, hi)
        assert box.lower[i] <= lo < hi <= box.upper[i]
    assert domains[0][1] == pytest.approx(1.3) and domains[1][0] <= 40.0 <= domains[1][1]

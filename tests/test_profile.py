"""The reliability profile's uncertainty: each end of a reliable interval with the range where it may lie."""

from __future__ import annotations

import numpy as np
import pytest
from test_report_synthetic import LOWER, NAMES, SPACE, UPPER, synthetic_f

from distortion_reliability.confidence import clopper_pearson
from distortion_reliability.reporting.maps import write_reliability_report
from distortion_reliability.reporting.profile import describe_intervals, end_ranges, f_band, reliable_intervals


def test_end_ranges_follow_the_band_crossings():
    xs = np.linspace(0, 90, 91)
    f = 1 - xs / 100  # crosses h = 0.69 at 31
    ranges = end_ranges(xs, f, f - 0.03, f + 0.02, 0.69)  # the lower curve crosses at 28, the upper at 33
    assert reliable_intervals(xs, f, 0.69) == [(0.0, pytest.approx(31.0))]
    (lo_range, hi_range), = ranges
    assert lo_range == (0.0, 0.0)  # the domain's edge: no uncertainty there
    assert hi_range == (pytest.approx(28.0), pytest.approx(33.0))
    assert describe_intervals("rotation", [(0.0, 31.0)], 0, 90, ranges) == "rotation ≤ 31° (28–33°)"


def test_two_sided_interval_and_no_surely_reliable_point():
    xs = np.linspace(0.7, 1.3, 61)
    f = 0.6 - np.abs(xs - 1.0)  # reliable at h = 0.5 for scale 0.9-1.1
    ranges = end_ranges(xs, f, f - 0.05, f + 0.05, 0.5)
    assert ranges[0][0] == (pytest.approx(0.85), pytest.approx(0.95))
    assert ranges[0][1] == (pytest.approx(1.05), pytest.approx(1.15))
    text = describe_intervals("scale", reliable_intervals(xs, f, 0.5), 0.7, 1.3, ranges)
    assert text == "scale 0.90 (0.85–0.95) to 1.10 (1.05–1.15)"
    # f barely above h: nothing is surely reliable, so each end may lie anywhere back to the other end
    ranges = end_ranges(xs, f - 0.09, f - 0.2, f + 0.05, 0.5)
    (a, b), = reliable_intervals(xs, f - 0.09, 0.5)
    assert ranges[0][0][1] == pytest.approx(b) and ranges[0][1][0] == pytest.approx(a)
    assert describe_intervals("scale", [(0.9, 1.1)], 0.7, 1.3) == "scale 0.90–1.10"  # without ranges: as before


def test_f_band_is_the_clopper_pearson_interval_at_n():
    f = np.array([0.0, 0.5, 0.9, 1.0])
    lo, hi = f_band(f, 200)
    exp_lo, exp_hi = clopper_pearson(np.rint(f * 200), 200)
    np.testing.assert_allclose(lo, exp_lo)
    np.testing.assert_allclose(hi, exp_hi)
    assert (lo <= f).all() and (f <= hi).all()


class SizedOracle:
    """A synthetic f measured on n images (so the profile draws its band)."""

    n = 300

    def accuracy(self, levels):
        return np.rint(synthetic_f(levels) * self.n) / self.n


class ShiftedAnswer:
    """An answering predictor (unit-cube levels) that says reliable where f >= 0.6 instead of 0.5."""

    def predict_proba(self, unit):
        p = (synthetic_f(np.array(LOWER) + np.asarray(unit) * (np.array(UPPER) - np.array(LOWER))) >= 0.6) * 1.0
        return np.column_stack([1 - p, p])

    def predict(self, unit):
        return self.predict_proba(unit)[:, 1].astype(int)


def test_report_profile_carries_the_uncertainty(tmp_path):
    rep = write_reliability_report(SizedOracle(), SPACE, 0.5, tmp_path, resolution=3, profile_points=61,
                                   fitted={"gp_classifier": ShiftedAnswer()})
    prof = rep.profile.set_index("distortion")
    assert (prof["n_images"] == 300).all() and (prof["confidence"] == 0.95).all()
    rotation = prof.loc["rotation", "description"]
    assert rotation.startswith("rotation ≤ 25° (") and rotation.endswith("°)")  # synthetic f: rotation ≤ 25
    lo, hi = (float(v.rstrip("°)")) for v in rotation.split("(")[1].split("–"))
    assert lo < 25 < hi and hi - lo < 10
    for name in NAMES:  # surely reliable ⊂ reliable ⊂ possibly reliable
        sure, est, possible = (prof.loc[name, c] for c in ("surely_reliable", "reliable_intervals", "possibly_reliable"))
        bounds = [[tuple(map(float, part.split(".."))) for part in s.split("; ") if s] for s in (sure, est, possible)]
        if bounds[0]:
            assert bounds[0][0][0] >= bounds[1][0][0] - 1e-9 and bounds[0][-1][1] <= bounds[1][-1][1] + 1e-9
        assert bounds[2][0][0] <= bounds[1][0][0] + 1e-9 and bounds[2][-1][1] >= bounds[1][-1][1] - 1e-9
    # the answering predictor along rotation: f = 0.95 - 0.018 r >= 0.6 <=> r <= 19.4 (on the 1.5° profile grid)
    says = prof.loc["rotation", "gp_classifier_says"]
    assert says.startswith("rotation ≤ ") and 18 <= float(says.split("≤ ")[1].rstrip("°")) <= 21
    md = (tmp_path / "reliability_profile.md").read_text()
    assert "GP classifier says" in md
    assert "95 % Clopper–Pearson band of f at N = 300 images" in md and rotation in md
    assert (tmp_path / "reliability_profile.png").stat().st_size > 0

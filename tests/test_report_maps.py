"""Reliability maps and profiles on a synthetic oracle whose reliable intervals are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_report import png_ok
from test_report_synthetic import LOWER, NAMES, SPACE, UPPER, sample_levels, synthetic_f

from distortion_reliability.reporting.maps import SpaceSpec, write_reliability_report
from distortion_reliability.reporting.profile import describe_intervals, reliable_intervals

H = 0.5
# synthetic_f alone along each axis: f = 0.9 g + 0.05 >= 0.5  <=>  g >= 0.5
TRUE_INTERVALS = {"scale": (0.8, 1.2), "rotation": (0.0, 25.0), "translation_x": (-0.15, 0.15),
                  "translation_y": (-0.15, 0.15), "darkness": (0.75, 1.3), "rain": (0.0, 0.35)}


class CountingOracle:
    def __init__(self, f):
        self.f, self.calls, self.levels = f, 0, 0

    def accuracy(self, levels):
        levels = np.asarray(levels, float)
        assert levels.shape[1] == 6
        assert np.all(levels >= np.array(LOWER) - 1e-12) and np.all(levels <= np.array(UPPER) + 1e-12)
        self.calls += 1
        self.levels += len(levels)
        return self.f(levels)


class Perfect:
    """A 'classifier' that knows f: predicts f >= h from unit-cube levels."""

    def predict(self, unit):
        return (synthetic_f(np.array(LOWER) + np.asarray(unit) * (np.array(UPPER) - np.array(LOWER))) >= H).astype(int)


class Never:
    def predict(self, unit):
        return np.zeros(len(unit), int)


@pytest.fixture(scope="module")
def coarse(tmp_path_factory):
    """A coarse profile (13 points) without linear ends: the tests' 'one grid step' is 1/12 of each domain."""
    out = tmp_path_factory.mktemp("map")
    oracle = CountingOracle(synthetic_f)
    levels = sample_levels(200, 0)
    training = pd.DataFrame(levels, columns=NAMES).assign(label=(synthetic_f(levels) >= H).astype(int))
    props = pd.DataFrame(sample_levels(60, 5), columns=NAMES)
    props["kept"] = (synthetic_f(props[NAMES].to_numpy()) >= H).astype(int)
    grid_levels = np.array(LOWER) + np.random.default_rng(0).random((500, 6)) * (np.array(UPPER) - np.array(LOWER))
    rep = write_reliability_report(oracle, SPACE, H, out, training=training, proposals=props,
                                   fitted={"perfect": Perfect(), "never": Never(), "perfect2": Perfect()},
                                   grid=(grid_levels, synthetic_f(grid_levels) >= H), resolution=9, profile_points=13,
                                   title="synthetic")
    return rep, oracle, out


def test_profile_recovers_known_intervals_within_one_grid_step(coarse):
    rep, _, _ = coarse
    prof = rep.profile.set_index("distortion")
    for name, (lo, hi) in TRUE_INTERVALS.items():
        step = prof.loc[name, "grid_step"]
        found = [tuple(map(float, part.split(".."))) for part in prof.loc[name, "reliable_intervals"].split("; ")]
        assert len(found) == 1, (name, found)
        assert abs(found[0][0] - lo) <= step and abs(found[0][1] - hi) <= step, (name, found, (lo, hi), step)
    assert prof.loc["rotation", "description"].startswith("rotation ≤ 2")
    assert prof.loc["darkness", "description"].startswith("darkness ≥ 0.7")
    assert prof.loc["rotation", "f_at_identity"] == pytest.approx(0.95)


def test_one_oracle_call_for_every_slice_and_profile(coarse):
    _, oracle, _ = coarse
    assert oracle.calls == 1
    # 15 pairs x 9 x 9 slice levels + 6 profiles x 13 (identity already on each profile grid: 1.0 and 0.0 are)
    assert oracle.levels == 15 * 81 + 6 * 13


def test_slices_agreement_and_share(coarse):
    rep, _, out = coarse
    s = rep.slices
    assert len(s) == 15 * 81 and set(s["slice"]) >= {"scale×rotation", "darkness×rain"}
    # on a slice the other four distortions sit at identity
    rot_rain = s[s["slice"] == "rotation×rain"]
    assert (rot_rain[["scale", "darkness"]] == 1.0).all().all()
    assert (rot_rain[["translation_x", "translation_y"]] == 0.0).all().all()
    np.testing.assert_array_equal(rot_rain["reliable"], synthetic_f(rot_rain[NAMES].to_numpy()) >= H)
    agree = pd.read_csv(out / "reliability_classifier.csv").set_index("predictor")
    assert agree.loc["perfect", "agreement"] == 1.0 and agree.loc["perfect", "f1"] == 1.0
    assert agree.loc["never", "missed"] == s["reliable"].sum()
    assert agree.loc["vote", "agreement"] == 1.0  # 2 of 3 say what the oracle says
    md = (out / "reliability_profile.md").read_text()
    share = (synthetic_f(np.array(LOWER) + np.random.default_rng(0).random((500, 6))
                         * (np.array(UPPER) - np.array(LOWER))) >= H).sum()
    assert f"{share:,} of 500 levels" in md
    assert "**Reliable:** scale 0." in md


def test_map_figures_exist_and_are_not_blank(coarse):
    rep, _, out = coarse
    for key in ("map_png", "profile_png", "classifier_png"):
        png_ok(rep.files[key], min_bytes=20_000)


def test_intervals_and_descriptions():
    xs = np.linspace(0, 10, 11)
    f = np.array([0.9, 0.9, 0.2, 0.2, 0.8, 0.8, 0.8, 0.1, 0.1, 0.6, 0.7])
    iv = reliable_intervals(xs, f, 0.5)
    assert iv[0] == pytest.approx((0.0, 1 + 4 / 7))
    assert iv[1] == pytest.approx((3 + 0.5, 6 + 3 / 7))
    assert iv[2] == pytest.approx((8 + 0.8, 10.0))
    assert reliable_intervals(xs, np.zeros(11), 0.5) == []
    assert describe_intervals("rotation", [(0.0, 23.4)], 0, 90) == "rotation ≤ 23°"
    assert describe_intervals("scale", [(0.84, 1.21)], 0.7, 1.3) == "scale 0.84–1.21"
    assert describe_intervals("darkness", [(0.78, 1.3)], 0.7, 1.3) == "darkness ≥ 0.78"
    assert describe_intervals("rain", [(0.0, 1.0)], 0, 1) == "rain: whole domain"
    assert describe_intervals("rain", [], 0, 1).startswith("rain: never")


def test_space_spec_from_distortion_space_like():
    class Box:
        names, lower, upper = tuple(NAMES), np.array(LOWER), np.array(UPPER)

    class DS:
        box = Box()
        identity = np.array([1.0, 0, 0, 0, 1.0, 0])

    spec = SpaceSpec.from_any(DS())
    assert spec.names == tuple(NAMES) and spec.identity[0] == 1.0
    assert SpaceSpec.from_any(SPACE).to_json() == {**SPACE, "lower": LOWER, "upper": UPPER}


def test_inputs_from_pipeline_objects():
    """``method.stats_`` (unit-cube proposals), a SampleResult-like and a method without proposals."""
    from types import SimpleNamespace

    from distortion_reliability.reporting.maps import _points

    spec = SpaceSpec.from_any(SPACE)
    unit = np.array([[0.5, 0.0, 0.5, 0.5, 0.5, 0.0], [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]])
    lv, kept = _points({"proposals_X_unit": unit, "proposals_kept": np.array([True, False])}, spec, "kept")
    np.testing.assert_allclose(lv, [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.7, 90.0, -0.2, 0.2, 1.3, 1.0]])
    assert kept.tolist() == [1, 0]
    assert _points({"proposals_X_unit": None, "rebalance_seconds": 0.1}, spec, "kept") is None
    sample = SimpleNamespace(levels=lv, labels=np.array([True, False]), values=np.array([0.9, 0.1]))
    assert _points(sample, spec, "label")[1].tolist() == [1, 0]

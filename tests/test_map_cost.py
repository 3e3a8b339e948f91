"""The reliability map's cost: slices labelled with early stopping, coloured by an estimate on the right side of h."""

from __future__ import annotations

import numpy as np
from test_oracle import make_oracle

from distortion_reliability.reporting.maps import SpaceSpec, contour_f, report_levels, write_reliability_report

H = 0.7


def _grid(n: int) -> np.ndarray:
    noise, gain = np.meshgrid(np.linspace(0, 1, n), np.linspace(0.5, 1.5, n), indexing="ij")
    return np.column_stack([noise.ravel(), gain.ravel()])


def test_estimate_is_on_the_exact_side_of_h_and_exact_near_it(tmp_path):
    levels = _grid(9)
    exact = make_oracle(None).accuracy(levels)  # no cache: the full evaluation
    assert (exact >= H).any() and (exact < H).any()  # the contour crosses this slice
    oracle = make_oracle(tmp_path)
    f, n_read = contour_f(oracle, levels, H)
    np.testing.assert_array_equal(f >= H, exact >= H)  # the drawn contour separates the true labels
    full = n_read == oracle.n
    np.testing.assert_allclose(f[full], exact[full])  # read in full: exact f
    assert (~full).sum() >= 10  # far from h the label stopped early ...
    assert oracle.images_evaluated == n_read.sum() < 0.85 * oracle.n * len(levels)  # ... and that is the saving
    assert np.all(np.abs(f[~full] - exact[~full]) < 0.25)  # a usable colour: an estimate of f, not a label


def test_plain_function_gets_exact_f():
    f, n_read = contour_f(lambda lv: np.full(len(lv), 0.42), _grid(3), H)
    assert n_read is None and np.allclose(f, 0.42)


def test_report_reads_the_slices_identity_lines_from_the_profile(tmp_path):
    """Resolution 7 on a profile of 61: each slice's identity row/column are profile levels, not re-read."""
    oracle = make_oracle(tmp_path / "cache")
    rep = write_reliability_report(oracle, oracle.space, H, tmp_path / "out", resolution=7, profile_points=61)
    spec = SpaceSpec.from_any(oracle.space)
    blocks, meta = report_levels(spec, 7, 61)
    profile = np.vstack([b for b, m in zip(blocks, meta) if m[0] == "profile"])
    key = oracle.cache.level_key
    on_profile = {key(lv) for lv in profile}
    s = rep.slices
    shared = s[[key(lv) in on_profile for lv in s[list(spec.names)].to_numpy()]]
    assert len(shared) == 13  # the identity row and column of the 7 x 7 slice
    assert (shared["n_images"] == oracle.n).all()  # read exactly, by the profile
    new = s.drop(shared.index)
    # profile levels exactly, plus the slice levels' early-stopped reads, and nothing else
    assert rep.images_evaluated == len({key(lv) for lv in profile}) * oracle.n + int(new["n_images"].sum())
    assert rep.images_evaluated < (len(s) + len(on_profile)) * oracle.n
    assert rep.files["map_png"].stat().st_size > 5_000

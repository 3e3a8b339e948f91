import numpy as np
import pytest

from distortion_reliability.errors import ConfigError
from distortion_reliability.box import Box, check_threshold, test_levels, test_set_kind, test_set_notice, test_set_spec


def box():
    return Box(["scale", "rotation"], [0.7, 0.0], [1.3, 90.0])


def test_unit_round_trip_and_corners():
    b = box()
    x = np.array([[0.7, 0.0], [1.3, 90.0], [1.0, 45.0]])
    u = b.to_unit(x)
    np.testing.assert_allclose(u, [[0, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_allclose(b.from_unit(u), x)


def test_grid_counts_and_ends():
    g = box().grid(4)
    assert g.shape == (16, 2)
    assert len({tuple(r) for r in g}) == 16
    np.testing.assert_allclose(g.min(0), [0.7, 0.0])
    np.testing.assert_allclose(g.max(0), [1.3, 90.0])
    assert Box(list("abcdef"), [0] * 6, [1] * 6).grid(4).shape == (4096, 6)


def test_uniform_is_seeded_and_inside():
    b = box()
    a1, a2 = b.sample_uniform(50, 3), b.sample_uniform(50, 3)
    np.testing.assert_array_equal(a1, a2)
    b.validate(a1)


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Box(["a"], [1.0], [0.0]), "a.domain"),
        (lambda: box().grid(1), "points_per_dim"),
        (lambda: box().validate([[1.0, 95.0]]), "level[rotation]"),
        (lambda: check_threshold(1.5), "h"),
        (lambda: check_threshold(-0.1), "h"),
    ],
)
def test_bad_input_names_field(make, field):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.field == field
    assert field in str(e.value)


# ----------------------------------------------------------------------------- the test set R'
TEN = Box([f"x{i}" for i in range(10)], [0.0] * 10, [2.0] * 10)


def test_auto_keeps_the_grid_while_small_and_its_cache_spec_unchanged():
    b = Box(list("abcdef"), [0] * 6, [1] * 6)
    assert test_set_kind(6, "auto", 4, 4096) == "grid"  # 4^6 = 4,096: the paper's grid
    np.testing.assert_array_equal(test_levels(b, "auto", 4, 4096, 0), b.grid(4))
    assert test_set_spec(b, "auto", 4, 4096, 0) == {"points_per_dim": 4}  # the grid's key as before
    assert test_set_kind(6, "auto", 5, 4096) == "sobol"  # 5^6 = 15,625 > 4,096
    assert test_set_kind(10, "grid", 4, 4096) == "grid"  # forced


def test_beyond_size_a_seeded_scrambled_sobol_set_fills_every_axis_evenly():
    levels = test_levels(TEN, "auto", 4, 4096, seed=0)  # 4^10 = 1,048,576 > 4,096
    assert levels.shape == (4096, 10)
    TEN.validate(levels)
    np.testing.assert_array_equal(levels, test_levels(TEN, "sobol", 4, 4096, seed=0))
    assert not np.array_equal(levels, test_levels(TEN, "sobol", 4, 4096, seed=1))
    # the first 2^12 points of a (scrambled) Sobol sequence: each of 16 equal slices of every axis
    # holds exactly 4096 / 16 of them, which uniform random draws almost never do
    for j in range(10):
        counts = np.bincount(np.floor(levels[:, j] / 2.0 * 16).astype(int), minlength=16)
        assert np.all(counts == 256), (j, counts)
    assert test_set_spec(TEN, "auto", 4, 4096, 0) == {"kind": "sobol", "size": 4096, "seed": 0}
    assert test_set_notice(10, "auto", 4, 4096) == ("grid: 4^10 = 1,048,576 levels > grid.size = 4,096: the test set "
                                                    "is a scrambled Sobol set of 4,096 levels (grid.kind=sobol)")
    assert test_set_notice(10, "sobol", 4, 4096) is None and test_set_notice(6, "auto", 4, 4096) is None


def test_bad_test_set_settings_name_their_field():
    with pytest.raises(ConfigError) as e:
        test_levels(TEN, "halton", 4, 4096, 0)
    assert e.value.field == "grid.kind"
    with pytest.raises(ConfigError) as e:
        test_levels(TEN, "sobol", 4, 1, 0)
    assert e.value.field == "grid.size"

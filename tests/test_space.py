import numpy as np
import pytest

from distortion_reliability.errors import ConfigError
from distortion_reliability.space import Box, check_threshold


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

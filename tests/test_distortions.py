"""Distortion ops and space: semantics of each op, batching contracts, precision, bad input, contact sheet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from omegaconf import OmegaConf

from distortion_reliability import distortions as dist
from distortion_reliability.distortions import DistortionOp, DistortionSpace
from distortion_reliability.errors import ConfigError
from distortion_reliability.pipeline import compose_config

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
NAMES = ["scale", "rotation", "translation_x", "translation_y", "darkness", "rain"]
DISTORTION_CONFIGS = sorted(p.stem for p in (REPO / "conf" / "distortion").glob("*.yaml"))


def build(overrides=()) -> DistortionSpace:
    """The space the runner builds: composed config, ``name`` removed, instantiated."""
    return DistortionSpace.from_config(OmegaConf.to_container(compose_config(list(overrides)).distortion, resolve=True))


@pytest.fixture(scope="module")
def space() -> DistortionSpace:
    return build()


def ops(*entries) -> DistortionSpace:
    """A space of built-in ops: ``ops(("rotation", [0, 180]), ...)``."""
    return DistortionSpace([getattr(dist, name)(domain) for name, domain in entries])


def level(space: DistortionSpace, **values: float) -> np.ndarray:
    """One level: identity everywhere except ``values``."""
    out = space.identity.copy()
    for name, value in values.items():
        out[space.names.index(name)] = value
    return out[None]


def images(n: int = 6, c: int = 1, h: int = 12, w: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- the paper space


def test_paper_space_matches_table_1_and_the_yaml(space):
    assert space.names == tuple(NAMES) and space.label == "paper"
    np.testing.assert_array_equal(space.box.lower, [0.7, 0, -0.2, -0.2, 0.7, 0])
    np.testing.assert_array_equal(space.box.upper, [1.3, 90, 0.2, 0.2, 1.3, 1])
    np.testing.assert_array_equal(space.identity, [1, 0, 0, 0, 1, 0])
    assert not space.identity.flags.writeable
    assert space.pipeline == ["scale", "rotation", "translation_x", "translation_y", "rain", "darkness"]
    # The spec keys the oracle's cache: exactly what the name-registry version produced.
    assert space.spec() == {
        "names": NAMES,
        "domains": [[0.7, 1.3], [0.0, 90.0], [-0.2, 0.2], [-0.2, 0.2], [0.7, 1.3], [0.0, 1.0]],
        "versions": {n: "1" for n in NAMES},
        "pipeline": ["scale", "rotation", "translation_x", "translation_y", "rain", "darkness"],
        "interpolation": "bilinear, align_corners=False, zero fill",
    }


@pytest.mark.parametrize("name", DISTORTION_CONFIGS)
def test_every_distortion_config_composes_and_instantiates(name):
    from hydra.utils import instantiate

    node = OmegaConf.to_container(compose_config([f"distortion={name}"]).distortion, resolve=True)
    assert node.pop("name") == name and "_target_" in node
    built = instantiate(node)  # exactly as the pipeline does: name removed, nothing else passed
    assert isinstance(built, DistortionSpace) and built.d >= 1
    assert all(isinstance(op, DistortionOp) for op in built.ops)
    assert all(isinstance(entry, dict) and "_target_" in entry for entry in node["ops"])


def test_domains_live_only_in_the_yaml():
    assert not hasattr(dist, "PRESETS") and not hasattr(dist, "register_distortion")
    with pytest.raises(TypeError):
        dist.rotation()  # a built-in op has no default domain: the config gives it
    src = (REPO / "src" / "distortion_reliability" / "distortions").glob("*.py")
    assert not any("0.7, 1.3" in p.read_text() or "-0.2, 0.2" in p.read_text() for p in src)


def test_overrides_reach_the_space():
    narrower = build(["distortion.ops.1.domain=[0,45]"])
    assert narrower.box.upper[1] == 45.0 and narrower.spec() != build().spec()
    assert narrower.spec()["domains"][1] == [0.0, 45.0]
    two = build(["distortion.ops=[{_target_: distortion_reliability.distortions.rotation, domain: [0, 30]},"
                 "{_target_: distortion_reliability.distortions.rain, domain: [0, 0.5]}]"])
    assert two.names == ("rotation", "rain") and two.identity.tolist() == [0.0, 0.0]


def test_spec_is_json_and_tracks_domains_and_versions(space):
    spec = space.spec()
    assert json.loads(json.dumps(spec)) == spec
    assert spec["versions"] == {op.name: op.version for op in space.ops}
    narrower = ops(("rotation", [0, 45]))
    assert narrower.names == ("rotation",) and narrower.spec()["domains"] == [[0.0, 45.0]]
    assert narrower.spec() != ops(("rotation", [0, 90])).spec()
    bumped = DistortionSpace([DistortionOp("rotation", dist.rotation_matrices, [0, 45], identity=0.0, kind="affine",
                                           order=20, version="2")])
    assert bumped.spec() != narrower.spec()


# ----------------------------------------------------------------------------- geometry


def test_identity_level_leaves_images_unchanged(space):
    x = images(c=3)
    noise = space.make_noise(len(x), 12, 12, seed=0)
    out = space.apply(x, space.identity[None], noise)
    assert out.shape == (1, *x.shape)
    assert torch.equal(out[0], x)
    # An identity level batched with moving ones still returns the exact input.
    mixed = np.concatenate([level(space, rotation=30), space.identity[None], level(space, darkness=0.8)])
    assert torch.equal(space.apply(x, mixed, noise)[1], x)


@pytest.mark.parametrize("channels", [1, 3])
def test_rotation_by_90_equals_rot90_counter_clockwise(space, channels):
    x = images(c=channels, h=16, w=16)
    out = space.apply(x, level(space, rotation=90.0))[0]
    torch.testing.assert_close(out, torch.rot90(x, k=1, dims=(-2, -1)), atol=1e-5, rtol=0)
    assert not torch.allclose(out, torch.rot90(x, k=-1, dims=(-2, -1)), atol=1e-2)


def test_rotation_respects_aspect_ratio_on_non_square_images():
    # 180 degrees on a 6x10 image is a flip of both axes only if the rotation is done in pixels,
    # not in normalised coordinates (which would shear a non-square image).
    wide = ops(("rotation", [0, 180]))
    x = images(h=6, w=10)
    out = wide.apply(x, [[180.0]])[0]
    torch.testing.assert_close(out, torch.flip(x, dims=(-2, -1)), atol=1e-5, rtol=0)


def test_integer_translation_moves_a_bright_pixel_right_and_down(space):
    img = torch.zeros(1, 1, 20, 10)
    img[0, 0, 7, 4] = 1.0
    # translation_x 0.2 of width 10 = 2 px right; translation_y 0.1 of height 20 = 2 px down.
    for kwargs, (row, col) in [({"translation_x": 0.2}, (7, 6)), ({"translation_x": -0.1}, (7, 3)),
                               ({"translation_y": 0.1}, (9, 4)), ({"translation_y": -0.2}, (3, 4))]:
        out = space.apply(img, level(space, **kwargs))[0, 0, 0]
        assert out[row, col] == pytest.approx(1.0, abs=1e-5), kwargs
        assert out.sum() == pytest.approx(1.0, abs=1e-4), kwargs


def test_integer_translation_is_an_exact_shift_with_black_fill(space):
    x = images(c=3, h=10, w=10)
    out = space.apply(x, level(space, translation_x=0.2, translation_y=-0.1))[0]
    expected = torch.zeros_like(x)
    expected[..., :9, 2:] = x[..., 1:, :8]  # right by 2, up by 1
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_scale_above_one_magnifies_a_centred_square(space):
    img = torch.zeros(1, 1, 32, 32)
    img[..., 12:20, 12:20] = 1.0  # 8x8 square centred on the image centre
    area = {s: int((space.apply(img, level(space, scale=s))[0] > 0.5).sum()) for s in (0.75, 1.0, 1.25)}
    assert area[1.0] == 64
    assert area[1.25] == 100  # side 8 * 1.25 = 10
    assert area[0.75] == 36  # side 8 * 0.75 = 6
    # Magnification is about the centre: the grown square stays centred.
    big = space.apply(img, level(space, scale=1.25))[0, 0, 0] > 0.5
    rows, cols = torch.nonzero(big, as_tuple=True)
    assert rows.float().mean() == pytest.approx(15.5) and cols.float().mean() == pytest.approx(15.5)


# ----------------------------------------------------------------------------- pixel ops


def test_darkness_scales_intensities_and_clamps(space):
    x = images(c=3)
    darker, brighter = space.apply(x, np.concatenate([level(space, darkness=0.8), level(space, darkness=1.3)]))
    torch.testing.assert_close(darker, x * 0.8, atol=1e-6, rtol=0)
    torch.testing.assert_close(brighter, (x * 1.3).clamp(max=1.0), atol=1e-6, rtol=0)
    assert brighter.max() == 1.0


def test_rain_is_a_no_op_at_zero_and_grows_monotonically(space):
    x = images(n=8, c=3, h=32, w=32)
    noise = space.make_noise(len(x), 32, 32, seed=1)
    rain_levels = [0.0, 0.1, 0.3, 0.6, 1.0]
    out = space.apply(x, np.concatenate([level(space, rain=r) for r in rain_levels]), noise)
    assert torch.equal(out[0], x)
    changed = [(o != x).any(dim=1) for o in out[1:]]  # wet pixels per level
    counts = [int(c.sum()) for c in changed]
    assert counts[0] > 0 and all(a < b for a, b in zip(counts, counts[1:])), counts
    for lower, higher in zip(changed, changed[1:]):  # streaks only ever get added
        assert not (lower & ~higher).any()
    # Streaks are white-ish: rain brightens the dark pixels it touches.
    dark = x.max(dim=1).values < 0.3
    assert (out[-1].mean(dim=1)[dark & changed[-1]] > x.mean(dim=1)[dark & changed[-1]]).all()


def test_rain_intensity_grows_with_the_level(space):
    black = torch.zeros(8, 1, 32, 32)
    noise = space.make_noise(len(black), 32, 32, seed=2)
    rain_levels = [0.2, 0.5, 1.0]
    out = space.apply(black, np.concatenate([level(space, rain=r) for r in rain_levels]), noise)[:, :, 0]
    # On black, the output is the streak opacity: never lower at a higher level, pixel by pixel ...
    assert (out[1:] >= out[:-1]).all()
    # ... and the streaks already there at a low level get more opaque, not just more numerous.
    wet_low = out[0] > 0
    mean_opacity = [float(o[wet_low].mean()) for o in out]
    assert mean_opacity[0] + 0.1 < mean_opacity[1] and mean_opacity[1] + 0.1 < mean_opacity[2], mean_opacity


def test_rain_noise_is_seeded_and_independent_of_how_many_images(space):
    a = space.make_noise(10, 28, 28, seed=5)
    assert a.shape == (10, 1, 28, 28) and a.dtype == torch.float32
    assert torch.equal(a, space.make_noise(10, 28, 28, seed=5))
    assert not torch.equal(a, space.make_noise(10, 28, 28, seed=6))
    assert torch.equal(a[:4], space.make_noise(4, 28, 28, seed=5))  # row i belongs to image i
    assert ops(("rotation", [0, 90]), ("darkness", [0.5, 1])).make_noise(3, 8, 8, seed=0) is None


@pytest.mark.parametrize("size", [8, 224])
def test_rain_works_from_tiny_to_imagenet_sizes(space, size):
    x = torch.full((2, 3, size, size), 0.2)
    noise = space.make_noise(2, size, size, seed=0)
    wet = (space.apply(x, level(space, rain=1.0), noise)[0] != x).any(dim=1).float().mean().item()
    assert 0.1 < wet < 0.6, wet  # a lot of rain, not a white-out, at both sizes


def test_rain_without_noise_is_a_clear_error(space):
    with pytest.raises(ConfigError, match="noise") as err:
        space.apply(images(), level(space, rain=0.5))
    assert err.value.field == "noise"
    space.apply(images(), level(space, rain=0.0))  # no rain in the batch: no noise needed
    with pytest.raises(ConfigError, match="noise"):
        space.apply(images(n=6), level(space, rain=0.5), space.make_noise(5, 12, 12, seed=0))


# ----------------------------------------------------------------------------- batching contracts


def test_deterministic_and_batching_levels_equals_one_at_a_time(space):
    x = images(n=5, c=3, h=16, w=16)
    noise = space.make_noise(len(x), 16, 16, seed=0)
    levels = np.concatenate([space.box.sample_uniform(5, 0), space.identity[None], level(space, rain=0.7)])
    batched = space.apply(x, levels, noise)
    assert torch.equal(batched, space.apply(x, levels, noise))
    for i, lv in enumerate(levels):
        assert torch.equal(batched[i], space.apply(x, lv[None], noise)[0]), i
    assert batched.min() >= 0 and batched.max() <= 1


def test_chunking_images_equals_slicing(space):
    x = images(n=9, c=3, h=16, w=16)
    noise = space.make_noise(len(x), 16, 16, seed=0)
    levels = space.box.sample_uniform(4, 1)
    full = space.apply(x, levels, noise)
    for a, b in [(0, 4), (4, 9), (3, 4)]:
        assert torch.equal(space.apply(x[a:b], levels, noise[a:b]), full[:, a:b])


def test_bf16_input_works_and_is_close_to_fp32(space):
    x = images(n=5, c=3, h=16, w=16)
    noise = space.make_noise(len(x), 16, 16, seed=0)
    levels = np.concatenate([space.box.sample_uniform(4, 2), space.identity[None]])
    reference = space.apply(x, levels, noise)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # how the oracle calls it
        low = space.apply(x.bfloat16(), levels, noise)
    assert low.dtype == torch.bfloat16 and low.shape == reference.shape
    # bf16 keeps 8 bits: inputs and outputs round by <= 2^-8 relative each.
    torch.testing.assert_close(low.float(), reference, atol=1.6e-2, rtol=0)
    assert (low.float() - reference).abs().mean() < 2e-3


def test_levels_on_a_domain_bound_are_accepted_without_tolerance(space):
    # Levels stay float64 to the ops, so the bound is the bound: no widened tolerance is needed...
    out = space.apply(images(), space.box.upper[None], space.make_noise(6, 12, 12, seed=0))
    assert out.shape == (1, 6, 1, 12, 12)
    # ...and a float32 level rounded past one (float32(0.2) > 0.2) is outside the box, refused.
    with pytest.raises(ConfigError, match="level\\[translation_x\\]"):
        space.apply(images(), torch.tensor(space.box.upper[None], dtype=torch.float32))


# ----------------------------------------------------------------------------- extension


def invert(batch, levels, noise):
    """Blend towards the negative image: 0 leaves it, 1 inverts it."""
    return batch.lerp_(1 - batch, levels.to(batch.dtype).view(-1, 1, 1, 1, 1))


def speckle_field(num_images, height, width, generator):
    return torch.rand(num_images, 2, height, width, generator=generator)


def speckle(batch, levels, noise):
    """Black speckles where the op's own noise field is below the level."""
    mask = (noise[:, :1] < levels.view(-1, 1, 1, 1, 1)).to(batch.dtype)
    return batch.mul_(1 - mask)


def test_a_user_op_is_a_function_and_a_yaml_entry():
    user = ("{_target_: distortion_reliability.distortions.DistortionOp, name: invert, "
            f"fn: {__name__}.invert, kind: pixel, domain: [0.0, 1.0], identity: 0.0, order: 150}}")
    space = build([f"distortion.ops=[{user}, {{_target_: distortion_reliability.distortions.darkness, domain: [0.7, 1.3]}}]"])
    x = images()
    out = space.apply(x, [[1.0, 1.0], [0.0, 0.8]])
    torch.testing.assert_close(out[0], 1 - x)
    torch.testing.assert_close(out[1], x * 0.8)
    assert space.pipeline == ["invert", "darkness"] and space.identity.tolist() == [0.0, 1.0]
    assert space.ops[0].fn is invert and space.ops[0].description.startswith("Blend towards")


def test_a_user_op_with_its_own_noise_stacks_after_rain():
    space = DistortionSpace([dist.rain([0, 1]),
                             DistortionOp("speckle", speckle, [0, 1], identity=0.0, order=150,
                                          make_noise=f"{__name__}.speckle_field", noise_channels=2)])
    noise = space.make_noise(4, 8, 8, seed=0)
    assert noise.shape == (4, 3, 8, 8)  # rain's one field, then speckle's two
    # Each op's field comes from its own generator: rain's is the same as in a rain-only space.
    assert torch.equal(noise[:, :1], ops(("rain", [0, 1])).make_noise(4, 8, 8, seed=0))
    out = space.apply(torch.ones(4, 1, 8, 8), [[0.0, 0.5]], noise)[0]
    torch.testing.assert_close(out, (noise[:, 1:2] >= 0.5).float())


# ----------------------------------------------------------------------------- bad input


def test_unknown_op_target_and_fn_are_clear_errors():
    with pytest.raises(ConfigError, match="blur"):
        build(["distortion.ops=[{_target_: distortion_reliability.distortions.blur, domain: [0, 1]}]"])
    with pytest.raises(ConfigError) as err:
        DistortionOp("blur", "no_such_package.blur", [0, 1], identity=0.0)
    assert err.value.field == "blur.fn" and "no_such_package.blur" in str(err.value)
    with pytest.raises(ConfigError, match="kind"):
        DistortionOp("blur", invert, [0, 1], identity=0.0, kind="warp")
    with pytest.raises(ConfigError, match="_target_"):  # the old {name, domain} entries say what changed
        DistortionSpace.from_config({"name": "paper", "ops": [{"name": "rotation", "domain": [0, 90]}]})
    with pytest.raises(ConfigError, match=r"distortion\.ops\[0\]"):
        DistortionSpace([{"name": "rotation", "domain": [0, 90]}])


@pytest.mark.parametrize(
    "overrides, field",
    [
        (["distortion.ops.1.domain=[90,0]"], "rotation.domain"),
        (["distortion.ops.0.domain=[0.0,1.3]"], "scale.domain"),  # a zero scale cannot be inverted
        (["distortion.ops.5.domain=[0.0]"], "rain.domain"),
        (["distortion.ops.5.domain=[0.0,1.5]"], "rain.domain"),
        (["distortion.ops.4.domain=[a,b]"], "darkness.domain"),
        (["distortion.ops=[]"], "distortion.ops"),
    ],
)
def test_bad_domains_and_op_lists_name_the_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        build(overrides)  # the class's own error comes out of Hydra unwrapped
    assert err.value.field == field and field in str(err.value)


def test_repeated_op_is_refused():
    with pytest.raises(ConfigError) as err:
        ops(("rain", [0, 1]), ("rain", [0, 0.5]))
    assert err.value.field == "distortion.ops"


def test_level_outside_its_domain_names_op_and_value(space):
    with pytest.raises(ConfigError) as err:
        space.apply(images(), level(space, rotation=120.0))
    assert err.value.field == "level[rotation]" and err.value.value == 120.0
    assert "120" in str(err.value)
    with pytest.raises(ConfigError, match="shape"):
        space.apply(images(), np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="images"):
        space.apply(torch.rand(12, 12), space.identity[None])

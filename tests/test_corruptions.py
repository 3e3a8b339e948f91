"""The corruption ops (distortions/noise, blur, photometric, compression): identity, batching,
seeding, value range, the real LeNet-5's accuracy against severity, and the level path to the op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from distortion_reliability import distortions as dist
from distortion_reliability.distortions import DistortionOp, DistortionSpace

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]

#: Each corruption op with a domain from its identity to about ImageNet-C's severity 5.
DOMAINS = {
    "gaussian_noise": [0.0, 0.38], "shot_noise": [0.0, 1 / 3], "impulse_noise": [0.0, 0.27],
    "gaussian_blur": [0.0, 3.0], "motion_blur": [0.0, 8.0], "contrast": [0.05, 1.0], "brightness": [0.0, 0.5],
    "saturation": [0.0, 1.0], "jpeg": [7.0, 100.0], "pixelate": [0.25, 1.0], "fog": [0.0, 3.0],
}
RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "fog")


def space_of(name: str) -> DistortionSpace:
    return DistortionSpace([getattr(dist, name)(DOMAINS[name])])


def severities(space: DistortionSpace, k: int = 5) -> np.ndarray:
    """``[k, 1]`` levels from the identity to the far end of the (one-op) domain."""
    ident = space.identity[0]
    far = space.box.upper[0] if space.box.lower[0] == ident else space.box.lower[0]
    return np.linspace(ident, far, k)[:, None]


def pictures(n: int = 4, c: int = 3, size: int = 20, seed: int = 0) -> torch.Tensor:
    """Smooth images in (0, 1) with an edge, so blur, contrast and compression all change them."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, c, 5, 5, generator=g)
    x = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=True)
    x[..., size // 2:] = x[..., size // 2:] * 0.5 + 0.4
    return x.clamp(0.02, 0.98)


@pytest.mark.parametrize("name", sorted(DOMAINS))
@pytest.mark.parametrize("channels", [1, 3])
def test_identity_level_returns_the_input(name, channels):
    space = space_of(name)
    x = pictures(c=channels)
    noise = space.make_noise(len(x), 20, 20, seed=0)
    assert torch.equal(space.apply(x, space.identity[None], noise)[0], x)
    # the op itself, not just the space's skip of an all-identity column
    buf = x.unsqueeze(0).clone()
    levels = torch.tensor([space.identity[0]], dtype=torch.float64)
    assert torch.equal(space.ops[0].fn(buf, levels, noise), x.unsqueeze(0))


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_batched_equals_per_image_and_per_level(name):
    space = space_of(name)
    x = pictures(n=5)
    noise = space.make_noise(len(x), 20, 20, seed=0)
    levels = severities(space)
    full = space.apply(x, levels, noise)
    assert not torch.equal(full[-1], x)
    for i in range(len(x)):
        torch.testing.assert_close(space.apply(x[i:i + 1], levels, noise[i:i + 1] if noise is not None else None),
                                   full[:, i:i + 1], rtol=0, atol=1e-6)
    for k in range(len(levels)):
        assert torch.equal(space.apply(x, levels[k:k + 1], noise)[0], full[k]), k


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_same_seed_same_output_and_random_ops_follow_the_seed(name):
    space = space_of(name)
    x = pictures()
    levels = severities(space)[1:]
    first = space.apply(x, levels, space.make_noise(len(x), 20, 20, seed=7))
    assert torch.equal(first, space.apply(x, levels, space.make_noise(len(x), 20, 20, seed=7)))
    other = space.apply(x, levels, space.make_noise(len(x), 20, 20, seed=8))
    assert torch.equal(first, other) == (name not in RANDOM)


@pytest.mark.parametrize("name", sorted(DOMAINS))
@pytest.mark.parametrize("channels", [1, 3])
def test_ops_keep_values_in_0_1_and_change_images_away_from_identity(name, channels):
    space = space_of(name)
    x = torch.cat([pictures(c=channels), torch.zeros(1, channels, 20, 20), torch.ones(1, channels, 20, 20)])
    noise = space.make_noise(len(x), 20, 20, seed=0)
    levels = severities(space)
    out = space.ops[0].fn(x.unsqueeze(0).repeat(len(levels), 1, 1, 1, 1), torch.tensor(levels[:, 0]), noise)
    assert out.min() >= 0 and out.max() <= 1  # before the space's own clamp
    changed = (out[-1, :4] - x[:4]).abs().mean().item()
    if name == "saturation" and channels == 1:
        assert changed == 0  # no colour to take away
    else:
        assert changed > 1e-3


def test_saturation_zero_makes_colour_images_grey():
    space = DistortionSpace([dist.saturation([0.0, 2.0])])
    out = space.apply(pictures(), [[0.0]])[0]
    torch.testing.assert_close(out, out[:, :1].expand_as(out), rtol=0, atol=1e-6)


def test_motion_kernel_is_a_normalised_streak_along_its_angle():
    from distortion_reliability.distortions.blur import motion_kernel

    flat = motion_kernel(4.0, 0.0, torch.float64, torch.device("cpu"))
    assert flat.sum().item() == pytest.approx(1.0)
    centre = flat.shape[0] // 2
    assert flat[centre].sum().item() == pytest.approx(1.0)  # horizontal: all weight on the middle row
    diagonal = motion_kernel(4.0, 45.0, torch.float64, torch.device("cpu"))
    # counter-clockwise as displayed (y down): the streak runs from bottom-left to top-right
    assert diagonal[centre - 1, centre + 1] > 0 and diagonal[centre - 1, centre - 1] == 0
    assert torch.allclose(diagonal, diagonal.T) and torch.allclose(diagonal, diagonal.flip(0, 1))
    point = motion_kernel(0.0, 30.0, torch.float64, torch.device("cpu"))
    assert point[point.shape[0] // 2, point.shape[1] // 2].item() == 1.0  # length 0: the identity tap


def test_named_spaces_hold_the_promised_ops():
    def ops_of(name):
        node = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "distortion" / f"{name}.yaml"))
        return DistortionSpace.from_config(node)

    corruptions, common, paper = ops_of("corruptions"), ops_of("common"), ops_of("paper")
    assert corruptions.d == 6 and all(n in DOMAINS for n in corruptions.names)
    assert common.d == 10 and common.names[:6] == paper.names
    assert all(n in DOMAINS for n in common.names[6:])


def test_the_contact_sheet_draws_any_space(tmp_path):
    from PIL import Image

    from distortion_reliability.reporting.contact_sheet import contact_sheet

    def sheet(name):
        node = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "distortion" / f"{name}.yaml"))
        path = contact_sheet(pictures(n=1, c=3, size=16), DistortionSpace.from_config(node), 3, tmp_path / f"{name}.png")
        return Image.open(path).size

    (w6, h6), (w10, h10) = sheet("corruptions"), sheet("common")
    assert w6 == w10 and 1.5 < h10 / h6 < 1.8  # one row per op: 10 rows against 6


def test_a_sampled_level_reaches_the_op_bit_identical():
    """Sampler -> oracle -> DistortionSpace.apply -> op: the float64 level arrives as sampled (cast once)."""
    from distortion_reliability.oracle import Oracle
    from distortion_reliability.build import build
    from distortion_reliability.pipeline import compose_config

    seen: list[np.ndarray] = []

    def probe(images, levels, noise):
        assert levels.dtype == torch.float64
        seen.append(levels.cpu().numpy().copy())
        return images

    space = DistortionSpace([DistortionOp("probe", probe, [0.1, 0.7], identity=0.0), dist.contrast([0.05, 1.0])])
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    images = pictures(n=6, c=1, size=8)
    oracle = Oracle(model, images, torch.zeros(6, dtype=torch.long), space, precision="fp32", progress=False)
    sampler = build("sampler", compose_config(["sampler=random", "sampler.budget=12", "progress=false"]).sampler)
    result = sampler.sample(oracle, space.box, 0.5, seed=3)
    received = np.concatenate(seen)
    sampled = np.asarray(result.levels)[:, 0]
    assert len(sampled) == 12 and sampled.dtype == np.float64
    assert set(sampled.tolist()) <= set(received.tolist())  # bitwise: floats compare exactly


# ----------------------------------------------------------------------------- the real LeNet-5


#: Harsher ends for the real-model check where the usual domain barely moves LeNet-5 (measured on
#: 400 MNIST images: shot noise 1/3 costs 0.6 points, 2 costs 9; JPEG quality 7 costs 0.3, quality 1
#: costs 1 point -- LeNet-5 on MNIST is nearly blind to JPEG, so its required fall is small).
LENET_DOMAINS = {**DOMAINS, "shot_noise": [0.0, 2.0], "jpeg": [1.0, 100.0]}
MIN_FALL = {"jpeg": 0.005}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(set(DOMAINS) - {"saturation"}))  # saturation: MNIST is grey
def test_real_lenet5_accuracy_falls_as_severity_rises(name, shared_data):
    from distortion_reliability import models
    from distortion_reliability.build import build
    from distortion_reliability.config import compose_config

    cfg = compose_config(["dataset=mnist", "dataset.verification_size=400"])
    vset = build("dataset", cfg.dataset, data_dir=shared_data).verification_set(0)
    net = models.load_model("lenet5", dataset="mnist", data_dir=shared_data, progress=False).module.eval()
    space = DistortionSpace([getattr(dist, name)(LENET_DOMAINS[name])])
    levels = severities(space, 5)
    noise = space.make_noise(len(vset.images), 28, 28, seed=0)
    with torch.inference_mode():
        out = space.apply(vset.images, levels, noise)
        logits = net(out.reshape(-1, *out.shape[2:]).contiguous(memory_format=torch.channels_last))
    accuracy = (logits.argmax(1).reshape(len(levels), -1) == vset.labels).float().mean(1).numpy()
    # monotone within noise (one image in 400 is 0.25 points), and a real fall at the far end
    assert np.all(np.diff(accuracy) <= 0.02), accuracy
    assert accuracy[-1] < accuracy[0] - MIN_FALL.get(name, 0.05), accuracy


# ----------------------------------------------------------------------------- beyond six dimensions


@pytest.mark.slow
def test_a_10d_job_runs_end_to_end_on_digits_with_the_sobol_test_set(tmp_path):
    from distortion_reliability.pipeline import compose_config, run

    # 4^10 levels > grid.size = 128: the test set is 128 Sobol levels. digits' 8x8 images lose
    # everything to the full corruption domains, so they are narrowed to keep some levels reliable.
    cfg = compose_config(["distortion=common", "dataset.verification_size=100", "sampler=gp", "sampler.budget=30",
                          "imbalance=none", "predictors=with_gp", "h=0.3", "progress=false", "report=false",
                          "oracle.precision=fp32", "grid.size=128", f"cache_dir={tmp_path}",
                          "distortion.ops.1.domain=[0,30]", "distortion.ops.6.domain=[0,0.1]",
                          "distortion.ops.7.domain=[0,0.5]"])
    result = run(cfg, output_dir=tmp_path)
    s = result.summary
    assert s["grid_positive"] + s["grid_negative"] == 128
    assert len(result.space["names"]) == 10 and list(result.training.columns[:10]) == result.space["names"]
    assert len(result.training) == 30
    scores = result.scores.set_index("predictor")
    assert "gp_classifier" in scores.index and 0.0 <= scores.loc["gp_classifier", "f1"] <= 1.0
    assert s["grid_positive"] > 0  # the Sobol set reaches the reliable corner

"""Our severity scales against ImageNet-C: each deterministic corruption, at the level
``imagenet_c.SEVERITIES`` maps each of its five severities to, reproduces the ``imagecorruptions``
package's output (a fixture made by tests/fixtures/make_imagenet_c_fixture.py; the package itself
is not a dependency)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from distortion_reliability import distortions as dist
from distortion_reliability.distortions import DistortionSpace
from distortion_reliability.distortions.imagenet_c import CHECKED, SEVERITIES, TOLERANCE

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "imagenet_c.npz"


@pytest.fixture(scope="module")
def fixture():
    with np.load(FIXTURE) as arrays:
        return {k: arrays[k] for k in arrays.files}


def as_tensor(uint8: np.ndarray) -> torch.Tensor:
    """``[..., H, W, 3]`` uint8 -> ``[..., 3, H, W]`` float32 in [0, 1]."""
    return torch.from_numpy(np.moveaxis(uint8, -1, -3).astype(np.float32) / 255)


@pytest.mark.parametrize("op", sorted(CHECKED))
def test_our_levels_reproduce_imagenet_c_severities(op, fixture):
    levels = np.array([s for s in SEVERITIES[op] if s is not None])
    identity = {"contrast": 1.0, "saturation": 1.0, "pixelate": 1.0, "jpeg": 100.0}.get(op, 0.0)
    space = DistortionSpace([getattr(dist, op)([min(levels.min(), identity), max(levels.max(), identity)])])
    images = as_tensor(fixture["images"])  # two colour pictures, one grey (as RGB)
    ours = space.apply(images, levels[:, None])
    theirs = as_tensor(fixture[CHECKED[op]])
    assert theirs.shape == ours.shape
    for severity, (a, b) in enumerate(zip(ours, theirs), start=1):
        gap = (a - b).abs().mean().item()
        assert gap <= TOLERANCE[op], f"{op} severity {severity}: mean |ours - ImageNet-C| = {gap * 255:.2f}/255"
        # and the corruption is really there: ImageNet-C's output is far from the clean image
        assert gap < (b - images).abs().mean().item()


def test_every_op_with_a_severity_map_exists_and_maps_monotonically():
    for op, levels in SEVERITIES.items():
        factory = getattr(dist, op)
        known = [s for s in levels if s is not None]
        built = factory([min(known), max(known)] if op != "saturation" else [0.0, 2.0])
        assert built.name == op
        if op != "saturation":  # saturation's severities go both ways (0.3, 0.1, then 2)
            distance = np.abs(np.array(known) - built.identity)
            assert np.all(np.diff(distance) >= 0), op  # severity 5 is furthest from the identity

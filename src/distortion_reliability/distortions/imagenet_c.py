"""Where ImageNet-C's five severities lie on our continuous scales (``imagecorruptions`` 1.1.2).

ImageNet-C (Hendrycks & Dietterich, 2019) gives each corruption five fixed severities; our ops
take a continuous level in natural units. ``SEVERITIES[op] = (level at severity 1, ..., 5)``: the
level of our op that reproduces ImageNet-C's parameter at that severity. Where ImageNet-C's
corruption is deterministic, ``tests/test_imagenet_c.py`` checks our op at these levels against
outputs of the ``imagecorruptions`` package committed as a fixture
(``tests/fixtures/make_imagenet_c_fixture.py`` made them); the others map by definition (same
parameter of the same distribution; see each op's module). ``CHECKED`` names the checked ones,
``TOLERANCE`` the largest mean absolute difference on [0, 1] intensities the test accepts
and why.
"""

from __future__ import annotations

#: Our level at ImageNet-C severities 1..5 (``None``: that severity is not reachable by our op).
SEVERITIES: dict[str, tuple[float | None, ...]] = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
    "shot_noise": (1 / 60, 1 / 25, 1 / 12, 1 / 5, 1 / 3),
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
    "gaussian_blur": (1.0, 2.0, 3.0, 4.0, 6.0),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    # severities 4, 5 add 0.1 / 0.2 to the saturation after scaling, which our factor does not
    "saturation": (0.3, 0.1, 2.0, None, None),
    "jpeg": (25.0, 18.0, 15.0, 10.0, 7.0),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
    "fog": (1.5, 2.0, 2.5, 2.5, 3.0),
}

#: imagecorruptions' function name for each of our ops it defines deterministically.
CHECKED: dict[str, str] = {
    "gaussian_blur": "gaussian_blur",
    "contrast": "contrast",
    "brightness": "brightness",
    "saturation": "saturate",
    "jpeg": "jpeg_compression",
    "pixelate": "pixelate",
}

#: Mean |ours - ImageNet-C| on [0, 1] the check accepts. The fixture is stored as uint8 (rounded),
#: so 1/2 grey level is the floor and 1/255 leaves room for float32 (JPEG runs the same libjpeg as
#: PIL and matched bit for bit when the fixture was made; pixelate matched within 0.45 grey levels).
TOLERANCE: dict[str, float] = {
    "gaussian_blur": 1 / 255,
    "contrast": 1 / 255,
    "brightness": 1 / 255,
    "saturation": 1 / 255,
    "jpeg": 1 / 255,
    "pixelate": 1 / 255,
}

"""The distortion space C and its batched, deterministic distortion ops (paper Table 1, Figure 5).

The space is built from ``conf/distortion/*.yaml`` by ``hydra.utils.instantiate``; the domains
of the paper's Table 1 live there and nowhere else. A level ``c`` is one value per distortion, in
natural units (a scale factor, degrees, fractions of the image size); ``space.identity`` is the
undistorted level. :meth:`DistortionSpace.apply` distorts a whole batch of images by a whole batch
of levels in one call and returns ``[L, N, C, H, W]``.

Modules: :mod:`.op` (:class:`DistortionOp`), :mod:`.geometry` and :mod:`.pixel` (the built-in
ops, each a factory ``op(domain)``), :mod:`.space` (:class:`DistortionSpace`).

Pipeline (fixed, whatever the order of the ops in the config)
-------------------------------------------------------------
1. **Geometry** -- every ``"affine"`` op contributes a 2x3 forward matrix in centred pixel
   coordinates (x right, y down, origin at the image centre). They are composed in ``order``
   (scale, then rotation, then translation), inverted, and applied in ONE bilinear
   ``affine_grid`` + ``grid_sample`` resample (``align_corners=False``, black fill outside), so
   fusing several geometric distortions interpolates once, not once per op.
2. **Pixel ops** in ``order``: the optics first (``gaussian_blur`` 50, ``motion_blur`` 60), the
   scene (``fog`` 90, ``rain`` 100, on the lens, so not moved by the geometry), the exposure
   (``contrast`` 150, ``saturation`` 160, ``brightness`` 170, ``darkness`` 200, which dims the
   rain too), the sensor (``shot_noise`` 300, ``gaussian_noise`` 310, ``impulse_noise`` 320), and
   the digital losses last (``pixelate`` 400, ``jpeg`` 500).

Modules of the corruptions (ImageNet-C's families as continuous ops, each with its library
choice and its map onto ImageNet-C's five severities in its docstring): :mod:`.noise`,
:mod:`.blur`, :mod:`.photometric`, :mod:`.compression`; :mod:`.imagenet_c` holds the severity
map as data.

Output is clamped to [0, 1] and has the images' dtype and device.

Conventions of the built-in ops
-------------------------------
``scale`` s > 1 zooms in (content magnified about the centre). ``rotation`` is in degrees,
counter-clockwise as displayed (row 0 at the top): 90 degrees on a square image equals
``torch.rot90(images, k=1, dims=(-2, -1))``. ``translation_x`` t shifts content right by t * width,
``translation_y`` t shifts it down by t * height. ``darkness`` multiplies intensities by the level
(< 1 darker, > 1 brighter). ``rain`` draws slanted streaks, none at 0, denser and more opaque as it
grows to 1, from a per-image random field made once by :meth:`DistortionSpace.make_noise`.

Determinism
-----------
Same inputs give bitwise the same output; one level's result does not depend on the other levels in
the batch, nor one image's on the other images, so callers may chunk levels and images freely
(``noise`` rows must follow the images).

Adding a distortion
-------------------
Write one function, then give it an entry with its ``_target_`` in ``conf/distortion/*.yaml``;
there is no registry to edit::

    # my_package/ops.py
    def contrast(images, levels, noise):
        # images [L, N, C, H, W] (a buffer the pipeline owns: work in place), levels [L] float64
        mean = images.mean(dim=(-3, -2, -1), keepdim=True)
        return images.sub_(mean).mul_(levels.to(images.dtype).view(-1, 1, 1, 1, 1)).add_(mean)

    # conf/distortion/mine.yaml
    _target_: distortion_reliability.distortions.DistortionSpace
    name: mine
    ops:
      - {_target_: distortion_reliability.distortions.rotation, domain: [0.0, 45.0]}
      - _target_: distortion_reliability.distortions.DistortionOp
        name: contrast
        fn: my_package.ops.contrast
        kind: pixel              # or affine: fn(levels [L] float64, height, width) -> [L, 2, 3]
        domain: [0.5, 1.5]
        identity: 1.0            # the level that leaves images unchanged
        order: 150               # between rain (100) and darkness (200)

then ``python run.py distortion=mine``. A pixel op must treat every level and every image on its
own (no statistics across the batch), or the chunking contract above breaks; one that needs
randomness sets ``make_noise`` (a function or dotted path) and reads its fields from ``noise``.
Bump ``version`` whenever an op's output changes: it is part of :meth:`DistortionSpace.spec`,
which keys the oracle's cache.
"""

from .blur import gaussian_blur, motion_blur
from .compression import jpeg, pixelate
from .geometry import (
    rotation,
    rotation_matrices,
    scale,
    scale_matrices,
    translation_x,
    translation_x_matrices,
    translation_y,
    translation_y_matrices,
)
from .op import KINDS, DistortionOp, check_domain
from .noise import gaussian_noise, impulse_noise, shot_noise
from .photometric import brightness, contrast, fog, saturation
from .pixel import apply_darkness, apply_rain, darkness, make_rain_field, rain
from .distortion_space import DistortionSpace

__all__ = [
    "KINDS",
    "DistortionOp",
    "DistortionSpace",
    "apply_darkness",
    "apply_rain",
    "brightness",
    "contrast",
    "check_domain",
    "darkness",
    "fog",
    "gaussian_blur",
    "gaussian_noise",
    "impulse_noise",
    "jpeg",
    "make_rain_field",
    "motion_blur",
    "pixelate",
    "rain",
    "rotation",
    "rotation_matrices",
    "scale",
    "saturation",
    "scale_matrices",
    "shot_noise",
    "translation_x",
    "translation_x_matrices",
    "translation_y",
    "translation_y_matrices",
]

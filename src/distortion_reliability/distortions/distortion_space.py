"""The distortion space C: one dimension per op, in config order, and the batched distortion."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..box import Box
from .op import DistortionOp, _plain


class DistortionSpace:
    """The search space C (one dimension per op, in config order) and the batched distortion.

    Parameters
    ----------
    ops : sequence of DistortionOp
        The dimensions, in column order (built from the YAML's ``ops`` entries, each with its
        ``_target_``: a built-in factory such as ``rotation`` or :class:`DistortionOp` itself).
    label : str
        A human name for the space (e.g. ``"paper"``, set by :meth:`from_config` from the YAML's
        ``name``); not part of :meth:`spec`.

    Attributes
    ----------
    box : Box
        The domains (natural units), one dimension per op.
    names : tuple of str
        Op names in column order.
    identity : ndarray
        The level of each op that leaves images unchanged (read-only), e.g. ``[1, 0, 0, 0, 1, 0]``
        for the paper space (scale, rotation, shifts, darkness, rain).
    ops : tuple of DistortionOp
    """

    def __init__(self, ops: Sequence[DistortionOp], label: str = ""):
        if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Sequence) or len(ops) == 0:
            raise ConfigError("distortion.ops", _plain(ops), "must be a non-empty list of distortion ops")
        resolved: list[tuple[DistortionOp, float, float]] = []
        for i, op in enumerate(ops):
            if not isinstance(op, DistortionOp):
                raise ConfigError(f"distortion.ops[{i}]", _plain(op),
                                  "must be a DistortionOp: a YAML entry with _target_ "
                                  "(e.g. {_target_: distortion_reliability.distortions.rotation, domain: [0, 90]})")
            resolved.append((op, op.domain[0], op.domain[1]))
        names = [op.name for op, _, _ in resolved]
        if len(set(names)) != len(names):
            raise ConfigError("distortion.ops", names, "must not repeat a distortion")
        self.label = str(label)
        self.ops: tuple[DistortionOp, ...] = tuple(op for op, _, _ in resolved)
        self.box = Box(names, [lo for _, lo, _ in resolved], [hi for _, _, hi in resolved])
        self.identity = np.array([op.identity for op in self.ops])
        self.identity.setflags(write=False)
        # Pipeline: all geometry (one resample), then pixel ops, each group in `order`.
        ranked = sorted(range(len(self.ops)), key=lambda j: (self.ops[j].kind != "affine", self.ops[j].order))
        self._affine_cols = [j for j in ranked if self.ops[j].kind == "affine"]
        self._pixel_cols = [j for j in ranked if self.ops[j].kind == "pixel"]
        # Channels of make_noise's output per op that needs noise, stacked in pipeline order.
        self._noise_slices: dict[str, slice] = {}
        start = 0
        for j in self._pixel_cols:
            if self.ops[j].make_noise is not None:
                self._noise_slices[self.ops[j].name] = slice(start, start + self.ops[j].noise_channels)
                start += self.ops[j].noise_channels
        self._noise_channels = start

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | Sequence[Any]) -> DistortionSpace:
        """Build from ``conf/distortion/*.yaml`` content (``{_target_, name, ops}``) or a list of ops.

        Built by :func:`distortion_reliability.build.build`, exactly as the pipeline does (the
        ``name`` becomes :attr:`label`).
        """
        if not isinstance(cfg, Mapping):
            return cls(list(cfg))
        from ..build import build

        return build("distortion", cfg)

    # ------------------------------------------------------------------ description
    @property
    def names(self) -> tuple[str, ...]:
        return self.box.names

    @property
    def d(self) -> int:
        return self.box.d

    @property
    def pipeline(self) -> list[str]:
        """Op names in the order they act on images."""
        return [self.ops[j].name for j in self._affine_cols + self._pixel_cols]

    def spec(self) -> dict[str, Any]:
        """JSON-able description of everything that determines :meth:`apply`'s output (for cache keys)."""
        return {
            "names": list(self.names),
            "domains": [[float(lo), float(hi)] for lo, hi in zip(self.box.lower, self.box.upper)],
            "versions": {op.name: op.version for op in self.ops},
            "pipeline": self.pipeline,
            "interpolation": "bilinear, align_corners=False, zero fill",
        }

    def __repr__(self) -> str:
        doms = ", ".join(f"{n}=[{lo:g}, {hi:g}]" for n, lo, hi in zip(self.names, self.box.lower, self.box.upper))
        return f"DistortionSpace({self.label + ': ' if self.label else ''}{doms})"

    # ------------------------------------------------------------------ levels
    def levels_array(self, levels: Any) -> np.ndarray:
        """``levels`` as a float64 ``[L, d]`` array (natural units), checked once by ``box.validate``.

        Levels stay float64 from the sampler to the ops, so a level on a domain bound is exactly on
        it and no tolerance is needed. A narrower float tensor is widened exactly (its value is
        kept); one rounded past a bound is outside the box and refused like any other.
        """
        if isinstance(levels, torch.Tensor):
            levels = levels.detach().to("cpu", torch.float64).numpy()
        return self.box.validate(levels)

    # ------------------------------------------------------------------ noise
    def make_noise(self, num_images: int, height: int, width: int, seed: int,
                   device: str | torch.device | None = None) -> torch.Tensor | None:
        """Per-image random fields ``[N, k, H, W]`` (float32) for the pixel ops that need them, or None.

        Made once for the whole verification set from ``seed`` (on the CPU, so every device gets
        the same numbers); row i belongs to image i. Each op draws from its own generator seeded by
        ``(seed, op name)``, so adding an op does not change another op's field.
        """
        for field, value in (("num_images", num_images), ("height", height), ("width", width)):
            if int(value) != value or value < 1:
                raise ConfigError(field, value, "must be an integer >= 1")
        fields = []
        by_name = {op.name: op for op in self.ops}
        for name in self._noise_slices:
            op = by_name[name]
            op_seed = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)[0]
            generator = torch.Generator().manual_seed(int(op_seed))
            field = op.make_noise(int(num_images), int(height), int(width), generator)
            expected = (int(num_images), op.noise_channels, int(height), int(width))
            if tuple(field.shape) != expected:
                raise ConfigError(f"{name}.make_noise output", tuple(field.shape), f"must have shape {expected}")
            fields.append(field.to(torch.float32))
        if not fields:
            return None
        return torch.cat(fields, dim=1).to(device if device is not None else "cpu")

    # ------------------------------------------------------------------ the distortion
    def apply(self, images: torch.Tensor, levels: Any, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Distort every image by every level in one batched call.

        Parameters
        ----------
        images : Tensor ``[N, C, H, W]``
            In [0, 1], floating point (float32, bfloat16, float16 or float64), any device.
        levels : ndarray or Tensor ``[L, d]``, float64
            Levels in natural units, columns in :attr:`names` order (a single level may be 1-D).
            They reach the ops as float64 on the images' device, bit for bit what was passed:
            the one conversion is to the device, here.
        noise : Tensor ``[N, k, H, W]`` or None
            Rows of :meth:`make_noise` for these images; needed only when a level uses rain.

        Returns
        -------
        Tensor ``[L, N, C, H, W]``
            Clamped to [0, 1], with the images' dtype and device.
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ConfigError("images", getattr(images, "shape", type(images)), "must be a tensor [N, C, H, W]")
        if not images.is_floating_point():
            raise ConfigError("images.dtype", images.dtype, "must be floating point with values in [0, 1]")
        lv = self.levels_array(levels)
        n, c, height, width = images.shape
        device, out_dtype = images.device, images.dtype
        # Coordinates and blending in at least float32: a bf16 sampling grid is off by pixels.
        work = torch.float64 if out_dtype == torch.float64 else torch.float32
        noise_slices = self._check_noise(noise, lv, n, height, width)
        # Autocast (the oracle runs under bf16) must not change the precision chosen here.
        with torch.autocast(device_type=device.type, enabled=False):
            levels_t = torch.tensor(lv, device=device)  # the one copy of the levels, float64, to the device
            x = images.to(work)
            out, owned = self._resample(x, lv)
            for j in self._pixel_cols:
                op = self.ops[j]
                col = lv[:, j]
                if np.all(col == op.identity):
                    continue  # e.g. no rain anywhere in this batch: skip the op entirely
                if not owned:  # pixel ops work in place, never on the caller's images
                    out, owned = out.clone(memory_format=torch.contiguous_format), True
                op_noise = None
                if op.name in noise_slices:
                    op_noise = noise[:, noise_slices[op.name]].to(device=device, dtype=work)
                out = op.fn(out, levels_t[:, j], op_noise)
            if out_dtype != work:
                return out.to(out_dtype).clamp_(0, 1)
            return out.clamp_(0, 1) if owned else out.clamp(0, 1)

    def _check_noise(self, noise: torch.Tensor | None, lv: np.ndarray, n: int, height: int,
                     width: int) -> dict[str, slice]:
        needs = [self.ops[j].name for j in self._pixel_cols
                 if self.ops[j].make_noise is not None and np.any(lv[:, j] != self.ops[j].identity)]
        if not needs:
            return {}
        k = self._noise_channels
        if noise is None:
            raise ConfigError("noise", None, f"is required by {', '.join(needs)} (make it with make_noise)")
        if tuple(noise.shape) != (n, k, height, width):
            raise ConfigError("noise", tuple(noise.shape),
                              f"must have shape {(n, k, height, width)}: the make_noise rows of these images")
        return self._noise_slices

    def forward_matrices(self, levels: np.ndarray, height: int, width: int) -> np.ndarray:
        """Composite forward geometry ``[L, 3, 3]`` in centred pixel coordinates (identity if none)."""
        total = np.broadcast_to(np.eye(3), (len(levels), 3, 3)).copy()
        for j in self._affine_cols:
            factor = np.broadcast_to(np.eye(3), (len(levels), 3, 3)).copy()
            factor[:, :2, :] = self.ops[j].fn(levels[:, j].astype(float), height, width)
            total = factor @ total  # later ops act on the result of earlier ones
        return total

    def _resample(self, x: torch.Tensor, lv: np.ndarray) -> tuple[torch.Tensor, bool]:
        """Geometry for all levels: ``[L, N, C, H, W]`` and whether it is a fresh tensor."""
        n, c, height, width = x.shape
        n_levels = len(lv)
        cols = self._affine_cols
        moved = np.any(lv[:, cols] != self.identity[cols], axis=1) if cols else np.zeros(n_levels, bool)
        expanded = x.unsqueeze(0).expand(n_levels, n, c, height, width)
        if not moved.any():
            return expanded, False
        forward = self.forward_matrices(lv[moved], height, width)
        # Sampling maps output -> input, so invert; then pixel units -> normalised [-1, 1].
        to_norm = np.diag([2.0 / width, 2.0 / height, 1.0])
        theta = to_norm @ np.linalg.inv(forward) @ np.linalg.inv(to_norm)
        theta_t = torch.as_tensor(theta[:, :2, :], dtype=x.dtype, device=x.device)
        m = len(theta_t)
        # Images ride in the channel axis: one grid per level, shared by all N*C planes, and the
        # input is a stride-0 view, so nothing is copied per level.
        grid = F.affine_grid(theta_t, [m, n * c, height, width], align_corners=False)
        planes = x.reshape(1, n * c, height, width).expand(m, n * c, height, width)
        warped = F.grid_sample(planes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        warped = warped.view(m, n, c, height, width)
        if moved.all():
            return warped, True
        # Identity levels keep the exact input, so a level's result never depends on its batch.
        out = torch.empty((n_levels, n, c, height, width), dtype=x.dtype, device=x.device)
        moved_t = torch.as_tensor(moved, device=x.device)
        out[moved_t] = warped
        out[~moved_t] = x
        return out, True

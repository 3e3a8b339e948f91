"""One distortion op: its function, its domain (from the config), its identity level, where it acts."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Callable, Literal

import numpy as np
import torch

from ..errors import ConfigError

Kind = Literal["affine", "pixel"]
KINDS: tuple[str, ...] = ("affine", "pixel")


def resolve_callable(field: str, value: Any) -> Callable[..., Any]:
    """``value`` itself when callable, else the object a dotted path such as ``my_package.ops.contrast`` names."""
    if callable(value):
        return value
    if not isinstance(value, str) or "." not in value:
        raise ConfigError(field, value, "must be a function or its dotted path (e.g. my_package.ops.contrast)")
    parts = value.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        if callable(obj):
            return obj
        break
    raise ConfigError(field, value, "must name an importable function (module.function)")


def check_domain(name: str, domain: Any, limits: tuple[float, float]) -> tuple[float, float]:
    """``[lower, upper]`` as floats, finite, ordered and within ``limits``, else :class:`ConfigError` on ``<name>.domain``."""
    field = f"{name}.domain"
    if isinstance(domain, (str, bytes)) or not isinstance(domain, Sequence) or len(domain) != 2:
        raise ConfigError(field, _plain(domain), "must be [lower, upper]")
    try:
        lower, upper = float(domain[0]), float(domain[1])
    except (TypeError, ValueError):
        raise ConfigError(field, _plain(domain), "must be two numbers [lower, upper]") from None
    if not (np.isfinite(lower) and np.isfinite(upper)):
        raise ConfigError(field, [lower, upper], "must be finite")
    if lower >= upper:  # an empty (zero-width) box cannot be sampled or scaled to the unit cube
        raise ConfigError(field, [lower, upper], "must have lower < upper")
    if lower < limits[0] or upper > limits[1]:
        raise ConfigError(field, [lower, upper], f"must lie within [{limits[0]:g}, {limits[1]:g}]")
    return lower, upper


def _plain(value: Any) -> Any:
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(value):
            return OmegaConf.to_container(value)
    except ImportError:  # pragma: no cover
        pass
    return list(value) if isinstance(value, tuple) else value


class DistortionOp:
    """One distortion of the space: a function, its configured domain and its identity level.

    A YAML entry ``{_target_: distortion_reliability.distortions.DistortionOp, name: ..., fn: ...,
    domain: [...], identity: ...}`` builds one; the built-ins have factories (``scale(domain)``,
    ``rotation(domain)``, ...) that fix everything but the domain.

    Attributes
    ----------
    name : str
        The dimension's name in the search space (and in every table and CSV).
    fn : callable or str
        ``"affine"``: ``fn(levels, height, width) -> ndarray [L, 2, 3]`` forward matrices in centred
        pixel coordinates (x right, y down, origin at the image centre), ``levels`` a float64
        ndarray ``[L]``. ``"pixel"``: ``fn(images, levels, noise) -> Tensor`` with images
        ``[L, N, C, H, W]`` (a scratch buffer the pipeline owns: modify it in place and return it),
        levels ``[L]`` float64 on the images' device, bit for bit as sampled (cast to the images'
        dtype for tensor arithmetic), and ``noise`` this op's rows ``[N, k, H, W]`` of
        :meth:`make_noise` or None.
        A dotted path string is imported.
    domain : (float, float)
        ``(lower, upper)`` of the levels, natural units; must lie within ``limits``.
    identity : float
        The level that leaves images unchanged (e.g. scale 1, rotation 0).
    kind : {"affine", "pixel"}
        Affine ops are fused into one resample; pixel ops then run in ``order``.
    order : float
        Position in the pipeline among ops of the same kind.
    version : str
        Bump whenever the op's output changes: it is part of the space's ``spec()`` (cache keys).
    limits : (float, float)
        Levels the op can handle at all.
    make_noise : callable or str or None
        ``make_noise(num_images, height, width, generator) -> Tensor [N, k, H, W]`` float32 random
        fields the (pixel) op reads from ``noise``, or None.
    noise_channels : int
        ``k``, the fields per image ``make_noise`` returns.
    description : str
        One line for humans (default: the first line of ``fn``'s docstring).
    """

    # A plain class, not a dataclass: OmegaConf would turn a dataclass inside Hydra's instantiated
    # list into a DictConfig, losing the function.
    __slots__ = ("name", "fn", "domain", "identity", "kind", "order", "version", "limits", "make_noise",
                 "noise_channels", "description")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any] | str,
        domain: Sequence[float],
        identity: float,
        kind: Kind = "pixel",
        order: float = 0.0,
        version: str = "1",
        limits: Sequence[float] = (-np.inf, np.inf),
        make_noise: Callable[[int, int, int, torch.Generator], torch.Tensor] | str | None = None,
        noise_channels: int = 1,
        description: str = "",
    ):
        if not isinstance(name, str) or not name:
            raise ConfigError("distortion op name", name, "must be a non-empty string")
        if kind not in KINDS:
            raise ConfigError(f"{name}.kind", kind, f"must be one of {', '.join(KINDS)}")
        fn = resolve_callable(f"{name}.fn", fn)
        if make_noise is not None:
            if kind != "pixel":
                raise ConfigError(f"{name}.make_noise", make_noise, "is only supported for pixel ops")
            make_noise = resolve_callable(f"{name}.make_noise", make_noise)
        try:
            limits_f = (float(limits[0]), float(limits[1]))
        except (TypeError, ValueError, IndexError):
            raise ConfigError(f"{name}.limits", _plain(limits), "must be [lower, upper]") from None
        for field, value in (("identity", identity), ("order", order)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ConfigError(f"{name}.{field}", value, "must be a number")
        if isinstance(noise_channels, bool) or not isinstance(noise_channels, (int, np.integer)) or noise_channels < 1:
            raise ConfigError(f"{name}.noise_channels", noise_channels, "must be an integer >= 1")
        self.name = name
        self.fn = fn
        self.limits = limits_f
        self.domain = check_domain(name, domain, limits_f)
        self.identity = float(identity)
        self.kind = kind
        self.order = float(order)
        self.version = str(version)
        self.make_noise = make_noise
        self.noise_channels = int(noise_channels)
        self.description = str(description or (fn.__doc__ or "").strip().split("\n")[0])

    def __repr__(self) -> str:
        lo, hi = self.domain
        return f"DistortionOp({self.name!r}, {self.kind}, domain=[{lo:g}, {hi:g}], identity={self.identity:g})"

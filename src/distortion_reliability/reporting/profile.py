"""The reliability profile: f along each distortion's whole domain, the others at identity.

For each distortion the interval(s) where f ≥ h, in natural units ("rotation ≤ 23°", "scale
0.84–1.21"), as a table (``reliability_profile.csv``), a Markdown summary and a figure. The levels
are evaluated by :func:`~distortion_reliability.reporting.maps.write_reliability_report` in the same
oracle call as the map's slices; this module turns their f values into the profile.

**Uncertainty.** f is measured on the N images of D, so each profile point carries its 95 %
Clopper–Pearson interval (:mod:`distortion_reliability.confidence`). Where the band's upper curve
crosses h the model may still be reliable, where its lower curve crosses h it surely is; so each
end of a reliable interval gets a range, "rotation ≤ 31° (28–33°)": the end lies between the lower
curve's crossing (28°) and the upper curve's (33°) with 95 % confidence at each point. When no
point is surely reliable the range reaches back to the interval's other end ("≤ 31° (0–33°)").

**The answering predictor.** Given the run's GP classifier, the profile also shows its P(reliable)
along each distortion and where it says reliable (P ≥ 0.5, column ``gp_classifier_says``): how
the answer ``predict`` gives compares with f measured by the oracle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd

from ..confidence import DELTA, clopper_pearson
from .style import UNITS, axis_label, save, style

if TYPE_CHECKING:
    from .maps import SpaceSpec

__all__ = ["profile_levels", "reliable_intervals", "describe_intervals", "fmt_level", "profile_table",
           "profile_markdown", "draw_profile", "f_band", "end_ranges"]

Profiles = Mapping[int, "tuple[np.ndarray, np.ndarray]"]  # distortion index -> (xs, f along its domain)
EndRange = "tuple[float, float] | None"  # where one end of a reliable interval may lie (None: not given)


def profile_levels(spec: SpaceSpec, i: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distortion i alone along its domain (``n`` points, identity included), the others at identity."""
    xs = np.linspace(spec.lower[i], spec.upper[i], n)
    ident = spec.identity[i]
    if spec.lower[i] <= ident <= spec.upper[i]:  # f at identity is on the curve, exactly
        near = int(np.argmin(np.abs(xs - ident)))
        if abs(xs[near] - ident) <= 1e-9 * max(1.0, spec.upper[i] - spec.lower[i]):
            xs[near] = ident
        else:
            xs = np.sort(np.r_[xs, ident])
    levels = np.tile(spec.base, (len(xs), 1))
    levels[:, i] = xs
    return xs, levels


def reliable_intervals(xs: np.ndarray, f: np.ndarray, h: float) -> list[tuple[float, float]]:
    """The intervals of x where f ≥ h, ends placed where the piecewise-linear f crosses h."""
    xs, f = np.asarray(xs, float), np.asarray(f, float)
    ok = f >= h
    out = []
    k = 0
    while k < len(xs):
        if not ok[k]:
            k += 1
            continue
        start = k
        while k + 1 < len(xs) and ok[k + 1]:
            k += 1
        end = k

        def cross(a: int, b: int) -> float:  # a outside, b inside
            fa, fb = f[a], f[b]
            t = (h - fa) / (fb - fa) if fb != fa else 1.0
            return float(xs[a] + t * (xs[b] - xs[a]))

        lo = xs[start] if start == 0 else cross(start - 1, start)
        hi = xs[end] if end == len(xs) - 1 else cross(end + 1, end)
        out.append((float(lo), float(hi)))
        k += 1
    return out


def fmt_level(name: str, v: float) -> str:
    unit = UNITS.get(name, "")
    if unit == "°":
        return f"{v:.0f}°"
    return f"{v:.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}"


def _span(name: str, lo: float, hi: float, unit_once: bool = False) -> str:
    sep = " to " if lo < 0 or hi < 0 else "–"  # "-0.15 to 0.15" reads better than "-0.15–0.15"
    first = fmt_level(name, lo)
    return f"{first.rstrip('°') if unit_once else first}{sep}{fmt_level(name, hi)}"  # "28–33°"


def _end(name: str, value: float, rng: EndRange) -> str:
    """``31°``, or ``31° (28–33°)``: the range where the end may lie (left out when it rounds to the value)."""
    text = fmt_level(name, value)
    if rng is None or fmt_level(name, rng[0]) == fmt_level(name, rng[1]):
        return text
    return f"{text} ({_span(name, *rng, unit_once=True)})"


def describe_intervals(name: str, intervals: Sequence[tuple[float, float]], lower: float, upper: float,
                       ranges: Sequence[tuple[EndRange, EndRange]] | None = None) -> str:
    """``rotation ≤ 23°``, ``scale 0.84–1.21``, ``darkness ≥ 0.78``, ``rain: whole domain``, ``…: never``.

    With ``ranges`` (one ``(lower end's range, upper end's range)`` per interval, :func:`end_ranges`)
    each end inside the domain carries its uncertainty: ``rotation ≤ 31° (28–33°)``,
    ``scale 0.84 (0.82–0.86) to 1.21 (1.19–1.23)``.
    """
    if not intervals:
        return f"{name}: never (f < h on its whole domain)"
    span = upper - lower
    tol = 1e-9 * max(1.0, abs(span))
    ranges = list(ranges) if ranges is not None else [(None, None)] * len(intervals)
    parts = []
    for (lo, hi), (lo_range, hi_range) in zip(intervals, ranges):
        at_lo, at_hi = abs(lo - lower) <= tol, abs(hi - upper) <= tol
        if at_lo and at_hi:
            parts.append("whole domain")
        elif at_lo:
            parts.append(f"≤ {_end(name, hi, hi_range)}")
        elif at_hi:
            parts.append(f"≥ {_end(name, lo, lo_range)}")
        elif lo_range is None and hi_range is None:
            parts.append(_span(name, lo, hi))
        else:
            parts.append(f"{_end(name, lo, lo_range)} to {_end(name, hi, hi_range)}")
    return f"{name} " + " or ".join(parts) if parts != ["whole domain"] else f"{name}: whole domain"


def f_band(f: np.ndarray, n_images: int, delta: float = DELTA) -> tuple[np.ndarray, np.ndarray]:
    """The 1 − δ Clopper–Pearson band around f values measured on all ``n_images`` images of D."""
    n = int(n_images)
    return clopper_pearson(np.clip(np.rint(np.asarray(f, float) * n), 0, n), n, delta)


def end_ranges(xs: np.ndarray, f: np.ndarray, lower: np.ndarray, upper: np.ndarray,
               h: float) -> list[tuple[EndRange, EndRange]]:
    """For each reliable interval of f (:func:`reliable_intervals`), where its two ends may lie.

    ``lower ≤ f ≤ upper`` pointwise, so the region where ``upper ≥ h`` (possibly reliable) contains
    each interval of f, and the region where ``lower ≥ h`` (surely reliable) lies inside them. A
    lower end ranges from the possible region's start to the sure region's start, an upper end from
    the sure region's end to the possible region's end.
    """
    xs = np.asarray(xs, float)
    tol = 1e-9 * max(1.0, float(xs[-1] - xs[0]))
    possible = reliable_intervals(xs, upper, h)
    sure = reliable_intervals(xs, lower, h)
    out = []
    for a, b in reliable_intervals(xs, f, h):
        outer_a, outer_b = next(((c, d) for c, d in possible if c <= a + tol and d >= b - tol), (a, b))
        inner = [(c, d) for c, d in sure if c >= a - tol and d <= b + tol]
        inner_a, inner_b = (min(c for c, _ in inner), max(d for _, d in inner)) if inner else (b, a)
        out.append(((outer_a, inner_a), (inner_b, outer_b)))
    return out


def answer_along(spec: SpaceSpec, i: int, xs: np.ndarray, answering) -> np.ndarray:
    """P(reliable) of the answering predictor (fitted on the unit cube) along distortion i, others at identity."""
    levels = np.tile(spec.base, (len(xs), 1))
    levels[:, i] = xs
    return np.asarray(answering.predict_proba(spec.to_unit(levels)))[:, 1]


def _iv_text(intervals: Sequence[tuple[float, float]]) -> str:
    return "; ".join(f"{a:.6g}..{b:.6g}" for a, b in intervals)


def profile_table(spec: SpaceSpec, h: float, profiles: Profiles, n_images: int | None = None,
                  delta: float = DELTA, answering=None) -> pd.DataFrame:
    """One row per distortion: its domain, f at identity, min/max f, the reliable intervals and their share.

    With ``n_images`` (N, the size of D) the description carries each end's range (module docstring)
    and the columns ``surely_reliable`` / ``possibly_reliable`` hold where the band's lower / upper
    curve is ≥ h. With ``answering`` (the GP classifier) ``gp_classifier_says``: where its P ≥ 0.5.
    """
    rows = []
    for i, (xs, f) in profiles.items():
        name = spec.names[i]
        iv = reliable_intervals(xs, f, h)
        band = f_band(f, n_images, delta) if n_images else None
        length = sum(b - a for a, b in iv)
        span = spec.upper[i] - spec.lower[i]
        at_id = f[np.argmin(np.abs(xs - spec.base[i]))]
        rows.append({"distortion": name, "lower": spec.lower[i], "upper": spec.upper[i], "identity": spec.identity[i],
                     "f_at_identity": float(at_id), "f_min": float(f.min()), "f_max": float(f.max()),
                     "reliable_intervals": _iv_text(iv),
                     "share_of_domain": float(length / span) if span > 0 else float(bool(iv)),
                     "description": describe_intervals(name, iv, spec.lower[i], spec.upper[i],
                                                       None if band is None else end_ranges(xs, f, *band, h)),
                     "grid_step": float(xs[1] - xs[0]) if len(xs) > 1 else 0.0})
        if band is not None:
            rows[-1].update({"surely_reliable": _iv_text(reliable_intervals(xs, band[0], h)),
                             "possibly_reliable": _iv_text(reliable_intervals(xs, band[1], h)),
                             "n_images": int(n_images), "confidence": 1 - delta})
        if answering is not None:
            says = reliable_intervals(xs, answer_along(spec, i, xs, answering), 0.5)
            rows[-1]["gp_classifier_says"] = describe_intervals(name, says, spec.lower[i], spec.upper[i])
    return pd.DataFrame(rows)


def _where(description: str) -> str:
    """``rotation ≤ 31°`` -> ``≤ 31°``; ``rain: whole domain`` -> ``whole domain``."""
    return description.split(" ", 1)[1].removeprefix(": ").strip() if " " in description else description


def profile_markdown(spec: SpaceSpec, h: float, profile: pd.DataFrame, profile_points: int, title: str) -> list[str]:
    """The profile's Markdown lines: what f and h are, the one-line answer and the per-distortion table."""
    summary = ", ".join(profile["description"])
    identity = ", ".join(f"{n} {fmt_level(n, v)}" for n, v in zip(spec.names, spec.identity))
    band = (f"; in brackets, where an end may lie: between the crossings of the "
            f"{100 * profile['confidence'].iloc[0]:.0f} % Clopper–Pearson band of f at N = "
            f"{profile['n_images'].iloc[0]:,} images" if "n_images" in profile else "")
    md = [f"# Reliability profile{(' — ' + title) if title else ''}", "",
          f"f(c) = accuracy of the model on the verification set distorted by c; reliable where f ≥ h = {h:g}. "
          f"Each distortion alone, the others at identity ({identity}); {profile_points} points per domain, "
          f"interval ends interpolated where f crosses h{band}.", "",
          f"**Reliable:** {summary}.", ""]
    says = "gp_classifier_says" in profile
    header = ["distortion", "domain", "f at identity", "min f", "reliable where", "share of domain"]
    header += ["GP classifier says (P ≥ 0.5)"] if says else []
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "|".join("---" for _ in header) + "|")
    for r in profile.to_dict("records"):
        name = r["distortion"]
        cells = [name, f"{fmt_level(name, r['lower'])} – {fmt_level(name, r['upper'])}", f"{r['f_at_identity']:.3f}",
                 f"{r['f_min']:.3f}", _where(r["description"]), f"{100 * r['share_of_domain']:.0f}%"]
        cells += [_where(r["gp_classifier_says"])] if says else []
        md.append("| " + " | ".join(cells) + " |")
    md.append("")
    return md


def draw_profile(spec, h, profiles, path, title, n_images: int | None = None, delta: float = DELTA, answering=None):
    """f along each distortion (with its 1 − δ band when ``n_images`` is given), h, the reliable intervals,
    and the answering predictor's P(reliable) when given."""
    from matplotlib.ticker import MaxNLocator

    d = spec.d
    ncol = min(3, d)
    nrow = int(np.ceil(d / ncol))
    with style() as plt:
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow), squeeze=False)
        for i, (xs, f) in profiles.items():
            ax = axes[i // ncol][i % ncol]
            band = f_band(f, n_images, delta) if n_images else None
            if band is not None:
                ax.fill_between(xs, *band, color="#888888", alpha=0.35, lw=0,
                                label=f"{100 * (1 - delta):.0f} % interval (N = {int(n_images):,})")
            ax.plot(xs, f, color="k", lw=1.4)
            if answering is not None:
                ax.plot(xs, answer_along(spec, i, xs, answering), color="#1f77b4", ls="-.", lw=1.1,
                        label="GP classifier: P(reliable)")
            ax.axhline(h, color="#d62728", ls="--", lw=1, label=f"h = {h:g}")
            for a, b in reliable_intervals(xs, f, h):
                ax.axvspan(a, b, color="#2ca02c", alpha=0.18, lw=0)
            ax.axvline(spec.identity[i], color="grey", lw=0.8, ls=":")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlim(spec.lower[i], spec.upper[i])
            ax.set_xlabel(axis_label(spec.names[i]))
            ax.xaxis.set_major_locator(MaxNLocator(5))
            if i % ncol == 0:
                ax.set_ylabel("f (accuracy)")
            iv = reliable_intervals(xs, f, h)
            ranges = None if band is None else end_ranges(xs, f, *band, h)
            ax.set_title(describe_intervals(spec.names[i], iv, spec.lower[i], spec.upper[i], ranges), fontsize=8.5)
        for k in range(d, nrow * ncol):
            axes[k // ncol][k % ncol].axis("off")
        axes[0][0].legend(loc="lower left")
        fig.suptitle(f"Reliability profile{(' — ' + title) if title else ''}: each distortion alone "
                     f"(others at identity, dotted); green = f ≥ h")
        fig.tight_layout()
        return save(fig, path)

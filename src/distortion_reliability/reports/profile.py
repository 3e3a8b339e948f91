"""The reliability profile: f along each distortion's whole domain, the others at identity.

For each distortion the interval(s) where f ≥ h, in natural units ("rotation ≤ 23°", "scale
0.84–1.21"), as a table (``reliability_profile.csv``), a Markdown summary and a figure. The levels
are evaluated by :func:`~distortion_reliability.reports.maps.write_reliability_report` in the same
oracle call as the map's slices; this module turns their f values into the profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd

from .style import UNITS, axis_label, save, style

if TYPE_CHECKING:
    from .maps import SpaceSpec

__all__ = ["profile_levels", "reliable_intervals", "describe_intervals", "fmt_level", "profile_table",
           "profile_markdown", "draw_profile"]

Profiles = Mapping[int, "tuple[np.ndarray, np.ndarray]"]  # distortion index -> (xs, f along its domain)


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


def describe_intervals(name: str, intervals: Sequence[tuple[float, float]], lower: float, upper: float) -> str:
    """``rotation ≤ 23°``, ``scale 0.84–1.21``, ``darkness ≥ 0.78``, ``rain: whole domain``, ``…: never``."""
    if not intervals:
        return f"{name}: never (f < h on its whole domain)"
    span = upper - lower
    tol = 1e-9 * max(1.0, abs(span))
    parts = []
    for lo, hi in intervals:
        at_lo, at_hi = abs(lo - lower) <= tol, abs(hi - upper) <= tol
        if at_lo and at_hi:
            parts.append("whole domain")
        elif at_lo:
            parts.append(f"≤ {fmt_level(name, hi)}")
        elif at_hi:
            parts.append(f"≥ {fmt_level(name, lo)}")
        else:
            sep = " to " if lo < 0 or hi < 0 else "–"  # "-0.15 to 0.15" reads better than "-0.15–0.15"
            parts.append(f"{fmt_level(name, lo)}{sep}{fmt_level(name, hi)}")
    return f"{name} " + " or ".join(parts) if parts != ["whole domain"] else f"{name}: whole domain"


def profile_table(spec: SpaceSpec, h: float, profiles: Profiles) -> pd.DataFrame:
    """One row per distortion: its domain, f at identity, min/max f, the reliable intervals and their share."""
    rows = []
    for i, (xs, f) in profiles.items():
        name = spec.names[i]
        iv = reliable_intervals(xs, f, h)
        length = sum(b - a for a, b in iv)
        span = spec.upper[i] - spec.lower[i]
        at_id = f[np.argmin(np.abs(xs - spec.base[i]))]
        rows.append({"distortion": name, "lower": spec.lower[i], "upper": spec.upper[i], "identity": spec.identity[i],
                     "f_at_identity": float(at_id), "f_min": float(f.min()), "f_max": float(f.max()),
                     "reliable_intervals": "; ".join(f"{a:.6g}..{b:.6g}" for a, b in iv),
                     "share_of_domain": float(length / span) if span > 0 else float(bool(iv)),
                     "description": describe_intervals(name, iv, spec.lower[i], spec.upper[i]),
                     "grid_step": float(xs[1] - xs[0]) if len(xs) > 1 else 0.0})
    return pd.DataFrame(rows)


def profile_markdown(spec: SpaceSpec, h: float, profile: pd.DataFrame, profile_points: int, title: str) -> list[str]:
    """The profile's Markdown lines: what f and h are, the one-line answer and the per-distortion table."""
    summary = ", ".join(profile["description"])
    md = [f"# Reliability profile{(' — ' + title) if title else ''}", "",
          f"f(c) = accuracy of the model on the verification set distorted by c; reliable where f ≥ h = {h:g}. "
          f"Each distortion alone, the others at identity ({', '.join(f'{n} {fmt_level(n, v)}' for n, v in zip(spec.names, spec.identity))}); "
          f"{profile_points} points per domain, interval ends interpolated where f crosses h.", "",
          f"**Reliable:** {summary}.", ""]
    header = ["distortion", "domain", "f at identity", "min f", "reliable where", "share of domain"]
    md.append("| " + " | ".join(header) + " |")
    md.append("|" + "|".join("---" for _ in header) + "|")
    for r in profile.to_dict("records"):
        md.append(f"| {r['distortion']} | {fmt_level(r['distortion'], r['lower'])} – "
                  f"{fmt_level(r['distortion'], r['upper'])} | {r['f_at_identity']:.3f} | {r['f_min']:.3f} | "
                  f"{r['description'].split(' ', 1)[1] if ' ' in r['description'] else r['description']} | "
                  f"{100 * r['share_of_domain']:.0f}% |")
    md.append("")
    return md


def draw_profile(spec, h, profiles, path, title):
    from matplotlib.ticker import MaxNLocator

    d = spec.d
    ncol = min(3, d)
    nrow = int(np.ceil(d / ncol))
    with style() as plt:
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow), squeeze=False)
        for i, (xs, f) in profiles.items():
            ax = axes[i // ncol][i % ncol]
            ax.plot(xs, f, color="k", lw=1.4)
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
            ax.set_title(describe_intervals(spec.names[i], iv, spec.lower[i], spec.upper[i]), fontsize=8.5)
        for k in range(d, nrow * ncol):
            axes[k // ncol][k % ncol].axis("off")
        axes[0][0].legend(loc="lower left")
        fig.suptitle(f"Reliability profile{(' — ' + title) if title else ''}: each distortion alone "
                     f"(others at identity, dotted); green = f ≥ h")
        fig.tight_layout()
        return save(fig, path)

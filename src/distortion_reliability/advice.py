"""What a run says when its numbers carry little weight: too few positives, and what to try next.

A run that samples no reliable level cannot train a distortion-classifier; rather than a bare
"skipped", it reports what it saw (the highest f and where, the share of levels above h) and
concrete next steps judged from the levels it has already evaluated: the paper's GP sampler, an
``h`` that would give a few percent positives, or a narrower distortion box.
"""

from __future__ import annotations

import numpy as np

from .box import Box

#: Fewer sampled positives than this cannot feed SMOTE's 5 neighbours (k + 1 points).
MIN_POSITIVES = 6
#: A grid with fewer positives than this makes F1 swing by whole predictions.
MIN_GRID_POSITIVES = 10
#: The positive share a suggested h aims at (the paper's Appendix A: 2-6 % of the grid).
TARGET_SHARE = 0.04


def suggest_h(values: np.ndarray, share: float = TARGET_SHARE) -> float | None:
    """The largest two-decimal h that would make about ``share`` of these f values positive."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    q = float(np.quantile(values, 1.0 - share))
    h = np.floor(q * 100.0) / 100.0
    return float(max(h, 0.0))


def _level_text(box: Box, level: np.ndarray) -> str:
    return ", ".join(f"{name}={value:.3g}" for name, value in zip(box.names, level))


def narrower_box(box: Box, levels: np.ndarray, values: np.ndarray, top: float = 0.05) -> list[str]:
    """Overrides that shrink each domain to where the best ``top`` share of evaluated levels lie."""
    levels = np.asarray(levels, dtype=float)
    if len(levels) < 10:
        return []
    best = levels[values >= np.quantile(values, 1.0 - top)]
    overrides = []
    for i, name in enumerate(box.names):
        lo, hi = float(best[:, i].min()), float(best[:, i].max())
        lower, upper = float(box.lower[i]), float(box.upper[i])
        width = upper - lower
        if width > 0 and (hi - lo) < 0.6 * width:
            lo, hi = _at_least(lo, hi, MIN_DOMAIN_SHARE * width, lower, upper)
            overrides.append(f"'distortion.ops.{i}.domain=[{_text(lo, lo, hi)},{_text(hi, lo, hi)}]'  # {name}")
    return overrides


#: A suggested domain spans at least this share of the original one: never an empty (zero-width) box.
MIN_DOMAIN_SHARE = 0.1


def _at_least(lo: float, hi: float, span: float, lower: float, upper: float) -> tuple[float, float]:
    """[lo, hi] widened about its centre to ``span`` where narrower, kept inside [lower, upper]."""
    if hi - lo >= span:
        return lo, hi
    centre = min(max((lo + hi) / 2.0, lower + span / 2.0), upper - span / 2.0)
    return centre - span / 2.0, centre + span / 2.0


def _text(value: float, lo: float, hi: float) -> str:
    """Three significant digits, more where three would print both ends alike."""
    digits = 3
    while digits < 12 and f"{lo:.{digits}g}" == f"{hi:.{digits}g}":
        digits += 1
    return f"{value:.{digits}g}"


def explain_few_positives(training, h: float, sampler, box: Box) -> list[str]:
    """Lines that explain a training set with too few positives (empty when it has enough).

    ``sampler`` is the sampler object that drew the set; a GP sampler is not told to try one.
    """
    from .sampling import GPSampler

    values = np.asarray(training.values, dtype=float)
    n_pos = int(np.count_nonzero(values >= h))
    if n_pos >= MIN_POSITIVES or values.size == 0:
        return []
    best = int(np.argmax(values))
    lines = [
        f"only {n_pos} of {values.size} sampled levels reach f >= h = {h:g} ({100.0 * n_pos / values.size:.1f} %); "
        f"the highest f found is {values[best]:.3f} at {_level_text(box, training.levels[best])}",
        "with so few reliable levels the distortion-classifiers cannot learn where T is reliable; next steps:",
    ]
    if not isinstance(sampler, GPSampler):
        lines.append("  - sampler=gp: the paper's GP sampler seeks reliable levels (often 5-10x more positives)")
    h_new = suggest_h(values)
    if h_new is not None and h_new < h:
        share = float(np.mean(values >= h_new))
        lines.append(f"  - h={h_new:g}: {100.0 * share:.1f} % of the levels evaluated so far would be reliable")
    for override in narrower_box(box, training.levels, values)[:3]:
        lines.append(f"  - narrow the box: {override}")
    return lines


def grid_warning(grid) -> str | None:
    """A warning when the grid has too few positives for F1 on it to mean much."""
    n = int(grid.n_positive)
    if n >= MIN_GRID_POSITIVES:
        return None
    return (f"grid: only {n} of {len(grid.labels)} levels are reliable at this h; F1 on so few positives carries "
            "little weight (a lower h, or a finer grid with grid.points_per_dim=5, gives more)")


def share_by_h(n_correct: np.ndarray, n_evaluated: np.ndarray, n_total: int, hs) -> list[dict]:
    """The share of levels reliable at each h in ``hs``, from (possibly early-stopped) oracle counts.

    A level labelled with early stopping holds ``n_correct`` right of its first ``n_evaluated`` images
    of D: ``n_correct / n_evaluated`` estimates f, and f lies in ``[n_correct / N, (n_correct + N -
    n_evaluated) / N]``. So one labelled grid tells, without new oracle work, which h puts a given share
    of it in the reliable class (``estimate``), and how sure that is (``certain`` <= share <= ``at_most``).
    """
    correct = np.asarray(n_correct, dtype=float)
    seen = np.asarray(n_evaluated, dtype=float)
    if correct.shape != seen.shape or np.any(correct > seen) or np.any(seen > n_total) or np.any(seen <= 0):
        raise ValueError("counts must satisfy 0 <= n_correct <= n_evaluated <= n_total with n_evaluated > 0")
    f_hat = correct / seen
    low, high = correct / n_total, (correct + n_total - seen) / n_total
    return [{"h": float(h), "estimate": float(np.mean(f_hat >= h)), "certain": float(np.mean(low >= h)),
             "at_most": float(np.mean(high >= h))} for h in hs]

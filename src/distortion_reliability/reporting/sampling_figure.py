"""Figure 6 of the paper: real positives found by each sampler at growing budgets (mean +- std over seeds)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..sampling.base import SampleResult

DEFAULT_BUDGETS = (100, 200, 300, 400, 500, 600)
#: One colour per shipped sampler, so a sampler looks the same in every figure whatever else is drawn.
SAMPLER_COLORS = {"random": "C0", "gp": "C1", "gp_batch": "C2", "straddle": "C3", "gp_sqrt": "C4"}


def sampler_colors(names: Sequence[str]) -> dict[str, str]:
    """Colours for ``names``: the fixed one of a shipped sampler, the next free ``Cn`` otherwise."""
    free = (f"C{i}" for i in range(100) if f"C{i}" not in SAMPLER_COLORS.values())
    return {n: SAMPLER_COLORS.get(n) or next(free) for n in names}


def write_positives_csv(
    results: Mapping[str, Sequence[SampleResult]], budgets: Sequence[int], path: str | Path
) -> Path:
    """The numbers behind the figure, one row per (sampler, seed index, budget), so it can be redrawn."""
    import pandas as pd

    rows = [
        {"sampler": name, "seed_index": seed, "budget": int(budget), "positives": int(count)}
        for name, counts in positives_table(results, budgets).items()
        for seed, row in enumerate(counts)
        for budget, count in zip(budgets, row)
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def positives_table(
    results: Mapping[str, Sequence[SampleResult]], budgets: Sequence[int] = DEFAULT_BUDGETS
) -> dict[str, np.ndarray]:
    """Positives per sampler, shaped (n_seeds, n_budgets): row s holds ``positives_at(b)`` of seed s.

    Raises
    ------
    ConfigError
        If ``results`` is empty, a sampler has no runs, or a budget exceeds a run's length.
    """
    if not results:
        raise ConfigError("results", dict(results), "must hold at least one sampler's runs")
    table = {}
    for name, runs in results.items():
        if not runs:
            raise ConfigError(f"results[{name!r}]", list(runs), "must hold at least one SampleResult")
        shortest = min(r.budget for r in runs)
        too_long = [b for b in budgets if b > shortest]
        if too_long:
            raise ConfigError("budgets", list(budgets), f"must not exceed {name}'s shortest run ({shortest} levels)")
        table[name] = np.array([[r.positives_at(b) for b in budgets] for r in runs], dtype=float)
    return table


def plot_positives_vs_budget(
    results: Mapping[str, Sequence[SampleResult]],
    budgets: Sequence[int] = DEFAULT_BUDGETS,
    path: str | Path = "results/figures/sampling_positives.png",
    title: str | None = None,
) -> Path:
    """Draw positives found vs. budget, one line per sampler with a +-1 std band over seeds.

    Parameters
    ----------
    results : mapping of str to list of SampleResult
        Sampler name -> one result per seed.
    budgets : sequence of int, default (100, ..., 600)
        Budgets on the x axis; each must be <= every run's length.
    path : str or Path
        PNG file to write (folders are created).
    title : str, optional
        Figure title.

    Returns
    -------
    Path
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")  # file output only: no display on servers and CI
    import matplotlib.pyplot as plt

    budgets = [int(b) for b in budgets]
    if not budgets or any(b < 1 for b in budgets):
        raise ConfigError("budgets", budgets, "must be a non-empty list of integers >= 1")
    table = positives_table(results, budgets)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    colors = sampler_colors(list(table))
    for name, counts in table.items():
        mean, std = counts.mean(axis=0), counts.std(axis=0)
        ax.plot(budgets, mean, marker="o", color=colors[name], label=f"{name} (n={len(counts)})")
        ax.fill_between(budgets, mean - std, mean + std, color=colors[name], alpha=0.2)
    ax.set_xlabel("sampling budget I")
    ax.set_ylabel("positive levels found (f >= h)")
    ax.set_xticks(budgets)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

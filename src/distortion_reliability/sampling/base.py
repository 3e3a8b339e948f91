"""What every sampler shares: the result record, the timed objective wrapper and the input checks.

A sampler builds the training set R = {c_t, f(c_t)} of the paper's section 3.2.1 by calling a
black-box objective ``f`` (the oracle) on batches of levels in natural units.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..space import Box, check_threshold

#: ``objective(levels[n, d] in natural units) -> values[n]`` in [0, 1]; the lead's ``Oracle`` is one.
Objective = Callable[[np.ndarray], np.ndarray]

# f is an accuracy; values a hair outside [0, 1] are float noise, anything further is a bug upstream.
_VALUE_TOLERANCE = 1e-9


@dataclass
class SampleResult:
    """The training set R built by one sampler run, with its timing.

    Attributes
    ----------
    levels : ndarray of shape (I, d)
        Sampled levels in natural units, in sampling order.
    values : ndarray of shape (I,)
        ``f(level)`` for each level.
    labels : ndarray of shape (I,), bool
        ``values >= h`` (positive = reliable).
    h : float
        The reliability threshold the labels use.
    oracle_seconds : float
        Wall time spent inside the objective.
    sampler_seconds : float
        Wall time of the run excluding the objective (model fits, acquisition optimisation).
    sampler : str
        Registry name of the sampler that produced this result.
    seed : int
        The seed of the run.
    acquisition_values : ndarray of shape (I,)
        Acquisition value at each level when it was chosen; NaN for randomly drawn levels.
    step_seconds : ndarray
        Sampler overhead (excluding the objective) of each acquisition step, in order.
    target : str or None
        The side the GP acquisition sought (``"above"``/``"below"``/``"boundary"``), None for random.
    """

    levels: np.ndarray
    values: np.ndarray
    labels: np.ndarray
    h: float
    oracle_seconds: float
    sampler_seconds: float
    sampler: str = ""
    seed: int = 0
    acquisition_values: np.ndarray = field(default_factory=lambda: np.empty(0))
    step_seconds: np.ndarray = field(default_factory=lambda: np.empty(0))
    target: str | None = None

    @property
    def n_positive(self) -> int:
        """Number of sampled levels with ``f >= h``."""
        return int(np.count_nonzero(self.labels))

    @property
    def budget(self) -> int:
        """Number of sampled levels I."""
        return int(len(self.values))

    def positives_at(self, budget: int) -> int:
        """Positives among the first ``budget`` samples (one point of the Figure-6 curve)."""
        if int(budget) != budget or not 0 <= budget <= len(self.labels):
            raise ConfigError("budget", budget, f"must be an integer in [0, {len(self.labels)}]")
        return int(np.count_nonzero(self.labels[: int(budget)]))


class TimedObjective:
    """Calls the objective, checks what it returns and adds up the time spent inside it."""

    def __init__(self, objective: Objective, box: Box):
        if not callable(objective):
            raise ConfigError("objective", objective, "must be callable as objective(levels) -> values")
        self.objective = objective
        self.box = box
        self.seconds = 0.0

    def __call__(self, levels: np.ndarray) -> np.ndarray:
        levels = self.box.validate(levels)
        start = time.perf_counter()
        raw = self.objective(levels.copy())  # a copy: an objective may not edit our record
        self.seconds += time.perf_counter() - start
        values = np.asarray(raw, dtype=float).reshape(-1)
        if values.shape != (len(levels),):
            raise ConfigError("objective values", np.shape(raw), f"must have shape ({len(levels)},)")
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ConfigError(
                f"objective value at level {levels[bad].tolist()}", float(values[bad]), "must be finite"
            )
        outside = (values < -_VALUE_TOLERANCE) | (values > 1 + _VALUE_TOLERANCE)
        if outside.any():
            bad = int(np.flatnonzero(outside)[0])
            raise ConfigError(
                f"objective value at level {levels[bad].tolist()}", float(values[bad]), "must lie in [0, 1]"
            )
        return np.clip(values, 0.0, 1.0)


def unit_upper_bounds(box: Box) -> np.ndarray:
    """Upper bounds of the box in the unit cube: 1, or 0 on a degenerate dimension (lower == upper)."""
    return (box.upper > box.lower).astype(float)


def uniform_levels(box: Box, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform levels in natural units, exactly on the fixed value of degenerate dimensions.

    Same draws as ``box.sample_uniform``, whose ``from_unit`` would move a degenerate dimension
    (width stored as 1) off its fixed value.
    """
    return box.from_unit(rng.random((int(n), box.d)) * unit_upper_bounds(box))


def check_positive_int(field_name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, or a ConfigError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or int(value) != value:
        raise ConfigError(field_name, value, f"must be an integer >= {minimum}")
    if int(value) < minimum:
        raise ConfigError(field_name, value, f"must be an integer >= {minimum}")
    return int(value)


def check_seed(seed: object) -> int:
    """Seeds are non-negative integers (numpy and torch both accept them)."""
    return check_positive_int("seed", seed, minimum=0)


class Sampler(ABC):
    """Base class: ``sample(objective, box, h, seed) -> SampleResult``.

    Parameters
    ----------
    budget : int, default 600
        Number of levels I to sample (and oracle evaluations to spend).
    progress : bool, default True
        Show a tqdm bar with iterations, positives so far and the best acquisition value.
    """

    #: Registry name, set by each subclass.
    name: str = ""

    def __init__(self, budget: int = 600, progress: bool = True):
        self.budget = check_positive_int("budget", budget)
        self.progress = bool(progress)

    def sample(self, objective: Objective, box: Box, h: float, seed: int) -> SampleResult:
        """Sample ``budget`` levels from ``box`` and evaluate them with ``objective``.

        Parameters
        ----------
        objective : callable
            ``objective(levels[n, d]) -> values[n]`` in [0, 1]; levels are in natural units.
        box : Box
            The search space C.
        h : float
            Reliability threshold in [0, 1]; labels are ``values >= h``.
        seed : int
            Same seed, same levels (for a deterministic objective).

        Returns
        -------
        SampleResult
        """
        if not isinstance(box, Box):
            raise ConfigError("box", box, "must be a distortion_reliability.space.Box")
        h = check_threshold(h)
        seed = check_seed(seed)
        timed = TimedObjective(objective, box)
        bar = tqdm(total=self.budget, desc=f"sampler {self.name}", disable=not self.progress, leave=False)
        start = time.perf_counter()
        try:
            levels, values, acq, steps, target = self._run(timed, box, h, seed, bar)
        finally:
            bar.close()
        total = time.perf_counter() - start
        return SampleResult(
            levels=levels,
            values=values,
            labels=values >= h,
            h=h,
            oracle_seconds=timed.seconds,
            sampler_seconds=max(total - timed.seconds, 0.0),
            sampler=self.name,
            seed=seed,
            acquisition_values=acq,
            step_seconds=np.asarray(steps, dtype=float),
            target=target,
        )

    @abstractmethod
    def _run(
        self, objective: TimedObjective, box: Box, h: float, seed: int, bar: tqdm
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float], str | None]:
        """Return levels, values, acquisition values, per-step overhead seconds and the target side."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def update_bar(bar: tqdm, n_new: int, values: np.ndarray, h: float, best_acquisition: float | None) -> None:
    """Advance the progress bar and show positives so far and the last best acquisition value."""
    postfix = {"positives": int(np.count_nonzero(values >= h))}
    if best_acquisition is not None:
        postfix["best_acq"] = f"{best_acquisition:.3g}"
    bar.update(n_new)
    bar.set_postfix(postfix, refresh=True)  # one short write per iteration, so the counts stay current

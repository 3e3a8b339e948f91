"""What every sampler shares: the result record, the timed objective, resuming and progress.

A sampler builds the training set R = {c_t, f(c_t)} of the paper's section 3.2.1 by calling a
black-box objective ``f`` (the oracle) on batches of levels in natural units.

Contract (the pipeline relies on it):

* ``sampler.sample(objective, box, h, seed, resume=None, on_progress=None) -> SampleResult``.
* The level sequence does not depend on the budget: a budget-B run is the prefix of a budget-B' > B run.
* ``resume=<an earlier SampleResult>`` (shorter, interrupted, or the prefix of a longer one) continues
  it and gives exactly the levels of an uninterrupted run; its ``state`` (JSON-ready) saves work,
  and its ``seed``/settings are checked against this run's.
* ``on_progress(partial)`` is called after every oracle call with the run so far (a SampleResult
  with its ``state``, so it can be resumed).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..console import progress_bar
from ..errors import ConfigError
from ..box import Box

#: ``objective(levels[n, d] in natural units) -> values[n]`` in [0, 1]; the lead's ``Oracle`` is one.
Objective = Callable[[np.ndarray], np.ndarray]

#: Version of the ``SampleResult.state`` layout.
STATE_FORMAT = 1

# f is an accuracy; values a hair outside [0, 1] are float noise, anything further is a bug upstream.
_VALUE_TOLERANCE = 1e-9


@dataclass
class SampleResult:
    """The training set R built by one sampler run, with its timing and its resumable state.

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
        Wall time spent inside the objective (over every resumed part).
    sampler_seconds : float
        Wall time excluding the objective (model fits, acquisition optimisation).
    sampler : str
        Display name of the sampler (its config's ``label``, e.g. ``gp_sqrt``).
    seed : int
        The seed of the run.
    acquisition_values : ndarray of shape (I,)
        Acquisition value at each level when it was chosen; NaN for randomly drawn levels.
    step_seconds : ndarray
        Overhead (excluding the objective) of each acquisition step of this call, in order.
    target : str or None
        The side the GP acquisition sought (``"above"``/``"below"``/``"boundary"``), None for random.
    state : dict or None
        JSON-ready record that lets :meth:`Sampler.sample` continue the run (see the sampler's
        ``state`` docs); valid for any prefix of ``levels`` too.
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
    state: dict | None = None

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
        # Levels come from box.from_unit of clipped unit points; the oracle checks them once.
        levels = np.asarray(levels, dtype=float)
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
    (width stored as 1) off its fixed value. The first ``m`` rows do not depend on ``n``.
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


def _json_float(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


class Run:
    """The run in progress: what was sampled so far, the bar, the progress callback and the timers."""

    def __init__(self, sampler: "Sampler", box: Box, h: float, seed: int, objective: TimedObjective,
                 resume: SampleResult | None, on_progress: Callable[[SampleResult], Any] | None):
        self.sampler, self.box, self.h, self.seed = sampler, box, h, seed
        self.objective = objective
        self.on_progress = on_progress
        self.levels = np.empty((0, box.d))
        self.values = np.empty(0)
        self.acquisition = np.empty(0)
        self.step_seconds: list[float] = []
        self.state: dict = {}
        self.oracle_seconds_before = 0.0
        self.sampler_seconds_before = 0.0
        self.target: str | None = None
        if resume is not None:
            self._load(resume)
        self._start = time.perf_counter()
        self.bar = progress_bar(total=sampler.budget, desc=f"sampler {sampler.label}", unit="level",
                                enabled=sampler.progress)
        self.bar.update(self.n)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def unit(self) -> np.ndarray:
        """The sampled levels in the unit cube (what the GP sees)."""
        return self.box.to_unit(self.levels)

    def _load(self, resume: SampleResult) -> None:
        levels = self.box.validate(np.asarray(resume.levels, dtype=float).reshape(-1, self.box.d))
        values = np.asarray(resume.values, dtype=float).reshape(-1)
        if len(values) != len(levels):
            raise ConfigError("resume", f"{len(levels)} levels, {len(values)} values", "must have one value per level")
        if not math.isclose(float(resume.h), self.h):
            raise ConfigError("resume.h", resume.h, f"must equal this run's h = {self.h}")
        state = dict(resume.state or {})
        if state:
            if state.get("sampler", type(self.sampler).__name__) != type(self.sampler).__name__:
                raise ConfigError("resume.state.sampler", state.get("sampler"),
                                  f"must be this sampler's class {type(self.sampler).__name__}")
            if state.get("format") != STATE_FORMAT:
                raise ConfigError("resume.state.format", state.get("format"), f"must be {STATE_FORMAT}")
            if state.get("seed") != self.seed:
                raise ConfigError("resume.state.seed", state.get("seed"), f"must equal this run's seed {self.seed}")
            if state.get("settings") != self.sampler.settings():
                raise ConfigError("resume.state.settings", state.get("settings"),
                                  f"must equal this sampler's settings {self.sampler.settings()}")
        n = min(len(values), self.sampler.budget)
        self.levels, self.values = levels[:n], values[:n]
        acquisition = state.get("acquisition_values")
        if acquisition is None:
            acquisition = getattr(resume, "acquisition_values", None)
        acquisition = np.array([np.nan if a is None else a for a in (acquisition if acquisition is not None else [])],
                               dtype=float)
        self.acquisition = acquisition[:n] if len(acquisition) >= n else np.full(n, np.nan)
        self.state = state
        self.oracle_seconds_before = float(resume.oracle_seconds or 0.0)
        self.sampler_seconds_before = float(resume.sampler_seconds or 0.0)

    def evaluate(self, levels: np.ndarray, acquisition, step_seconds: float | None = None) -> None:
        """Evaluate ``levels`` with the objective (one call), record them and report progress."""
        values = self.objective(levels)
        self.levels = np.vstack([self.levels, levels])
        self.values = np.concatenate([self.values, values])
        acquisition = np.asarray(acquisition, dtype=float).reshape(-1)
        self.acquisition = np.concatenate([self.acquisition, acquisition])
        if step_seconds is not None:
            self.step_seconds.append(step_seconds)
        postfix = {"positives": int(np.count_nonzero(self.values >= self.h))}
        if np.isfinite(acquisition).any():
            postfix["best_acq"] = f"{np.nanmax(acquisition):.3g}"
        self.bar.update(len(levels))
        self.bar.set_postfix(postfix, refresh=True)
        if self.on_progress is not None:
            self.on_progress(self.result())

    def result(self) -> SampleResult:
        total = time.perf_counter() - self._start
        state = {
            **self.state,
            "format": STATE_FORMAT,
            "sampler": type(self.sampler).__name__,
            "settings": self.sampler.settings(),
            "seed": self.seed,
            "n": self.n,
            "acquisition_values": [_json_float(a) for a in self.acquisition],
            **self.sampler.extra_state(self),
        }
        return SampleResult(
            levels=self.levels.copy(),
            values=self.values.copy(),
            labels=self.values >= self.h,
            h=self.h,
            oracle_seconds=self.oracle_seconds_before + self.objective.seconds,
            sampler_seconds=self.sampler_seconds_before + max(total - self.objective.seconds, 0.0),
            sampler=self.sampler.label,
            seed=self.seed,
            acquisition_values=self.acquisition.copy(),
            step_seconds=np.asarray(self.step_seconds, dtype=float),
            target=self.target,
            state=state,
        )


class Sampler(ABC):
    """Base class: ``sample(objective, box, h, seed, resume=None, on_progress=None) -> SampleResult``.

    Parameters
    ----------
    budget : int, default 600
        Number of levels I to sample (and oracle evaluations to spend).
    progress : bool, default True
        Show a progress bar (``console.progress_bar``) with levels, positives so far and the best
        acquisition value.
    label : str, optional
        Display name (the config's ``name``, e.g. ``gp_sqrt``); defaults to the class's ``name``.
    """

    #: Default display name, set by each subclass.
    name: str = ""

    def __init__(self, budget: int = 600, progress: bool = True, label: str | None = None):
        self.budget = check_positive_int("budget", budget)
        self.progress = bool(progress)
        self.label = str(label) if label else self.name

    def sample(self, objective: Objective, box: Box, h: float, seed: int, resume: SampleResult | None = None,
               on_progress: Callable[[SampleResult], Any] | None = None) -> SampleResult:
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
            Same seed, same levels (for a deterministic objective), whatever the budget.
        resume : SampleResult, optional
            An earlier run of this sampler with this seed (shorter, interrupted, or longer: then
            cut to the budget); its levels are kept and the run continues from there.
        on_progress : callable, optional
            Called with the run so far after each oracle call.

        Returns
        -------
        SampleResult
        """
        if not isinstance(box, Box):
            raise ConfigError("box", box, "must be a distortion_reliability.box.Box")
        h = float(h)  # checked once, by the settings schema (config.RootSchema)
        seed = check_seed(seed)
        if resume is not None and not isinstance(resume, SampleResult):
            raise ConfigError("resume", type(resume).__name__, "must be a SampleResult")
        run = Run(self, box, h, seed, TimedObjective(objective, box), resume, on_progress)
        try:
            if run.n < self.budget:
                self._run(run)
        finally:
            run.bar.close()
        return run.result()

    @abstractmethod
    def _run(self, run: Run) -> None:
        """Extend ``run`` (possibly resumed) to ``self.budget`` levels via ``run.evaluate``."""

    def settings(self) -> dict:
        """What determines the level sequence (every setting except budget, progress and label)."""
        return {k: v for k, v in sorted(vars(self).items())
                if not k.startswith("_") and k not in ("budget", "progress", "label")}

    def extra_state(self, run: Run) -> dict:
        """Sampler-specific, JSON-ready additions to ``SampleResult.state``."""
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"

"""GP-based sampling, the paper's section 3.2.1 (equations 1-4).

t0 random levels, then one level per step: model f with a GP on (levels scaled to [0, 1]^d, f),
maximise the acquisition over the continuous unit cube, evaluate f there.

What keeps the overhead small beside the oracle (I = 600 in 6-D on one CPU thread):

* **hyperparameters refitted on a geometric schedule**: at t0 and whenever the number of levels
  passes t0 * growth^k (``refit_growth``, default 1.25: 19 refits up to 600 instead of 118 at
  every 5th level), warm-started from the previous values (``distortion_reliability.gp.fit_params``);
* **rank-one posterior updates** between refits: the GP's Cholesky factor grows by one row per new
  level (O(n^2)) instead of a new O(n^3) factorisation; the posterior equals a new GP's with the
  same hyperparameters (tests: to 1e-8);
* **a warm-started acquisition optimiser**: the previous optimum (the last level) joins
  ``raw_samples`` (64) Sobol points as a start of the joint L-BFGS-B run.

Reproducibility: the GP runs in float64 on one thread whatever the job's thread count, the refit
schedule depends on t only, and every random draw of step t comes from ``default_rng([seed, t, j])``,
so a seed fixes the levels whatever the budget (a budget-B run is the prefix of a longer one) and a
run resumed from any prefix of itself gives exactly the uninterrupted sequence.

``SampleResult.state`` of a GP sampler (JSON-ready)::

    {"format": 1, "sampler": "GPSampler", "settings": {...}, "seed": 0, "n": 600,
     "acquisition_values": [null, ..., 0.42, ...],            # null: a random level
     "target": "above",
     "refits": [{"n": 10, "kernel": "rbf", "lengthscale": [...], "noise": 1e-4, "mean": 0.1}, ...]}

``refits`` holds the hyperparameters fitted at each refit step n (on the first n levels), so a
resume needs no refit it has already seen; without them it replays the refits (same numbers).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import ConfigError
from ..gp import KERNELS, GP, GPParams, resolve_device
from ..threads import single_threaded
from ..gp_fit import FitOptions, fit_params
from .acquisition import FTOL, TARGETS, ReliabilityUCB, maximize, paper_beta
from .base import Run, Sampler, check_positive_int, uniform_levels, unit_upper_bounds

#: How beta weights sigma: the paper's ``beta * sigma`` or Srinivas et al.'s GP-UCB ``sqrt(beta) * sigma``.
BETA_FORMS = ("paper", "sqrt")
#: Two levels closer than this in the unit cube count as the same level.
DUPLICATE_TOLERANCE = 1e-6


def is_duplicate(point: np.ndarray, existing: np.ndarray) -> bool:
    """Whether ``point`` coincides with a row of ``existing`` (unit cube)."""
    if len(existing) == 0:
        return False
    return bool(np.min(np.max(np.abs(existing - point), axis=1)) < DUPLICATE_TOLERANCE)


def geometric_refits(t0: int, growth: float, budget: int) -> list[int]:
    """The levels counts ``ceil(t0 * growth^k)`` (k >= 0, distinct) up to ``budget``."""
    points, k = [], 0
    while True:
        point = math.ceil(t0 * growth**k - 1e-9)
        if point > budget:
            return points
        if not points or point > points[-1]:
            points.append(point)
        k += 1


class GPSampler(Sampler):
    """The paper's GP-based sampler (section 3.2.1): one acquisition-maximising level per step.

    Parameters
    ----------
    budget : int, default 600
        Total number of levels I, the t0 random ones included.
    t0 : int, default 10
        Random initial levels.
    kernel : {"rbf", "matern52"}, default "rbf"
        ARD kernel of the GP.
    target : {"above", "below", "auto"}, default "above"
        ``above`` maximises ``beta*sigma + (mu - h)``; ``below`` uses ``(h - mu)`` (the paper's minority
        switch); ``auto`` picks ``above`` unless most initial levels already have f >= h.
    delta : float, default 0.1
        Confidence parameter of beta (paper: 0.1).
    beta_form : {"paper", "sqrt"}, default "paper"
        ``paper`` weights sigma by beta, exactly as equation 3; ``sqrt`` by sqrt(beta), as in GP-UCB
        (Srinivas et al., the paper's reference 28) and BoTorch's UCB (beyond the paper).
    refit_growth : float, default 1.25
        Refit hyperparameters when the number of levels passes ``t0 * refit_growth^k``.
    refit_every : int, optional
        Instead, refit every this many new levels (the old schedule: 5; 1 = every step, as in the paper).
    rank_one : bool, default True
        Between refits, extend the GP's Cholesky factor by the new rows; False factorises anew each step.
    fit_maxiter : int, default 75
        Cap on L-BFGS-B steps per hyperparameter fit.
    raw_samples, num_restarts, optimizer_maxiter : int, default 64, 4, 100
        Acquisition optimiser: Sobol points scored, L-BFGS-B starts, iterations of the joint run.
    optimizer_ftol : float, default 1e-6
        L-BFGS-B's relative-improvement stop (scipy's default 2.2e-9 was the old setting).
    warm_start : bool, default True
        Add the previous optimum (the last sampled level) to the optimiser's candidate starts.
    fit_from_prior : bool, default True
        Each refit starts from the previous hyperparameters *and* from the priors' modes and keeps
        the better MAP; False: the warm start only (the old chain, which can stay in a poor basin).
    random_fraction : float, default 0
        Share of the levels after t0 drawn uniformly instead of by the acquisition (each pick is
        random with this probability, from the pick's own seed): keeps the bulk of C, mostly
        negatives, represented in R (beyond the paper; 0 is the paper's sampler).
    device : str, default "cpu"
        Where the GP runs: ``cpu``, ``cuda[:i]`` or ``auto`` (cuda when available).
    progress : bool, default True
    label : str, optional
        Display name (the config's name, e.g. ``gp_sqrt``).

    Notes
    -----
    Should the optimiser return an already sampled level, a uniform random level replaces it, so no
    oracle evaluation is spent twice on one level (nor a positive counted twice).
    """

    name = "gp"

    def __init__(
        self,
        budget: int = 600,
        t0: int = 10,
        kernel: str = "rbf",
        target: str = "above",
        delta: float = 0.1,
        beta_form: str = "paper",
        refit_growth: float = 1.25,
        refit_every: int | None = None,
        rank_one: bool = True,
        fit_maxiter: int = 75,
        raw_samples: int = 64,
        num_restarts: int = 4,
        optimizer_maxiter: int = 100,
        optimizer_ftol: float = FTOL,
        warm_start: bool = True,
        fit_from_prior: bool = True,
        random_fraction: float = 0.0,
        device: str = "cpu",
        progress: bool = True,
        label: str | None = None,
    ):
        super().__init__(budget=budget, progress=progress, label=label)
        self.t0 = check_positive_int("t0", t0)
        if self.budget < self.t0:
            raise ConfigError("budget", budget, f"must be >= t0 = {self.t0}")
        if kernel not in KERNELS:
            raise ConfigError("kernel", kernel, f"must be one of {', '.join(KERNELS)}")
        self.kernel = kernel
        if target not in (*TARGETS, "auto"):
            raise ConfigError("target", target, f"must be one of {', '.join((*TARGETS, 'auto'))}")
        self.target = target
        paper_beta(1, 1, delta)  # validates delta
        self.delta = float(delta)
        if beta_form not in BETA_FORMS:
            raise ConfigError("beta_form", beta_form, f"must be one of {', '.join(BETA_FORMS)}")
        self.beta_form = beta_form
        if isinstance(refit_growth, bool) or not isinstance(refit_growth, (int, float)) or not refit_growth > 1:
            raise ConfigError("refit_growth", refit_growth, "must be a number > 1")
        self.refit_growth = float(refit_growth)
        self.refit_every = None if refit_every is None else check_positive_int("refit_every", refit_every)
        self.rank_one = bool(rank_one)
        self.fit_maxiter = check_positive_int("fit_maxiter", fit_maxiter)
        self.raw_samples = check_positive_int("raw_samples", raw_samples)
        self.num_restarts = check_positive_int("num_restarts", num_restarts)
        if self.num_restarts > self.raw_samples:
            raise ConfigError("num_restarts", num_restarts, f"must be <= raw_samples = {self.raw_samples}")
        self.optimizer_maxiter = check_positive_int("optimizer_maxiter", optimizer_maxiter)
        if isinstance(optimizer_ftol, bool) or not isinstance(optimizer_ftol, (int, float)) or not optimizer_ftol > 0:
            raise ConfigError("optimizer_ftol", optimizer_ftol, "must be a number > 0")
        self.optimizer_ftol = float(optimizer_ftol)
        self.warm_start = bool(warm_start)
        self.fit_from_prior = bool(fit_from_prior)
        if isinstance(random_fraction, bool) or not isinstance(random_fraction, (int, float)) \
                or not 0.0 <= random_fraction <= 1.0:
            raise ConfigError("random_fraction", random_fraction, "must be a number in [0, 1]")
        self.random_fraction = float(random_fraction)
        resolve_device(device)  # validates
        self.device = str(device)

    # --- hooks the batch and straddle samplers override -------------------------------------------
    def _levels_per_step(self) -> int:
        return 1

    def _resolve_target(self, initial_values: np.ndarray, h: float) -> str:
        if self.target != "auto":
            return self.target
        # The paper seeks the minority class; ties go to the paper's default side.
        return "below" if np.mean(initial_values >= h) > 0.5 else "above"

    def _acquisition(self, model: GP, n_observations: int, d: int, h: float, target: str):
        beta = paper_beta(d, n_observations, self.delta)
        weight = beta if self.beta_form == "paper" else beta**0.5
        return ReliabilityUCB(model, beta=weight, h=h, target=target)

    # --- schedule ------------------------------------------------------------------------------
    def _step_start(self, n: int) -> int:
        """The first level count of the step that level ``n`` belongs to."""
        q = self._levels_per_step()
        return self.t0 + q * ((n - self.t0) // q)

    def _is_refit(self, step: int) -> bool:
        """Whether hyperparameters are refitted at the step that starts with ``step`` levels (t only)."""
        if step == self.t0:
            return True
        previous = step - self._levels_per_step()
        if self.refit_every is not None:
            return (step - self.t0) // self.refit_every > (previous - self.t0) // self.refit_every
        # A scheduled count t0 * growth^k in (previous, step]: log_growth(step / t0) crossed an integer.
        def k(n: int) -> int:
            return math.floor(math.log(n / self.t0) / math.log(self.refit_growth) + 1e-9)

        return k(step) > k(previous)

    def _fit_options(self) -> FitOptions:
        return FitOptions(maxiter=self.fit_maxiter)

    # --- the loop --------------------------------------------------------------------------------
    def _run(self, run: Run) -> None:
        box, h, seed = run.box, run.h, run.seed
        initial = uniform_levels(box, self.t0, np.random.default_rng(seed))
        if run.n < self.t0:
            run.evaluate(initial[run.n :], np.full(self.t0 - run.n, np.nan))
        run.target = self._resolve_target(run.values[: self.t0], h)
        self._refits: dict[int, GPParams] = {
            int(r["n"]): GPParams.from_dict(r) for r in run.state.get("refits", []) if int(r["n"]) <= run.n
        }
        self._gp, self._gp_n, self._gp_params_n = None, 0, -1
        upper = unit_upper_bounds(box)  # 0 on degenerate dimensions
        while run.n < self.budget:
            start = time.perf_counter()
            self._positive_share = float(np.mean(run.values >= h))  # of R so far (the matched sampler's cue)
            with single_threaded():
                step = self._step_start(run.n)
                unit = run.unit
                model = self._model_at(step, unit, run.values)
                done = unit[step : run.n]  # picks of this step evaluated before an interruption
                n_new = min(self._levels_per_step(), self.budget - step) - len(done)
                points, acquisition = self._propose(model, unit[:step], done, n_new, h, run.target, seed, step, upper, box)
            levels = box.from_unit(np.clip(points, 0.0, upper))
            run.evaluate(levels, acquisition, time.perf_counter() - start)

    def _model_at(self, step: int, unit: np.ndarray, values: np.ndarray) -> GP:
        """The GP on the first ``step`` levels, built exactly as an uninterrupted run builds it."""
        last_refit = next(s for s in reversed(self._step_starts(step)) if self._is_refit(s))
        params = self._params_at(last_refit, unit, values)
        if not self.rank_one:  # the old way: a new factorisation every step
            return GP(unit[:step], values[:step], params, self.device)
        if self._gp is None or self._gp_params_n != last_refit:
            self._gp = GP(unit[:last_refit], values[:last_refit], params, self.device)
            self._gp_n, self._gp_params_n = last_refit, last_refit
        # Grow one step at a time, as the uninterrupted run did (same rounding).
        while self._gp_n < step:
            stop = min(self._gp_n + self._levels_per_step(), step)
            self._gp.add(unit[self._gp_n : stop], values[self._gp_n : stop])
            self._gp_n = stop
        return self._gp

    def _step_starts(self, up_to: int) -> range:
        return range(self.t0, up_to + 1, self._levels_per_step())

    def _params_at(self, refit_step: int, unit: np.ndarray, values: np.ndarray) -> GPParams:
        """Hyperparameters fitted at ``refit_step``: from the state, else by replaying every refit up to it."""
        if refit_step in self._refits:
            return self._refits[refit_step]
        previous = None
        for s in self._step_starts(refit_step):
            if not self._is_refit(s):
                continue
            if s not in self._refits:
                self._refits[s] = fit_params(unit[:s], values[:s], self.kernel, previous, self._fit_options(),
                                             self.device, also_from_prior=self.fit_from_prior)
            previous = self._refits[s]
        return previous

    def _maximize(self, acquisition, upper: np.ndarray, rng: np.random.Generator, warm: np.ndarray | None):
        seed = int(rng.integers(2**31 - 1))
        return maximize(acquisition, upper, self.raw_samples, self.num_restarts, self.optimizer_maxiter, seed,
                        warm if self.warm_start else None, self.optimizer_ftol)

    def _random_pick(self, rng: np.random.Generator) -> bool:
        """Whether this pick is a uniform level instead of the acquisition's (``random_fraction``)."""
        return self.random_fraction > 0 and rng.random() < self.random_fraction

    def _pick(self, model: GP, n_real: int, d: int, h: float, target: str, seed: int, step: int, j: int,
              existing: np.ndarray, upper: np.ndarray, warm: np.ndarray | None) -> tuple[np.ndarray, float]:
        """Pick j of the step starting at ``step``: maximise, replace a duplicate by a random level."""
        rng = np.random.default_rng([seed, step, j])
        if self._random_pick(rng):
            return rng.random(d) * upper, float("nan")
        point, value = self._maximize(self._acquisition(model, n_real, d, h, target), upper, rng, warm)
        if is_duplicate(point, existing):
            return rng.random(d) * upper, float("nan")
        return point, value

    def _propose(self, model: GP, unit: np.ndarray, done: np.ndarray, n_new: int, h: float, target: str, seed: int,
                 step: int, upper: np.ndarray, box) -> tuple[np.ndarray, list[float]]:
        """``n_new`` new unit-cube levels and their acquisition values (here one)."""
        d = unit.shape[1]
        point, value = self._pick(model, len(unit), d, h, target, seed, step, 0, unit, upper, unit[-1:])
        return point.reshape(1, d), [value]

    def extra_state(self, run: Run) -> dict:
        refits = getattr(self, "_refits", {})
        return {"target": run.target,
                "refits": [{"n": n, **refits[n].to_dict()} for n in sorted(refits) if n <= run.n]}

"""GP-based sampling, the paper's section 3.2.1 (equations 1-4).

t0 random levels, then one level per iteration: fit a GP to (levels scaled to [0, 1]^d, f values),
maximise the acquisition over the continuous unit cube with multi-start L-BFGS-B, evaluate f there.

Cost control (the whole run at I = 600 in 6-D must take minutes on one thread):

* hyperparameters are refitted by marginal likelihood only every ``refit_every`` new observations,
  warm-started from the previous values and capped at ``fit_maxiter`` L-BFGS-B steps; in between the
  GP is rebuilt on the new data with the previous hyperparameters (one Cholesky, no optimisation);
* the acquisition optimiser uses ``raw_samples`` Sobol points and ``num_restarts`` L-BFGS-B starts,
  ``optimizer_maxiter`` steps each, and never retries.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from botorch.acquisition.analytic import AnalyticAcquisitionFunction
from botorch.exceptions.warnings import InputDataWarning, OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from botorch.optim import optimize_acqf
from gpytorch.mlls import ExactMarginalLogLikelihood
from tqdm import tqdm

from ..errors import ConfigError
from ..space import Box
from .acquisition import TARGETS, ReliabilityUCB, paper_beta
from .base import (
    Sampler,
    TimedObjective,
    check_positive_int,
    uniform_levels,
    unit_upper_bounds,
    update_bar,
)

KERNELS = ("rbf", "matern52")
#: How beta weights sigma: the paper's ``beta * sigma`` or Srinivas et al.'s GP-UCB ``sqrt(beta) * sigma``.
BETA_FORMS = ("paper", "sqrt")
#: Two levels closer than this in the unit cube count as the same level.
DUPLICATE_TOLERANCE = 1e-6
# float64 throughout: Cholesky factors of 600 x 600 kernel matrices on near-duplicate levels need it.
DTYPE = torch.float64


def build_gp(
    unit_levels: np.ndarray, values: np.ndarray, kernel: str = "rbf", warm_start: SingleTaskGP | None = None
) -> SingleTaskGP:
    """A ``SingleTaskGP`` (ARD kernel, standardised outcomes) on unit-cube levels, in eval mode.

    Parameters
    ----------
    unit_levels : ndarray of shape (n, d)
        Levels scaled to [0, 1]^d.
    values : ndarray of shape (n,)
        f at those levels.
    kernel : {"rbf", "matern52"}
        ARD kernel with BoTorch's dimension-scaled lengthscale prior.
    warm_start : SingleTaskGP, optional
        A GP of the same kernel whose hyperparameters (kernel, noise, mean) are copied.

    Returns
    -------
    SingleTaskGP
    """
    if kernel not in KERNELS:
        raise ConfigError("kernel", kernel, f"must be one of {', '.join(KERNELS)}")
    train_x = torch.as_tensor(unit_levels, dtype=DTYPE)
    train_y = torch.as_tensor(values, dtype=DTYPE).reshape(-1, 1)
    covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=train_x.shape[-1], use_rbf_kernel=kernel == "rbf")
    with warnings.catch_warnings():
        # A constant f (e.g. all initial levels at chance accuracy) is legal; Standardize copes with it.
        warnings.simplefilter("ignore", InputDataWarning)
        model = SingleTaskGP(train_x, train_y, covar_module=covar)
    if warm_start is not None:
        # Hyperparameters only: the outcome transform was just recomputed for the new data.
        for part in ("covar_module", "likelihood", "mean_module"):
            getattr(model, part).load_state_dict(getattr(warm_start, part).state_dict())
    return model.eval()


def fit_gp(model: SingleTaskGP, maxiter: int = 75) -> SingleTaskGP:
    """Fit the hyperparameters by marginal likelihood, starting from their current values."""
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizationWarning)  # hitting maxiter is the intended cap
        fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": int(maxiter)}})
    return model.eval()


def maximize_acquisition(
    acquisition: AnalyticAcquisitionFunction,
    unit_upper: np.ndarray,
    raw_samples: int,
    num_restarts: int,
    maxiter: int,
    seed: int,
) -> tuple[np.ndarray, float]:
    """Multi-start L-BFGS-B over prod_i [0, unit_upper_i]; returns the best point and its value.

    ``unit_upper`` is 1 per dimension, except 0 where the box is degenerate (lower == upper): such a
    dimension sits at 0 in the unit cube and must not be searched.
    """
    d = len(unit_upper)
    bounds = torch.stack([torch.zeros(d, dtype=DTYPE), torch.as_tensor(unit_upper, dtype=DTYPE)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        candidate, value = optimize_acqf(
            acquisition,
            bounds=bounds,
            q=1,
            num_restarts=num_restarts,
            raw_samples=raw_samples,
            options={
                "seed": int(seed),
                "maxiter": int(maxiter),
                "batch_limit": num_restarts,
                "init_batch_limit": raw_samples,  # score all raw samples in one posterior call
            },
            retry_on_optimization_warning=False,
        )
    return candidate.detach().cpu().numpy().reshape(d), float(value)


def is_duplicate(point: np.ndarray, existing: np.ndarray) -> bool:
    """Whether ``point`` coincides with a row of ``existing`` (unit cube)."""
    if len(existing) == 0:
        return False
    return bool(np.min(np.max(np.abs(existing - point), axis=1)) < DUPLICATE_TOLERANCE)


class GPSampler(Sampler):
    """The paper's GP-based sampler (section 3.2.1): one acquisition-maximising level per iteration.

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
        (Srinivas et al., the paper's reference 28) and BoTorch's UCB: far less exploration
        (beyond the paper; see benchmarks/sampling.py for when it matters).
    refit_every : int, default 5
        Refit hyperparameters after this many new observations (1 = every iteration, as in the paper).
    fit_maxiter : int, default 75
        Cap on L-BFGS-B steps per hyperparameter fit.
    raw_samples, num_restarts, optimizer_maxiter : int, default 256, 4, 100
        Acquisition optimiser: Sobol points scored, L-BFGS-B starts, steps per start.
    progress : bool, default True
        Show a progress bar.

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
        refit_every: int = 5,
        fit_maxiter: int = 75,
        raw_samples: int = 256,
        num_restarts: int = 4,
        optimizer_maxiter: int = 100,
        progress: bool = True,
    ):
        super().__init__(budget=budget, progress=progress)
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
        self.refit_every = check_positive_int("refit_every", refit_every)
        self.fit_maxiter = check_positive_int("fit_maxiter", fit_maxiter)
        self.raw_samples = check_positive_int("raw_samples", raw_samples)
        self.num_restarts = check_positive_int("num_restarts", num_restarts)
        if self.num_restarts > self.raw_samples:
            raise ConfigError("num_restarts", num_restarts, f"must be <= raw_samples = {self.raw_samples}")
        self.optimizer_maxiter = check_positive_int("optimizer_maxiter", optimizer_maxiter)

    # --- hooks the batch and straddle samplers override -------------------------------------------
    def _levels_per_step(self) -> int:
        return 1

    def _resolve_target(self, initial_values: np.ndarray, h: float) -> str:
        if self.target != "auto":
            return self.target
        # The paper seeks the minority class; ties go to the paper's default side.
        return "below" if np.mean(initial_values >= h) > 0.5 else "above"

    def _acquisition(self, model: SingleTaskGP, n_observations: int, d: int, h: float, target: str):
        beta = paper_beta(d, n_observations, self.delta)
        weight = beta if self.beta_form == "paper" else beta**0.5
        return ReliabilityUCB(model, beta=weight, h=h, target=target)

    def _propose(
        self,
        model: SingleTaskGP,
        unit_levels: np.ndarray,
        values: np.ndarray,
        n_new: int,
        h: float,
        target: str,
        rng: np.random.Generator,
        unit_upper: np.ndarray,
    ) -> tuple[np.ndarray, list[float]]:
        """``n_new`` new unit-cube levels and their acquisition values (here ``n_new`` is 1)."""
        d = unit_levels.shape[1]
        acquisition = self._acquisition(model, len(unit_levels), d, h, target)
        point, value = self._maximize(acquisition, unit_upper, rng)
        point, value = self._replace_duplicate(point, value, unit_levels, rng, unit_upper)
        return point.reshape(1, d), [value]

    # --- shared machinery ----------------------------------------------------------------------
    def _maximize(
        self, acquisition, unit_upper: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, float]:
        seed = int(rng.integers(2**31 - 1))
        return maximize_acquisition(
            acquisition, unit_upper, self.raw_samples, self.num_restarts, self.optimizer_maxiter, seed
        )

    @staticmethod
    def _replace_duplicate(
        point: np.ndarray, value: float, existing: np.ndarray, rng: np.random.Generator, unit_upper: np.ndarray
    ) -> tuple[np.ndarray, float]:
        if is_duplicate(point, existing):
            return rng.random(point.shape[0]) * unit_upper, float("nan")
        return point, value

    def _run(self, objective: TimedObjective, box: Box, h: float, seed: int, bar: tqdm):
        rng = np.random.default_rng(seed)
        levels = uniform_levels(box, self.t0, rng)
        values = objective(levels)
        acquisition_values = [float("nan")] * self.t0
        update_bar(bar, self.t0, values, h, None)
        target = self._resolve_target(values, h)
        step_seconds: list[float] = []
        model: SingleTaskGP | None = None
        n_at_last_fit = 0
        unit_upper = unit_upper_bounds(box)  # 0 on degenerate dimensions
        # Botorch draws from torch's global generator (fit retries); fork it so runs are reproducible
        # and the caller's torch random state is left untouched.
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            while len(values) < self.budget:
                start = time.perf_counter()
                unit = box.to_unit(levels)
                model = build_gp(unit, values, self.kernel, warm_start=model)
                if len(values) - n_at_last_fit >= self.refit_every or n_at_last_fit == 0:
                    fit_gp(model, self.fit_maxiter)
                    n_at_last_fit = len(values)
                n_new = min(self._levels_per_step(), self.budget - len(values))
                new_unit, new_acq = self._propose(model, unit, values, n_new, h, target, rng, unit_upper)
                step_seconds.append(time.perf_counter() - start)
                new_levels = box.from_unit(np.clip(new_unit, 0.0, unit_upper))
                new_values = objective(new_levels)
                levels = np.vstack([levels, new_levels])
                values = np.concatenate([values, new_values])
                acquisition_values.extend(new_acq)
                update_bar(bar, n_new, values, h, np.nanmax(new_acq) if np.isfinite(new_acq).any() else None)
        return levels, values, np.asarray(acquisition_values), step_seconds, target

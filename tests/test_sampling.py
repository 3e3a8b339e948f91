"""Samplers (issue 3): paper eq. 3 and its beta, GP vs random, targets, batch, straddle, errors.

Synthetic objectives with known reliable regions stand in for the oracle; each statistical claim is
checked against the binomial tail of uniform sampling at the region's exact area, so it cannot
pass by luck.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import binom

from distortion_reliability.errors import ConfigError
from distortion_reliability.gp import GP, GPParams, fit_params
from distortion_reliability.sampling import (
    GPBatchSampler,
    GPSampler,
    RandomSampler,
    ReliabilityUCB,
    SampleResult,
    Straddle,
    StraddleSampler,
    paper_beta,
)
from distortion_reliability.box import Box

torch.set_num_threads(1)

CONF = Path(__file__).resolve().parents[1] / "conf" / "sampler"
UNIT_SQUARE = Box(["x", "y"], [0.0, 0.0], [1.0, 1.0])
# Natural units differ from the unit cube on purpose: the GP must see box.to_unit(levels).
SQUARE = Box(["rotation", "rain"], [0.0, -1.0], [90.0, 1.0])
CENTER = np.array([0.7, 0.3])  # in the unit cube
SPREAD = 0.2  # a smooth decay over much of C, like accuracy under growing distortion
CLASSES = {"random": RandomSampler, "gp": GPSampler, "gp_batch": GPBatchSampler, "straddle": StraddleSampler}


def bump(levels: np.ndarray, box: Box = SQUARE) -> np.ndarray:
    """A Gaussian bump of height 1 at CENTER: f >= h on a disc of area pi * SPREAD^2 * (-2 ln h)."""
    u = box.to_unit(levels)
    return np.exp(-0.5 * np.sum(((u - CENTER) / SPREAD) ** 2, axis=1))


def bump_area(h: float) -> float:
    """Exact fraction of the unit square where ``bump >= h`` (the disc lies inside it for h >= 0.4)."""
    assert h >= 0.4
    return math.pi * SPREAD**2 * (-2.0 * math.log(h))


def fast(**params) -> dict:
    """Small optimiser settings so the test file stays fast; the algorithm is unchanged."""
    return {"progress": False, "raw_samples": 32, "num_restarts": 2, "optimizer_maxiter": 50, **params}


def make(name: str, **params):
    """A sampler by its config name with test-sized settings (random takes no optimiser settings)."""
    if name == "random":
        params = {k: v for k, v in params.items() if k in ("budget", "batch_size", "progress", "label")}
        return RandomSampler(**{"progress": False, **params})
    params.pop("batch_size", None)
    return CLASSES[name](**fast(**params))


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the chance uniform sampling does at least as well."""
    return float(binom.sf(k - 1, n, p))


# --- beta and the acquisition functions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "t", "expected"),
    [
        # Computed with 30-digit decimals: 2 * (ln(d * t * pi^2) - ln(0.6)).
        # 2 * (2.28945977 + 0.51082562)
        (1, 1, 5.6005708),
        # 2 * (ln(592.1762641) + 0.51082562) = 2 * (6.38380433 + 0.51082562)
        (6, 10, 13.7892599),
        # 2 * (ln(35530.5758) + 0.51082562) = 2 * (10.47814890 + 0.51082562)
        (6, 600, 21.9779490),
    ],
)
def test_paper_beta_matches_hand_computed_values(d, t, expected):
    assert paper_beta(d, t) == pytest.approx(expected, abs=1e-6)


def test_paper_beta_grows_with_observations_and_uses_delta():
    assert paper_beta(2, 100) > paper_beta(2, 10)
    # delta enters as -log(6 delta): halving delta adds 2 ln 2.
    assert paper_beta(2, 10, delta=0.05) - paper_beta(2, 10, delta=0.1) == pytest.approx(2 * math.log(2))


@pytest.mark.parametrize(("field", "args"), [("d", (0, 5)), ("t", (2, 0)), ("delta", (2, 5, 1.5))])
def test_paper_beta_rejects_bad_input(field, args):
    with pytest.raises(ConfigError, match=field):
        paper_beta(*args)


def _independent_posterior(params: GPParams, train_u, train_y, test_u):
    """GP posterior mean and sd from equations 1-2 in numpy, using only the hyperparameters."""
    lengthscale = np.asarray(params.lengthscale)

    def k(a, b):
        r = np.sqrt(np.sum(((a[:, None, :] - b[None, :, :]) / lengthscale) ** 2, axis=-1))
        if params.kernel == "rbf":
            return np.exp(-0.5 * r**2)
        return (1 + math.sqrt(5) * r + 5.0 / 3.0 * r**2) * np.exp(-math.sqrt(5) * r)

    # Outcomes are standardised with the sample mean and (n - 1) standard deviation.
    y_mean, y_std = train_y.mean(), train_y.std(ddof=1)
    y = (train_y - y_mean) / y_std
    K = k(train_u, train_u) + params.noise * np.eye(len(train_u))
    k_star = k(train_u, test_u)
    mean = params.mean + k_star.T @ np.linalg.solve(K, y - params.mean)
    var = 1.0 - np.sum(k_star * np.linalg.solve(K, k_star), axis=0)
    return y_mean + y_std * mean, y_std * np.sqrt(np.maximum(var, 1e-12))


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_acquisitions_equal_formula_on_independent_gp_posterior(kernel):
    rng = np.random.default_rng(3)
    train_u = rng.random((12, 2))
    train_y = bump(UNIT_SQUARE.from_unit(train_u), UNIT_SQUARE) * 0.8 + 0.1
    params = fit_params(train_u, train_y, kernel)
    model = GP(train_u, train_y, params)
    test_u = np.vstack([rng.random((6, 2)), train_u[:2]])  # known points, two of them observed
    mu, sigma = _independent_posterior(params, train_u, train_y, test_u)
    x = torch.as_tensor(test_u, dtype=torch.float64)
    h, beta = 0.55, paper_beta(2, 12)
    with torch.no_grad():
        above = ReliabilityUCB(model, beta=beta, h=h, target="above")(x).numpy()
        below = ReliabilityUCB(model, beta=beta, h=h, target="below")(x).numpy()
        straddle = Straddle(model, h=h)(x).numpy()
    np.testing.assert_allclose(above, beta * sigma + (mu - h), atol=1e-6)
    np.testing.assert_allclose(below, beta * sigma + (h - mu), atol=1e-6)
    np.testing.assert_allclose(straddle, 1.96 * sigma - np.abs(mu - h), atol=1e-6)
    # The paper's beta multiplies sigma itself (botorch's UCB would use sqrt(beta)).
    assert not np.allclose(above, math.sqrt(beta) * sigma + (mu - h), atol=1e-3)
    # The closed-form gradients the optimiser uses agree with finite differences.
    for acquisition in (ReliabilityUCB(model, beta=beta, h=h), Straddle(model, h=h)):
        point = torch.tensor([[0.31, 0.62]], dtype=torch.float64)
        _, grad = acquisition.value_and_grad(point)
        eps = 1e-6
        numeric = [(acquisition(point + eps * e) - acquisition(point - eps * e)).item() / (2 * eps)
                   for e in torch.eye(2, dtype=torch.float64)]
        np.testing.assert_allclose(grad.numpy().ravel(), numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("beta_form", "weight"), [("paper", lambda b: b), ("sqrt", math.sqrt)])
def test_gp_sampler_weights_sigma_by_beta_or_its_square_root(beta_form, weight):
    model = GP(np.random.default_rng(0).random((5, 2)), np.linspace(0, 1, 5), GPParams("rbf", (0.3, 0.3), 1e-4))
    sampler = GPSampler(beta_form=beta_form, progress=False)
    acquisition = sampler._acquisition(model, n_observations=37, d=2, h=0.5, target="above")
    assert isinstance(acquisition, ReliabilityUCB)
    assert acquisition.beta == pytest.approx(weight(paper_beta(2, 37)))


def test_acquisition_rejects_bad_target_and_kappa():
    # (h is checked once at the door: test_threshold_outside_unit_interval_is_rejected_at_the_door)
    model = GP(np.random.default_rng(0).random((4, 2)), np.linspace(0, 1, 4), GPParams("rbf", (0.3, 0.3), 1e-4))
    with pytest.raises(ConfigError, match="target"):
        ReliabilityUCB(model, beta=1.0, h=0.5, target="sideways")
    with pytest.raises(ConfigError, match="kappa"):
        Straddle(model, h=0.5, kappa=-1.0)


# --- behaviour of the samplers ---------------------------------------------------------------


def test_gp_finds_far_more_positives_than_random_sampling():
    h, budget = 0.9, 40
    area = bump_area(h)  # 2.6 % of C
    gp = make("gp", budget=budget, t0=10).sample(bump, SQUARE, h, seed=0)
    rnd = make("random", budget=budget).sample(bump, SQUARE, h, seed=0)
    assert gp.n_positive > rnd.n_positive
    # Uniform sampling reaching the GP's count has probability below 1e-6 at this region area.
    assert binomial_tail(gp.n_positive, budget, area) < 1e-6, (gp.n_positive, area)
    assert gp.target == "above"
    # The t0 initial levels are not acquired; every later one is.
    assert np.isnan(gp.acquisition_values[:10]).all() and np.isfinite(gp.acquisition_values[10:]).all()
    assert len(gp.step_seconds) == budget - 10


def test_target_below_flips_the_objective_toward_low_f():
    h, budget = 0.1, 40
    area = bump_area(1 - h)  # f < h on the disc where the bump exceeds 1 - h: 2.6 % of C

    def dip(levels):
        return 1.0 - bump(levels)

    below = make("gp", budget=budget, t0=10, target="below").sample(dip, SQUARE, h, seed=1)
    above = make("gp", budget=budget, t0=10, target="above").sample(dip, SQUARE, h, seed=1)
    n_low_below = int(np.sum(below.values < h))
    assert n_low_below > int(np.sum(above.values < h))
    assert binomial_tail(n_low_below, budget, area) < 1e-6, (n_low_below, area)
    # Labels stay "f >= h" whatever side is sought.
    np.testing.assert_array_equal(below.labels, below.values >= h)
    # auto sees mostly f >= h among the initial levels and seeks the minority below h.
    auto = make("gp", budget=12, t0=10, target="auto").sample(dip, SQUARE, h, seed=1)
    assert auto.target == "below"


def test_straddle_concentrates_near_the_boundary():
    h, budget, band = 0.5, 30, 0.1
    straddle = make("straddle", budget=budget, t0=10).sample(bump, SQUARE, h, seed=2)
    assert straddle.target == "boundary"
    near = np.abs(straddle.values[10:] - h) < band
    # Area of the annulus h - band < bump < h + band, exactly, from the bump's radial profile.
    p_band = bump_area(h - band) - bump_area(h + band)
    assert binomial_tail(int(near.sum()), budget - 10, p_band) < 1e-6, (near.sum(), p_band)


class CallRecorder:
    """Wraps an objective and keeps the batch of levels of every call (optionally failing after some calls)."""

    def __init__(self, objective, fail_after: int | None = None):
        self.objective = objective
        self.calls: list[np.ndarray] = []
        self.fail_after = fail_after

    def __call__(self, levels):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("killed")
        self.calls.append(np.array(levels))
        return self.objective(levels)


def test_batch_sampler_sends_q_distinct_levels_per_oracle_call():
    t0, q, steps = 8, 4, 3
    recorder = CallRecorder(bump)
    result = make("gp_batch", budget=t0 + q * steps, t0=t0, q=q).sample(recorder, SQUARE, 0.5, seed=0)
    assert [len(c) for c in recorder.calls] == [t0] + [q] * steps
    np.testing.assert_array_equal(np.vstack(recorder.calls), result.levels)
    unit = SQUARE.to_unit(result.levels)
    gaps = np.max(np.abs(unit[:, None, :] - unit[None, :, :]), axis=-1) + np.eye(len(unit))
    assert gaps.min() > 1e-6  # all levels distinct, within a batch and across batches
    assert len(result.step_seconds) == steps


def test_gp_sampler_calls_objective_once_per_level_after_the_initial_batch():
    recorder = CallRecorder(bump)
    make("gp", budget=9, t0=6).sample(recorder, SQUARE, 0.5, seed=0)
    assert [len(c) for c in recorder.calls] == [6, 1, 1, 1]


def test_refits_follow_a_geometric_schedule_of_t_only():
    sampler = GPSampler(t0=10, refit_growth=1.25, progress=False)
    refits = [t for t in range(10, 601) if sampler._is_refit(t)]
    assert refits == [10, 13, 16, 20, 25, 31, 39, 48, 60, 75, 94, 117, 146, 182, 228, 285, 356, 445, 556]
    old = GPSampler(t0=10, refit_every=5, progress=False)
    assert [t for t in range(10, 40) if old._is_refit(t)] == [10, 15, 20, 25, 30, 35]
    batch = GPBatchSampler(t0=10, q=10, refit_growth=1.25, progress=False)
    assert [t for t in range(10, 120, 10) if batch._is_refit(t)] == [10, 20, 30, 40, 50, 60, 80, 100]


# --- reproducibility: seeds, thread counts, budgets, resuming ---------------------------------

ALL = [("random", {}), ("gp", {"t0": 6}), ("gp_batch", {"t0": 6, "q": 3}), ("straddle", {"t0": 6})]


@pytest.mark.parametrize(("name", "params"), ALL)
def test_same_seed_same_levels_other_seed_other_levels(name, params):
    torch.manual_seed(123)  # the caller's torch state must neither matter nor be changed
    first = make(name, budget=12, **params).sample(bump, SQUARE, 0.5, seed=7)
    after = torch.rand(1)
    torch.manual_seed(999)
    again = make(name, budget=12, **params).sample(bump, SQUARE, 0.5, seed=7)
    other = make(name, budget=12, **params).sample(bump, SQUARE, 0.5, seed=8)
    np.testing.assert_array_equal(first.levels, again.levels)
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.allclose(first.levels, other.levels)
    assert first.levels.shape == (12, 2)
    assert np.all(first.levels >= SQUARE.lower) and np.all(first.levels <= SQUARE.upper)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)


@pytest.mark.parametrize(("name", "params"), ALL[1:])
def test_same_levels_with_one_or_two_torch_threads(name, params):
    old = torch.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runs.append(make(name, budget=18, **params).sample(bump, SQUARE, 0.5, seed=3).levels)
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(old)
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize(("name", "params"), ALL)
def test_a_budget_is_the_prefix_of_a_larger_one(name, params):
    # 19 = 6 + 3*4 + 1: gp_batch's last step is cut after one of its three picks.
    short = make(name, budget=19, **params).sample(bump, SQUARE, 0.5, seed=4)
    long = make(name, budget=24, **params).sample(bump, SQUARE, 0.5, seed=4)
    np.testing.assert_array_equal(short.levels, long.levels[:19])
    np.testing.assert_array_equal(short.values, long.values[:19])


def _json_round_trip(result: SampleResult) -> SampleResult:
    """What the pipeline stores and reads back: levels/values arrays and the state as strict JSON."""
    state = json.loads(json.dumps(result.state, allow_nan=False))
    return SampleResult(levels=result.levels.copy(), values=result.values.copy(), labels=result.labels.copy(),
                        h=result.h, oracle_seconds=result.oracle_seconds, sampler_seconds=result.sampler_seconds,
                        state=state)


@pytest.mark.parametrize(("name", "params"), ALL)
def test_resuming_a_shorter_run_gives_the_uninterrupted_levels(name, params):
    whole = make(name, budget=24, **params).sample(bump, SQUARE, 0.5, seed=5)
    # 20 ends inside a gp_batch step (18, 19 | 20): the resume finishes that step, then goes on.
    short = make(name, budget=20, **params).sample(bump, SQUARE, 0.5, seed=5)
    resumed = make(name, budget=24, **params).sample(bump, SQUARE, 0.5, seed=5, resume=_json_round_trip(short))
    np.testing.assert_array_equal(resumed.levels, whole.levels)
    np.testing.assert_array_equal(resumed.values, whole.values)
    np.testing.assert_array_equal(resumed.acquisition_values, whole.acquisition_values)
    # Without a state (an old artifact) the refits are replayed: the same levels again.
    bare = _json_round_trip(short)
    bare.state = None
    replayed = make(name, budget=24, **params).sample(bump, SQUARE, 0.5, seed=5, resume=bare)
    np.testing.assert_array_equal(replayed.levels, whole.levels)


@pytest.mark.parametrize(("name", "params"), ALL)
def test_an_interrupted_run_resumes_from_its_last_progress_report(name, params):
    whole = make(name, budget=20, **params).sample(bump, SQUARE, 0.5, seed=6)
    reports: list[SampleResult] = []
    with pytest.raises(KeyboardInterrupt):
        make(name, budget=20, batch_size=5, **params).sample(CallRecorder(bump, fail_after=3), SQUARE, 0.5, seed=6,
                                                            on_progress=reports.append)
    assert [r.budget for r in reports] == sorted(r.budget for r in reports) and len(reports) == 3
    last = reports[-1]
    assert 0 < last.budget < 20 and last.state["n"] == last.budget
    resumed = make(name, budget=20, **params).sample(bump, SQUARE, 0.5, seed=6, resume=_json_round_trip(last))
    np.testing.assert_array_equal(resumed.levels, whole.levels)
    # A longer stored run cut to a prefix (as the pipeline cuts it) resumes too.
    cut = _json_round_trip(whole)
    cut.levels, cut.values, cut.labels = cut.levels[:14], cut.values[:14], cut.labels[:14]
    again = make(name, budget=20, **params).sample(bump, SQUARE, 0.5, seed=6, resume=cut)
    np.testing.assert_array_equal(again.levels, whole.levels)


def test_resume_checks_seed_settings_and_threshold():
    short = make("gp", budget=8, t0=6).sample(bump, SQUARE, 0.5, seed=1)
    with pytest.raises(ConfigError, match="sampler"):
        make("straddle", budget=10, t0=6).sample(bump, SQUARE, 0.5, seed=1, resume=short)
    with pytest.raises(ConfigError, match="seed"):
        make("gp", budget=10, t0=6).sample(bump, SQUARE, 0.5, seed=2, resume=short)
    with pytest.raises(ConfigError, match="settings"):
        make("gp", budget=10, t0=6, beta_form="sqrt").sample(bump, SQUARE, 0.5, seed=1, resume=short)
    with pytest.raises(ConfigError, match="h"):
        make("gp", budget=10, t0=6).sample(bump, SQUARE, 0.6, seed=1, resume=short)
    # A resume longer than the budget is cut to it.
    cut = make("gp", budget=7, t0=6).sample(bump, SQUARE, 0.5, seed=1, resume=short)
    np.testing.assert_array_equal(cut.levels, short.levels[:7])


def test_timings_add_up_over_a_resume():
    short = make("gp", budget=8, t0=6).sample(bump, SQUARE, 0.5, seed=1)
    resumed = make("gp", budget=10, t0=6).sample(bump, SQUARE, 0.5, seed=1, resume=short)
    assert resumed.sampler_seconds > short.sampler_seconds and resumed.oracle_seconds >= short.oracle_seconds
    assert len(resumed.step_seconds) == 2  # the steps of this call


@pytest.mark.parametrize("name", ["random", "gp", "gp_batch", "straddle"])
def test_degenerate_dimension_stays_at_its_fixed_value(name):
    # rain fixed at 0.3 (lower == upper): it maps to 0 in the unit cube and must never be searched.
    box = Box(["rotation", "rain", "scale"], [0.0, 0.3, 0.7], [90.0, 0.3, 1.3])

    def f(levels):
        return bump(levels[:, [0, 2]], Box(["rotation", "scale"], [0.0, 0.7], [90.0, 1.3]))

    params = {"gp_batch": {"q": 2}}.get(name, {})
    result = make(name, budget=10, t0=6, **params).sample(f, box, 0.5, seed=0)
    np.testing.assert_array_equal(result.levels[:, 1], 0.3)
    assert len(np.unique(result.levels[:, [0, 2]], axis=0)) == 10


# --- the result record -------------------------------------------------------------------------


def test_sample_result_labels_positives_and_oracle_time():
    import time

    def slow_bump(levels):
        time.sleep(0.02)
        return bump(levels)

    result = RandomSampler(budget=30, batch_size=10, progress=False).sample(slow_bump, SQUARE, 0.3, seed=0)
    assert isinstance(result, SampleResult)
    np.testing.assert_array_equal(result.labels, result.values >= 0.3)
    np.testing.assert_allclose(result.values, bump(result.levels))
    assert result.n_positive == int(np.sum(result.values >= 0.3))
    cumulative = np.cumsum(result.labels)
    assert [result.positives_at(b) for b in (0, 10, 30)] == [0, cumulative[9], cumulative[29]]
    assert result.oracle_seconds >= 3 * 0.02  # three calls of a sleeping objective
    assert result.sampler_seconds >= 0
    with pytest.raises(ConfigError, match="budget"):
        result.positives_at(31)


def test_progress_is_logged_with_the_display_name_positives_and_best_acquisition(monkeypatch, caplog):
    import logging

    monkeypatch.setenv("DR_STATUS_INTERVAL", "0")  # not a terminal: one status line per update
    with caplog.at_level(logging.INFO):
        make("gp", budget=12, t0=10, label="gp_sqrt", progress=True).sample(bump, SQUARE, 0.5, seed=0)
    lines = [r.getMessage() for r in caplog.records if "sampler gp_sqrt" in r.getMessage()]
    assert lines and "/12" in lines[-1] and "positives=" in lines[-1] and "best_acq=" in lines[-1]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("random", {"budget": 0}, "budget"),
        ("random", {"budget": -5}, "budget"),
        ("gp", {"budget": 5, "t0": 10}, "budget"),
        ("gp", {"t0": 0}, "t0"),
        ("gp", {"kernel": "linear"}, "kernel"),
        ("gp", {"target": "up"}, "target"),
        ("gp", {"delta": 0.0}, "delta"),
        ("gp", {"beta_form": "cube"}, "beta_form"),
        ("gp", {"refit_every": 0}, "refit_every"),
        ("gp", {"refit_growth": 1.0}, "refit_growth"),
        ("gp", {"optimizer_ftol": 0}, "optimizer_ftol"),
        ("gp", {"raw_samples": 4, "num_restarts": 8}, "num_restarts"),
        ("gp", {"device": "tpu"}, "device"),
        ("gp_batch", {"q": 0}, "q"),
        ("gp_batch", {"q": 2.5}, "q"),
        ("straddle", {"kappa": -1.0}, "kappa"),
        ("straddle", {"target": "above"}, "target"),
    ],
)
def test_bad_sampler_parameters_raise_config_error_naming_the_field(name, params, field):
    with pytest.raises(ConfigError, match=field):
        CLASSES[name](**params)


def test_unknown_config_key_is_refused_when_built():
    from distortion_reliability.build import build
    from distortion_reliability.config import compose_config

    cfg = compose_config(["sampler=gp", "+sampler.budgett=100"])
    with pytest.raises(ConfigError, match="sampler"):
        build("sampler", cfg.sampler)


@pytest.mark.parametrize("h", ["-0.1", "1.5", "nan"])
def test_threshold_outside_unit_interval_is_rejected_at_the_door(h):
    # h is checked once, by the settings schema; samplers and acquisitions trust it (issue 22).
    from distortion_reliability.config import validate
    from distortion_reliability.pipeline import compose_config

    with pytest.raises(ConfigError) as err:
        validate(compose_config([f"h={h}"]))
    assert err.value.field == "h"


@pytest.mark.parametrize(
    ("bad_value", "expected"), [(float("nan"), "finite"), (float("inf"), "finite"), (1.7, r"\[0, 1\]")]
)
@pytest.mark.parametrize("name", ["random", "gp"])
def test_bad_objective_values_raise_naming_the_level(name, bad_value, expected):
    def broken(levels):
        values = bump(levels)
        values[-1] = bad_value
        return values

    with pytest.raises(ConfigError, match=expected) as err:
        make(name, budget=8, t0=4).sample(broken, SQUARE, 0.5, seed=0)
    assert "objective value at level" in str(err.value)


def test_objective_returning_wrong_shape_is_rejected():
    with pytest.raises(ConfigError, match="shape"):
        RandomSampler(budget=6, progress=False).sample(lambda x: np.zeros(3), SQUARE, 0.5, seed=0)


# --- configs -----------------------------------------------------------------------------------


def test_every_sampler_config_builds_its_sampler_by_instantiate():
    from distortion_reliability.build import build
    from distortion_reliability.config import compose_config

    stems = sorted(f.stem for f in CONF.glob("*.yaml"))
    assert {"random", "gp", "gp_sqrt", "gp_batch", "straddle"} <= set(stems)
    for stem in stems:
        cfg = compose_config([f"sampler={stem}", "progress=false", "device=cpu"])
        assert cfg.sampler.name == stem and "_target_" in cfg.sampler
        sampler = build("sampler", cfg.sampler)
        assert sampler.budget == 600 and sampler.progress is False
        assert sampler.label == stem  # the display name is the config's name (gp_sqrt, not gp)
    sqrt = build("sampler", compose_config(["sampler=gp_sqrt"]).sampler)
    assert isinstance(sqrt, GPSampler) and sqrt.beta_form == "sqrt"


def test_random_fraction_mixes_uniform_levels_into_the_acquired_ones():
    mixed = make("straddle", budget=40, t0=6, random_fraction=0.5).sample(bump, SQUARE, 0.5, seed=2)
    random_picks = np.isnan(mixed.acquisition_values[6:])
    assert 8 <= random_picks.sum() <= 26  # Binomial(34, 0.5): outside this with probability < 1e-3
    again = make("straddle", budget=40, t0=6, random_fraction=0.5).sample(bump, SQUARE, 0.5, seed=2)
    np.testing.assert_array_equal(mixed.levels, again.levels)
    every = make("gp", budget=12, t0=6, random_fraction=1.0).sample(bump, SQUARE, 0.5, seed=2)
    assert np.isnan(every.acquisition_values).all()
    with pytest.raises(ConfigError, match="random_fraction"):
        GPSampler(random_fraction=1.5)

"""The one GP helper (distortion_reliability.gp): posterior formulas, rank-one updates, fitting,
gradients, thread-independence and the relative variance SMOTE-GP reads."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from distortion_reliability.errors import ConfigError
from distortion_reliability.gp import GP, FitOptions, GPParams, fit_params
from distortion_reliability.threads import single_threaded


def _data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = 0.2 + 0.7 * np.exp(-np.sum((X - 0.4) ** 2, axis=1) / 0.3)
    return X, y


def _numpy_posterior(X, y, Xs, p: GPParams):
    """Equations 1-2 of the paper, in numpy, with BoTorch's standardisation (ddof = 1)."""
    ls = np.asarray(p.lengthscale)

    def k(A, B):
        r = np.sqrt(np.sum(((A[:, None, :] - B[None, :, :]) / ls) ** 2, axis=-1))
        base = np.exp(-0.5 * r**2) if p.kernel == "rbf" else (1 + math.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-math.sqrt(5) * r)
        return p.outputscale * base

    mean, std = y.mean(), y.std(ddof=1)
    z = (y - mean) / std
    K = k(X, X) + p.noise * np.eye(len(X))
    ks = k(X, Xs)
    mu = p.mean + ks.T @ np.linalg.solve(K, z - p.mean)
    var = p.outputscale - np.sum(ks * np.linalg.solve(K, ks), axis=0)
    return mean + std * mu, std**2 * var, var / p.outputscale


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_posterior_equals_the_paper_equations(kernel):
    X, y = _data()
    Xs = np.vstack([np.random.default_rng(1).random((10, 3)), X[:3]])
    p = GPParams(kernel, (0.3, 0.5, 0.8), 1e-3, 0.2, 2.5)
    gp = GP(X, y, p)
    mean, var = gp.predict(Xs)
    ref_mean, ref_var, ref_u = _numpy_posterior(X, y, Xs, p)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-10)
    np.testing.assert_allclose(var, ref_var, atol=1e-10)
    np.testing.assert_allclose(gp.relative_variance(Xs), ref_u, atol=1e-10)


def test_posterior_equals_botorch_single_task_gp_with_the_same_hyperparameters():
    from botorch.models import SingleTaskGP
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior

    X, y = _data(n=30)
    p = GPParams("rbf", (0.35, 0.6, 0.45), 2e-3, -0.3)
    model = SingleTaskGP(torch.tensor(X), torch.tensor(y).reshape(-1, 1),
                         covar_module=get_covar_module_with_dim_scaled_prior(ard_num_dims=3, use_rbf_kernel=True))
    model.covar_module.lengthscale = torch.tensor([p.lengthscale])
    model.likelihood.noise = torch.tensor([p.noise])
    model.mean_module.constant.data.fill_(p.mean)
    model.eval()
    Xs = np.random.default_rng(2).random((20, 3))
    with torch.no_grad():
        post = model.posterior(torch.tensor(Xs))
    mean, var = GP(X, y, p).predict(Xs)
    np.testing.assert_allclose(mean, post.mean.numpy().ravel(), atol=1e-10)
    np.testing.assert_allclose(var, post.variance.numpy().ravel(), atol=1e-10)


@pytest.mark.parametrize("chunk", [1, 3])
def test_rank_one_updates_equal_a_new_gp_with_the_same_hyperparameters(chunk):
    X, y = _data(n=60)
    p = GPParams("matern52", (0.3, 0.4, 0.5), 1e-4, 0.1)
    grown = GP(X[:20], y[:20], p)
    for start in range(20, 60, chunk):
        grown.add(X[start : start + chunk], y[start : start + chunk])
    full = GP(X, y, p)
    Xs = np.vstack([np.random.default_rng(3).random((25, 3)), X[-5:]])
    for a, b in zip(grown.predict(Xs), full.predict(Xs)):
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=0)
    np.testing.assert_allclose(grown.relative_variance(Xs), full.relative_variance(Xs), atol=1e-8)
    np.testing.assert_allclose(grown.L.numpy(), full.L.numpy(), atol=1e-8)


def test_condition_returns_a_new_gp_and_leaves_the_old_one_alone():
    X, y = _data(n=20)
    gp = GP(X[:10], y[:10], GPParams("rbf", (0.4,) * 3, 1e-4))
    before = gp.predict(X[10:])
    other = gp.condition(X[10:12], y[10:12])
    assert (gp.n, other.n) == (10, 12)
    np.testing.assert_array_equal(gp.predict(X[10:])[1], before[1])
    assert np.all(other.predict(X[10:12])[1] < before[1][:2])


def test_relative_variance_is_zero_on_data_one_far_away_and_always_in_the_unit_interval():
    X, y = _data(n=15, d=2)
    X[3] = X[4]  # a duplicated level
    for amplitude in (0.01, 1.0, 100.0):
        gp = GP(X, y, GPParams("matern52", (0.1, 0.1), 1e-6, 0.0, amplitude))
        u = gp.relative_variance(np.vstack([X, np.random.default_rng(0).random((500, 2)) * 3 - 1]))
        assert np.all((u >= 0) & (u <= 1))
        assert u[: len(X)].max() < 1e-4  # at real levels
        assert gp.relative_variance(np.array([[5.0, 5.0]]))[0] == pytest.approx(1.0)


@pytest.mark.parametrize("kernel", ["rbf", "matern52"])
def test_closed_form_gradients_equal_autograd(kernel):
    X, y = _data(n=30)
    gp = GP(X, y, GPParams(kernel, (0.3, 0.5, 0.7), 1e-4, 0.1, 1.7))
    Xs = torch.tensor(np.vstack([np.random.default_rng(4).random((6, 3)), X[:1]]), requires_grad=True)
    mean, sigma = gp.mean_and_sigma(Xs)
    g_mean = torch.autograd.grad(mean.sum(), Xs, retain_graph=True)[0]
    g_sigma = torch.autograd.grad(sigma[:-1].sum(), Xs)[0]  # sigma at a data point is clamped
    m2, s2, dm, ds = gp.mean_and_sigma_with_grad(Xs.detach())
    np.testing.assert_allclose(m2.numpy(), mean.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(s2.numpy(), sigma.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dm.numpy(), g_mean.numpy(), atol=1e-9)
    np.testing.assert_allclose(ds[:-1].numpy(), g_sigma[:-1].numpy(), atol=1e-8)


def test_fit_matches_botorch_and_recovers_a_short_length_scale():
    import warnings

    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
    from gpytorch.mlls import ExactMarginalLogLikelihood

    rng = np.random.default_rng(5)
    X = rng.random((30, 2))
    y = np.sin(12 * X[:, 0]) + 0.1 * X[:, 1]  # varies fast along x0, slowly along x1
    p = fit_params(X, y, "rbf")
    model = SingleTaskGP(torch.tensor(X), torch.tensor(y).reshape(-1, 1),
                         covar_module=get_covar_module_with_dim_scaled_prior(ard_num_dims=2, use_rbf_kernel=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    np.testing.assert_allclose(p.lengthscale, model.covar_module.lengthscale.detach().numpy().ravel(), rtol=1e-3)
    assert p.noise == pytest.approx(float(model.likelihood.noise.detach()), rel=1e-2, abs=1e-6)
    assert p.lengthscale[0] < 0.3 < p.lengthscale[1]


def test_bounds_hold_and_flat_data_run_to_the_upper_bound_only():
    X, _ = _data(n=20, d=2)
    p = fit_params(X, np.full(20, 0.7), "matern52", options=FitOptions(lengthscale_bounds=(0.05, 1.0), noise=1e-6))
    assert all(0.05 <= v <= 1.0 + 1e-12 for v in p.lengthscale) and p.noise == 1e-6
    assert max(p.lengthscale) == pytest.approx(1.0)


def test_same_numbers_whatever_the_thread_count():
    X, y = _data(n=80, d=4)
    results = []
    old = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            p = fit_params(X, y, "rbf")
            results.append((p, GP(X, y, p).predict(X[:10] + 0.01)))
            assert torch.get_num_threads() == threads  # single_threaded restored it
    finally:
        torch.set_num_threads(old)
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1][0], results[1][1][0])


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_single_threaded_holds_torch_and_blas_to_one_thread_and_restores_both():
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with threadpool_limits(2, user_api="blas"):  # a plain run on 2 cores: numpy's OpenBLAS on 2 threads
            assert _blas_threads() == {2}
            with single_threaded():
                assert torch.get_num_threads() == 1
                assert _blas_threads() == {1}
            assert torch.get_num_threads() == 2
            assert _blas_threads() == {2}
    finally:
        torch.set_num_threads(old)


_LOADED_LATER = """
import sys
from threadpoolctl import threadpool_info, threadpool_limits
from distortion_reliability.threads import single_threaded
assert "scipy.linalg" not in sys.modules, "scipy came in with threads.py: this test shows nothing"
with single_threaded():  # the small CNN trains before the GP's scipy is imported
    pass
import scipy.linalg  # brings its own OpenBLAS
with threadpool_limits(2, user_api="blas"):
    with single_threaded():
        print(sorted((p["filepath"].rsplit("/", 1)[-1], p["num_threads"]) for p in threadpool_info()
                     if p["user_api"] == "blas"))
"""


def test_single_threaded_also_holds_a_blas_library_loaded_after_its_first_use():
    import ast
    import os
    import subprocess
    import sys

    from conftest import as_a_user_runs_it

    done = subprocess.run([sys.executable, "-c", _LOADED_LATER], capture_output=True, text=True, timeout=120,
                          env=as_a_user_runs_it(dict(os.environ)))
    assert done.returncode == 0, done.stderr
    pools = ast.literal_eval(done.stdout.strip())
    assert len(pools) >= 2 and {threads for _, threads in pools} == {1}, pools


def test_params_round_trip_through_json_exactly():
    p = GPParams("rbf", (0.1 / 3, 2 ** 0.5), 1e-4 / 7, -0.123456789, 3.3)
    assert GPParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_bad_inputs():
    with pytest.raises(ConfigError, match="kernel"):
        GPParams("linear", (1.0,), 1e-4)
    with pytest.raises(ConfigError, match="X"):
        GP(np.zeros((3, 2)), np.zeros(3), GPParams("rbf", (1.0,), 1e-4))
    with pytest.raises(ConfigError, match="lengthscale_bounds"):
        FitOptions(lengthscale_bounds=(1.0, 0.5))
    with pytest.raises(ConfigError, match="device"):
        GP(np.zeros((3, 1)), np.zeros(3), GPParams("rbf", (1.0,), 1e-4), device="cuda:0" if not torch.cuda.is_available() else "nope")


def _log_posterior(X, y, p: GPParams) -> float:
    """The MAP objective in numpy: log marginal likelihood of standardised y plus BoTorch's priors."""
    from distortion_reliability.gp import NOISE_PRIOR, lengthscale_prior

    z = (y - y.mean()) / y.std(ddof=1)
    ls = np.asarray(p.lengthscale)
    r2 = np.sum(((X[:, None] - X[None]) / ls) ** 2, axis=-1)
    K = p.outputscale * np.exp(-0.5 * r2) + p.noise * np.eye(len(X))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, z - p.mean)
    mll = -0.5 * (z - p.mean) @ alpha - np.log(np.diag(L)).sum() - 0.5 * len(X) * math.log(2 * math.pi)

    def lognormal(x, loc, scale):
        return np.sum(-np.log(x) - math.log(scale * math.sqrt(2 * math.pi)) - (np.log(x) - loc) ** 2 / (2 * scale**2))

    return mll + lognormal(ls, *lengthscale_prior(X.shape[1])) + lognormal(np.array([p.noise]), *NOISE_PRIOR)


def test_a_refit_from_the_priors_modes_rescues_a_warm_start_stuck_in_a_poor_basin():
    rng = np.random.default_rng(7)
    X = rng.random((60, 3))
    # Noise free; x2 matters a little. A chain that once called x2 irrelevant (length scale 30) and
    # its effect noise stays there: shortening l2 only pays once the noise has shrunk, and vice versa.
    y = np.exp(-np.sum((X[:, :2] - 0.5) ** 2, axis=1) / 0.1) + 0.05 * np.sin(6 * X[:, 2])
    stuck = GPParams("rbf", (0.4, 0.4, 30.0), 0.02, 0.0)
    warm = fit_params(X, y, "rbf", init=stuck)
    fresh = fit_params(X, y, "rbf")
    both = fit_params(X, y, "rbf", init=stuck, also_from_prior=True)
    scores = {name: _log_posterior(X, y, p) for name, p in (("warm", warm), ("fresh", fresh), ("both", both))}
    assert scores["fresh"] > scores["warm"] + 1.0, scores  # the chain alone stays stuck
    assert both == fresh and scores["both"] == max(scores.values())

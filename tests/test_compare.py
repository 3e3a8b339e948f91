"""Two runs side by side: the share of C each is reliable on, with an interval that covers the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_tracking import client_for, small_cfg, template_db, tracker_for, work  # noqa: F401

from distortion_reliability.predictors import GPThresholdClassifier
from distortion_reliability.reporting.compare import joint_posterior, reliable_share

H = 0.5
SPACE = {"names": ["a", "b", "c"], "lower": [0.0, 0.0, 0.0], "upper": [1.0, 1.0, 1.0], "identity": [0.0, 0.0, 0.0]}
# Known reliable regions of the unit cube: A where a <= 0.3 (share 0.3), B inside the quarter disc
# a^2 + b^2 <= 0.64 (share 0.16 pi = 0.503); f is smooth, so each run's GP learns it from its samples.
F = {"A": lambda X: H + 0.5 * (0.3 - X[:, 0]), "B": lambda X: H + 0.5 * (0.64 - X[:, 0] ** 2 - X[:, 1] ** 2)}
TRUE_SHARE = {"A": 0.3, "B": 0.16 * np.pi}


def fitted_gp(name: str, n: int = 150, seed: int = 0) -> GPThresholdClassifier:
    X = np.random.default_rng(seed).random((n, 3))
    f = F[name](X)
    return GPThresholdClassifier(h=H).fit(X, (f >= H).astype(int), f=f)


class Indicator:
    """P(reliable) = 1 exactly where a <= 0.3: no model uncertainty, only integration error."""

    def predict_proba(self, X):
        p = (np.asarray(X)[:, 0] <= 0.3).astype(float)
        return np.column_stack([1 - p, p])


def test_share_of_a_known_region_without_model_uncertainty():
    """Only integration error: tight intervals that cover the true share at about their nominal 95 %."""
    shares = [reliable_share(Indicator(), 3, points=2**12, draws=2000, seed=100 * s) for s in range(40)]
    covered = sum(s.lo <= 0.3 <= s.hi for s in shares)
    assert covered >= 34, covered  # 95 % of 40 = 38; 34 or fewer happens with probability < 3 %
    assert all(s.hi - s.lo < 0.01 for s in shares)
    assert np.mean([s.mean for s in shares]) == pytest.approx(0.3, abs=0.001)


def test_gp_share_interval_covers_the_true_share():
    for name in ("A", "B"):
        share = reliable_share(fitted_gp(name), 3, points=2**12, draws=256)
        assert share.lo <= TRUE_SHARE[name] <= share.hi, (name, share.mean, share.lo, share.hi)
        assert share.hi - share.lo < 0.2  # informative, not the whole [0, 1]


def test_compare_two_tracked_runs_recovers_the_known_difference(work, tmp_path):  # noqa: F811
    from distortion_reliability.report import main
    from distortion_reliability.tracking import JobInfo
    from distortion_reliability.tracking.result import JobResult

    tracker = tracker_for(work)
    ids = {}
    for seed, name in enumerate(("A", "B")):
        cfg = small_cfg(seed=seed)
        result = JobResult(summary={"clean_accuracy": 0.9 + seed / 100, "f1_mean": 0.5}, space=SPACE,
                           scores=pd.DataFrame({"predictor": ["gp_classifier"], "f1": [0.9], "precision": [0.9],
                                                "recall": [0.9], "balanced_accuracy": [0.9]}),
                           fitted={"gp_classifier": fitted_gp(name, seed=seed)}, tags={"model": f"synth{name}"})
        with tracker.job(cfg, JobInfo(output_dir=work / f"out{name}")) as job:
            job.log_result(result)
        ids[name] = job.run_id
    uri = f"sqlite:///{work / 'mlflow.db'}"
    out = tmp_path / "compare"
    assert main(["compare", f"runs={ids['A']},{ids['B']}", f"out={out}", f"uri={uri}", "points=4096"]) == 0
    folder = out / f"synthA-{ids['A'][:8]}_vs_synthB-{ids['B'][:8]}"
    table = pd.read_csv(folder / "compare.csv").set_index("run")
    truth = TRUE_SHARE["B"] - TRUE_SHARE["A"]
    assert table.loc["B - A", "share_lo"] <= truth <= table.loc["B - A", "share_hi"], table
    assert table.loc["B - A", "share_lo"] > 0  # B is reliable on more of C, and the interval says so
    assert table.loc["A", "clean_accuracy"] == pytest.approx(0.9)
    for name in ("compare.md", "profiles.png", "disagreement.png", "profiles.csv"):
        assert (folder / name).stat().st_size > 500, name
    md = (folder / "compare.md").read_text()
    assert "a ≤ 0.3" in md  # A's GP profile along a (others at 0) finds the known boundary 0.3 ...
    assert "a ≤ 0.8" in md  # ... and B's the quarter disc's radius 0.8
    client = client_for(work)
    runs = client.search_runs([client.get_experiment_by_name("compare").experiment_id])
    assert len(runs) == 1 and runs[0].data.tags["run_a"] == ids["A"]
    assert runs[0].data.metrics["share_diff"] == pytest.approx(table.loc["B - A", "share_reliable"])
    assert {a.path for a in client.list_artifacts(runs[0].info.run_id)} >= {"compare.md", "disagreement.png"}


def test_compare_refuses_a_run_without_gp_classifier(work, capsys):  # noqa: F811
    from test_tracking import fake_pipeline

    from distortion_reliability.report import main
    from distortion_reliability.tracking import JobInfo

    with tracker_for(work).job(small_cfg(), JobInfo(output_dir=work / "out")) as job:
        job.log_result(fake_pipeline(small_cfg(), str(work / "out")))
    uri = f"sqlite:///{work / 'mlflow.db'}"
    assert main(["compare", f"runs={job.run_id},{job.run_id}", f"uri={uri}", f"out={work / 'c'}"]) == 2
    assert "predictors=with_gp" in capsys.readouterr().err
    assert main(["compare", "runs=onlyone"]) == 2


def test_gp_joint_posterior_matches_its_marginals():
    model = fitted_gp("B", n=60)
    X = np.random.default_rng(3).random((25, 3))
    mu, cov = joint_posterior(model.gp_, X)
    mean, var = model.gp_.predict(X)
    np.testing.assert_allclose(mu, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.diag(cov), var, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    assert np.linalg.eigvalsh(cov).min() > -1e-8 * np.abs(cov).max()  # a covariance: positive semi-definite

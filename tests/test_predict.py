"""``predict``: a tiny run's logged distortion-classifiers answer like the fitted ones in memory; bad input is one error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_synthetic import IDENTITY, LOWER, NAMES, SPACE, UPPER, make_client, sample_levels, synthetic_f

from distortion_reliability import predict


def save_predictor(model, path: Path) -> None:
    """The contract's layout: one ``mlflow.sklearn`` model per predictor (skops, its own types trusted)."""
    import mlflow.sklearn
    import skops.io as sio

    mlflow.sklearn.save_model(model, str(path), pip_requirements=["scikit-learn"],
                              skops_trusted_types=sio.get_untrusted_types(data=sio.dumps(model)))


def logged_run(root: Path, experiment: str, fitted: dict, tags: dict, save=save_predictor) -> dict:
    """A FINISHED run in a fresh store under ``root`` with ``fitted`` as ``predictors/<name>`` and space.json."""
    client, art = make_client(root)
    exp = client.create_experiment(experiment, artifact_location=(art / experiment).as_uri())
    rid = client.create_run(exp, tags=tags).info.run_id
    for name, model in fitted.items():
        save(model, root / "models" / name)
        client.log_artifacts(rid, str(root / "models" / name), f"predictors/{name}")
    (root / "space.json").write_text(json.dumps(SPACE))
    client.log_artifact(rid, str(root / "space.json"))
    client.set_terminated(rid, "FINISHED")
    return {"uri": f"sqlite:///{root / 'mlflow.db'}", "run_id": rid, "fitted": fitted, "root": root}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    X = sample_levels(200, 0)
    y = (synthetic_f(X) >= 0.5).astype(int)
    unit = (X - np.array(LOWER)) / (np.array(UPPER) - np.array(LOWER))
    fitted = {"dt": DecisionTreeClassifier(random_state=0).fit(unit, y),
              "lr": LogisticRegression(max_iter=500).fit(unit, y),
              "svm": SVC(random_state=0).fit(unit, y)}  # no predict_proba: no probability column
    return logged_run(tmp_path_factory.mktemp("store"), "tiny-digits", fitted,
                      {"dataset": "digits", "model": "small_cnn", "sampler": "random", "imbalance": "none", "seed": "0",
                       "h": "0.5"})


def test_logged_predictors_answer_like_the_fitted_ones(tiny, tmp_path, capsys):
    rng = np.random.default_rng(1)
    levels = np.array(LOWER) + rng.random((25, 6)) * (np.array(UPPER) - np.array(LOWER))
    levels[:5] = sample_levels(10, 3)[:5]  # some near identity, so both answers occur
    csv = tmp_path / "levels.csv"
    pd.DataFrame(levels, columns=NAMES).to_csv(csv, index=False)
    out = tmp_path / "answers.csv"
    rc = predict.main([f"run={tiny['run_id']}", f"levels={csv}", "--out", str(out), f"uri={tiny['uri']}"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "reliable" in printed and "vote" in printed
    assert "this run has no gp_classifier (predictors=paper): answered by the paper predictors' vote" in printed
    answer = pd.read_csv(out)
    assert "p_reliable" not in answer and "verdict" not in answer  # no GP classifier, no GP answer
    unit = (levels - np.array(LOWER)) / (np.array(UPPER) - np.array(LOWER))
    votes = []
    for name, model in tiny["fitted"].items():
        expected = model.predict(unit)
        np.testing.assert_array_equal(answer[name].to_numpy(), expected)
        votes.append(expected)
    np.testing.assert_array_equal(answer["vote"], (np.mean(votes, axis=0) > 0.5).astype(int))
    assert set(answer["vote"]) == {0, 1}
    np.testing.assert_allclose(answer["p_lr"], tiny["fitted"]["lr"].predict_proba(unit)[:, 1])
    assert "p_svm" not in answer  # SVC without probability=True has no probability
    assert (answer["run_id"] == tiny["run_id"]).all()


def test_missing_distortions_take_identity_and_latest_resolves(tiny, tmp_path):
    out = tmp_path / "a.csv"
    rc = predict.main(["run=latest", "levels=rotation=30,rain=0.4;scale=1.1", f"--out={out}", f"uri={tiny['uri']}"])
    assert rc == 0
    answer = pd.read_csv(out)
    expected = np.array([IDENTITY, IDENTITY], float)
    expected[0, NAMES.index("rotation")], expected[0, NAMES.index("rain")] = 30, 0.4
    expected[1, NAMES.index("scale")] = 1.1
    np.testing.assert_allclose(answer[NAMES].to_numpy(), expected)
    assert (answer["run_id"] == tiny["run_id"]).all()


@pytest.mark.parametrize("args,message", [
    (["levels=rotation=120"], "error: level 1: rotation=120 is outside C (its domain is [0, 90])"),
    (["levels=blur=2"], "error: unknown distortion 'blur'"),
    (["levels=rain=zero"], "error: level 1: rain='zero' is not a number"),
])
def test_bad_levels_are_one_error_line(tiny, capsys, args, message):
    rc = predict.main([f"run={tiny['run_id']}", f"uri={tiny['uri']}", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith(message), err


def test_unknown_run_and_missing_store_are_one_error_line(tiny, capsys, tmp_path):
    rc = predict.main(["run=0123456789abcdef", "levels=rain=0.1", f"uri={tiny['uri']}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: unknown run id '0123456789abcdef'")
    rc = predict.main(["run=latest", "levels=rain=0.1", f"uri=sqlite:///{tmp_path / 'none.db'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: no MLflow store")
    assert not (tmp_path / "none.db").exists()  # not created as a side effect


def test_module_entry_point(tiny):
    env = {**os.environ, "MLFLOW_TRACKING_URI": tiny["uri"], "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "distortion_reliability.predict", "run=nope", "levels=rain=0"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: unknown run id 'nope' in the MLflow store " + tiny["uri"]]


@pytest.fixture(scope="module")
def with_gp(tmp_path_factory):
    """A run with the default predictors' answering GP classifier (fitted on f) and one paper predictor."""
    from sklearn.tree import DecisionTreeClassifier

    from distortion_reliability.predictors import GPThresholdClassifier
    from distortion_reliability.tracking.safe_load import save_predictor as save_as_a_job_does

    X = sample_levels(150, 2)
    f = synthetic_f(X)
    unit = (X - np.array(LOWER)) / (np.array(UPPER) - np.array(LOWER))
    fitted = {"dt": DecisionTreeClassifier(random_state=0).fit(unit, (f >= 0.5).astype(int)),
              "gp_classifier": GPThresholdClassifier(h=0.5).fit(unit, (f >= 0.5).astype(int), f=f)}
    # saved as a job logs its predictors
    return logged_run(tmp_path_factory.mktemp("store_gp"), "gp-digits", fitted, {"dataset": "digits", "h": "0.5"},
                      save=save_as_a_job_does)


def test_the_gp_classifier_answers_like_the_in_memory_one(with_gp, tmp_path, capsys):
    levels = np.vstack([sample_levels(12, 9), np.array(LOWER) + 0.9 * (np.array(UPPER) - np.array(LOWER))])
    csv, out = tmp_path / "levels.csv", tmp_path / "answers.csv"
    pd.DataFrame(levels, columns=NAMES).to_csv(csv, index=False)
    rc = predict.main([f"run={with_gp['run_id']}", f"levels={csv}", f"--out={out}", f"uri={with_gp['uri']}"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "P(reliable)" in printed and "verdict" in printed and "paper predictors (secondary; the vote of dt)" in printed
    answer = pd.read_csv(out)
    unit = (levels - np.array(LOWER)) / (np.array(UPPER) - np.array(LOWER))
    gp = with_gp["fitted"]["gp_classifier"]
    np.testing.assert_allclose(answer["p_reliable"], gp.predict_proba(unit)[:, 1], rtol=1e-9, atol=1e-12)
    mu, sd = gp.predict_f(unit)
    np.testing.assert_allclose(answer["f_estimate"], mu, rtol=1e-9)
    np.testing.assert_allclose(answer["f_upper"] - answer["f_lower"], np.minimum(1, mu + 1.96 * sd)
                               - np.maximum(0, mu - 1.96 * sd), atol=1e-3)
    p = answer["p_reliable"].to_numpy()
    expected = np.where(p >= 0.95, "reliable", np.where(p <= 0.05, "unreliable", "uncertain"))
    np.testing.assert_array_equal(answer["verdict"], expected)
    assert {"reliable", "unreliable"} <= set(answer["verdict"])  # near identity and far out
    np.testing.assert_array_equal(answer["vote"], with_gp["fitted"]["dt"].predict(unit))  # the paper's vote: dt only


def test_verdict_thresholds_are_configurable_and_checked(with_gp, tmp_path, capsys):
    out = tmp_path / "a.csv"
    args = [f"run={with_gp['run_id']}", "levels=rotation=24,rain=0.3", f"uri={with_gp['uri']}", f"--out={out}"]
    assert predict.main(args + ["reliable_at=0.0001", "unreliable_at=0"]) == 0
    answer = pd.read_csv(out)
    assert 0.0001 < answer["p_reliable"][0] < 0.95 and answer["verdict"].tolist() == ["reliable"]
    capsys.readouterr()
    assert predict.main(args + ["reliable_at=0.2", "unreliable_at=0.6"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: thresholds must satisfy 0 <= unreliable_at < reliable_at")

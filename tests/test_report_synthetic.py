"""A small synthetic study logged to a temporary MLflow store with the contract's run layout.

Values are known: run (sampler, method, seed) gets f1_<pred> = BASE[(sampler, method)] + 0.01 * seed
+ OFFSET[pred] (offsets sum to 0), so the cell's mean F1 over the five predictors, averaged over seeds
0, 1, 2, is BASE + 0.01 and its std over seeds (ddof=1) is 0.01.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

NAMES = ["scale", "rotation", "translation_x", "translation_y", "darkness", "rain"]
LOWER = [0.7, 0.0, -0.2, -0.2, 0.7, 0.0]
UPPER = [1.3, 90.0, 0.2, 0.2, 1.3, 1.0]
IDENTITY = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
SPACE = {"names": NAMES, "lower": LOWER, "upper": UPPER, "identity": IDENTITY}
PREDS = ("dt", "rf", "lr", "svm", "nn")
OFFSET = {"dt": -0.02, "rf": 0.03, "lr": -0.01, "svm": 0.0, "nn": 0.0}
BASE = {("random", "none"): 0.30, ("random", "smote"): 0.50, ("random", "smote_gp"): 0.60,
        ("gp", "none"): 0.40, ("gp", "smote"): 0.62, ("gp", "smote_gp"): 0.70}
MISSING = ("gp", "none", 2)          # never logged
SKIPPED = ("random", "none", 1)      # FINISHED with tag skipped
FAILED = ("gp", "smote", 2)          # FAILED first, then never rerun -> missing, status failed


def synthetic_f(levels: np.ndarray) -> np.ndarray:
    """A smooth f: reliable (f >= 0.5) near identity, rotation <= 25 and scale 0.8-1.2 alone."""
    L = np.atleast_2d(np.asarray(levels, float))
    g = [1 - np.abs(L[:, 0] - 1) / 0.4, 1 - L[:, 1] / 50, 1 - np.abs(L[:, 2]) / 0.3, 1 - np.abs(L[:, 3]) / 0.3,
         1 - np.maximum(0, 1 - L[:, 4]) / 0.5, 1 - L[:, 5] / 0.7]
    return np.clip(np.min(g, axis=0) * 0.9 + 0.05, 0, 1)


def sample_levels(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = np.array(LOWER), np.array(UPPER)
    # half near identity so there are positives
    near = np.array(IDENTITY) + rng.normal(0, 0.08, (n // 4, 6)) * (hi - lo)
    far = lo + rng.random((n - n // 4, 6)) * (hi - lo)
    return np.clip(np.vstack([near, far]), lo, hi)


def _metrics(sampler: str, method: str, seed: int) -> dict[str, float]:
    base = BASE[(sampler, method)] + 0.01 * seed
    m = {}
    for p in PREDS:
        m[f"f1_{p}"] = base + OFFSET[p]
        m[f"precision_{p}"] = base + 0.1
        m[f"recall_{p}"] = base - 0.1
        m[f"balanced_accuracy_{p}"] = 0.8
    m["f1_mean"] = base
    m["precision_mean"], m["recall_mean"] = base + 0.1, base - 0.1
    # Figure 6: positives among the first B levels, gp finds more
    rate = 0.1 if sampler == "random" else 0.3
    for b in (100, 200, 300):
        m[f"n_positive_at_{b}"] = float(int(rate * b) + seed)
    m["n_positive_sampled"] = m["n_positive_at_300"]
    return m


def _artifacts(tmp: Path, method: str, seed: int) -> list[Path]:
    levels = sample_levels(300, seed)
    f = synthetic_f(levels)
    label = (f >= 0.5).astype(int)
    training = pd.DataFrame(levels, columns=NAMES)
    training["f"], training["label"] = f, label
    rng = np.random.default_rng(seed + 7)
    pos = levels[label == 1]
    n_syn = max(40, int((label == 0).sum() - (label == 1).sum()))
    syn = np.clip(pos[rng.integers(0, len(pos), n_syn)] + rng.normal(0, 0.03, (n_syn, 6)) * (np.array(UPPER) - LOWER),
                  LOWER, UPPER)
    files = []
    (tmp / "training_set.csv").write_text(training.to_csv(index=False))
    reb = pd.concat([pd.DataFrame(levels, columns=NAMES).assign(label=label, origin="real"),
                     pd.DataFrame(syn, columns=NAMES).assign(label=1, origin="synthetic")], ignore_index=True)
    (tmp / "rebalanced.csv").write_text(reb.to_csv(index=False))
    (tmp / "space.json").write_text(json.dumps(SPACE))
    files += [tmp / "training_set.csv", tmp / "rebalanced.csv", tmp / "space.json"]
    if method == "smote_gp":
        props = pd.DataFrame(syn, columns=NAMES)
        props["kept"] = (synthetic_f(syn) >= 0.45).astype(int)
        props["variance"] = 0.01
        (tmp / "smote_gp_proposals.csv").write_text(props.to_csv(index=False))
        files.append(tmp / "smote_gp_proposals.csv")
    return files


def log_job(client, exp_id: str, parent_id: str, tags: dict, params: dict, metrics: dict, status: str = "FINISHED",
            artifacts: list[Path] = ()) -> str:
    from mlflow.entities import Metric, Param

    run = client.create_run(exp_id, tags={"mlflow.parentRunId": parent_id, **{k: str(v) for k, v in tags.items()}})
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
                     params=[Param(k, str(v)) for k, v in params.items()])
    for a in artifacts:
        client.log_artifact(rid, str(a))
    client.set_terminated(rid, status)
    return rid


def make_client(root: Path):
    """A fresh SQLite store under ``root`` (artifacts beside it) and its client."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}"), root / "artifacts"


def log_table3(client, art_root: Path, dataset: str = "mnist", study: str = "table3") -> dict:
    """The 6-cell x 3-seed study (one missing, one skipped, one failed), artifacts for Figure 10."""
    exp_id = client.create_experiment(f"{study}-{dataset}", artifact_location=(art_root / study).as_uri())
    parent = client.create_run(exp_id, tags={"study": study, "sweep": "s1"})
    ids = {}
    with tempfile.TemporaryDirectory() as tmp:
        for (sampler, method) in BASE:
            for seed in (0, 1, 2):
                key = (sampler, method, seed)
                if key == MISSING:
                    continue
                tags = {"dataset": dataset, "model": "lenet5", "sampler": sampler, "imbalance": method, "seed": seed,
                        "h": 0.9, "study": study, "sweep": "s1"}
                params = {"sampler.name": sampler, "sampler.budget": 300, "imbalance.name": method, "seed": seed,
                          "h": 0.9}
                if method == "smote_gp":
                    params["imbalance.v"] = 0.005
                if key == SKIPPED:
                    log_job(client, exp_id, parent.info.run_id, {**tags, "skipped": "no positives to rebalance"},
                            params, {})
                    continue
                if key == FAILED:
                    log_job(client, exp_id, parent.info.run_id, {**tags, "error": "boom"}, params, {}, "FAILED")
                    continue
                arts = []
                if sampler == "random" and seed == 0 and method in ("smote", "smote_gp"):
                    d = Path(tmp) / f"{method}"
                    d.mkdir()
                    arts = _artifacts(d, method, seed)
                ids[key] = log_job(client, exp_id, parent.info.run_id, tags, params, _metrics(sampler, method, seed),
                                   artifacts=arts)
    client.set_terminated(parent.info.run_id, "FINISHED")
    return ids


def log_ablation(client, art_root: Path, study: str, factor: str, values, dataset: str = "digits") -> None:
    """SMOTE (without the factor when it is v) and SMOTE-GP over ``values``; F1 rises with the value index."""
    exp_id = client.create_experiment(f"{study}-{dataset}", artifact_location=(art_root / study).as_uri())
    parent = client.create_run(exp_id, tags={"study": study})
    for method in ("smote", "smote_gp"):
        for k, value in enumerate(values):
            if method == "smote" and factor == "v" and k > 0:
                break
            for seed in (0, 1):
                tags = {"dataset": dataset, "model": "small_cnn", "sampler": "gp", "imbalance": method, "seed": seed,
                        "h": value if factor == "h" else 0.5, "study": study}
                params = {"sampler.budget": value if factor == "budget" else 600, "seed": seed}
                if factor == "v" and method == "smote_gp":
                    params["imbalance.v"] = value
                m = {f"f1_{p}": 0.4 + 0.05 * k + (0.1 if method == "smote_gp" else 0) + 0.01 * seed for p in PREDS}
                log_job(client, exp_id, parent.info.run_id, tags, params, m)
    client.set_terminated(parent.info.run_id, "FINISHED")


def test_synthetic_oracle_is_reliable_near_identity_only():
    f = synthetic_f(np.array([IDENTITY, [1.0, 80.0, 0, 0, 1.0, 0]]))
    assert f[0] >= 0.9 and f[1] < 0.5

"""End to end on the embedded default (digits + small CNN), shrunk to run in seconds."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from distortion_reliability.pipeline import compose_config, run

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
TINY = ["dataset.verification_size=200", "grid.points_per_dim=3", "sampler.budget=40", "imbalance=smote",
        "h=0.3", "progress=false", "oracle.precision=fp32"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_run_end_to_end_then_fully_cached(cache_dir, tmp_path):
    cfg = compose_config(TINY + [f"cache_dir={cache_dir}"])
    first = run(cfg, output_dir=tmp_path)
    assert first["grid_positive"] + first["grid_negative"] == 3**6
    assert 0 < first["grid_positive"] < 3**6  # the grid holds the identity level, so some levels are reliable
    assert 0.0 <= first["f1_mean"] <= 1.0
    scores = pd.read_csv(tmp_path / "scores.csv")
    np.testing.assert_allclose(scores.loc[scores.predictor != "mean", "f1"].mean(), first["f1_mean"])
    assert first["oracle_images_evaluated"] > 0

    again = run(cfg)  # grid, training set and model all come from the cache
    assert again["oracle_images_evaluated"] == 0
    assert {k: again[k] for k in ("grid_positive", "n_positive_sampled", "f1_mean")} == \
           {k: first[k] for k in ("grid_positive", "n_positive_sampled", "f1_mean")}


def test_different_seed_resamples_but_reuses_the_grid(cache_dir):
    cfg = compose_config(TINY + [f"cache_dir={cache_dir}", "seed=1"])
    out = run(cfg)
    # Only the 40 new training levels can need the oracle; the 729 grid levels are cached.
    assert out["oracle_images_evaluated"] <= 40 * 200


def test_progress_switch_reaches_the_sampler_and_stays_out_of_cache_keys(cache_dir):
    quiet = compose_config(TINY + [f"cache_dir={cache_dir}"])
    assert quiet.sampler.progress is False  # the root switch, not a per-group copy
    loud = compose_config([o for o in TINY if o != "progress=false"] + [f"cache_dir={cache_dir}"])
    assert loud.sampler.progress is True
    run(quiet)
    assert run(loud)["oracle_images_evaluated"] == 0  # same grid and training set, only the printing differs


def test_hydra_entry_point(cache_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "run.py", *TINY, f"cache_dir={cache_dir}", f"hydra.run.dir={tmp_path}/out"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[grid] 729 levels" in proc.stdout
    assert (tmp_path / "out" / "scores.csv").is_file()
    assert (tmp_path / "out" / ".hydra" / "config.yaml").is_file()


def test_bad_override_fails_with_named_field(cache_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "run.py", *TINY, f"cache_dir={cache_dir}", "grid.points_per_dim=1",
         f"hydra.run.dir={tmp_path}/out"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "points_per_dim must be an integer >= 2, got 1" in proc.stderr


@pytest.mark.parametrize("override", ["imbalance.k_neighbors=0", "sampler.budget=-5", "+predictors.dt.max_depth=-3"])
def test_bad_method_sampler_or_predictor_settings_fail_before_the_oracle(monkeypatch, cache_dir, override):
    from distortion_reliability import pipeline
    from distortion_reliability.errors import ConfigError

    def no_oracle(cfg):
        raise AssertionError("the oracle was built before the cheap stages were validated")

    monkeypatch.setattr(pipeline, "build_oracle", no_oracle)
    with pytest.raises(ConfigError):
        run(compose_config(TINY + [f"cache_dir={cache_dir}", override]))


def test_bad_input_prints_one_line_without_traceback(cache_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "run.py", *TINY, f"cache_dir={cache_dir}", "h=1.5", f"hydra.run.dir={tmp_path}/out"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert "error: h must lie in [0, 1], got 1.5" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("experiment", "dataset", "model", "h", "v"),
                         [("paper_mnist", "mnist", "lenet5", 0.9, 0.005),
                          ("paper_cifar10", "cifar10", "cifar_resnet20", 0.85, 0.05)])
def test_paper_experiments_pin_the_papers_settings(experiment, dataset, model, h, v):
    from omegaconf import OmegaConf

    cfg = compose_config([f"experiment={experiment}"])
    assert (cfg.dataset.name, cfg.model.name, cfg.h, cfg.sampler.name, cfg.sampler.budget) == (dataset, model, h, "gp", 600)
    assert OmegaConf.to_container(cfg.imbalance, resolve=True)["v"] == v
    # Sweeping other methods on top stays valid: v belongs to smote_gp's config only.
    other = compose_config([f"experiment={experiment}", "imbalance=smote"])
    assert "v" not in other.imbalance


def test_sweep_scripts_cover_every_method_but_the_generic_adapter():
    import re

    from distortion_reliability.imbalance import METHOD_NAMES

    text = (REPO_ROOT / "experiments" / "imbalance_sweep.sh").read_text()
    listed = ",".join(re.findall(r'methods="(?:\$methods,)?([^"]+)"', text)).split(",")
    assert sorted(listed) == sorted(m for m in METHOD_NAMES if m != "sv")


def test_multirun_sweeps_write_one_scores_table_per_job(cache_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "run.py", "-m", *TINY, "imbalance=smote,none", f"cache_dir={cache_dir}",
         f"hydra.sweep.dir={tmp_path}/sweep"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    tables = sorted((tmp_path / "sweep").glob("*/scores.csv"))
    assert len(tables) == 2
    assert [pd.read_csv(t).shape[0] for t in tables] == [6, 6]  # five predictors + their mean

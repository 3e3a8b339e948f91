"""End to end on the embedded default (digits + small CNN), shrunk to run in seconds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from distortion_reliability.pipeline import compose_config, run

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = ["dataset.verification_size=200", "grid.points_per_dim=3", "sampler=random", "sampler.budget=40",
        "imbalance=smote", "h=0.3", "progress=false", "oracle.precision=fp32"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_run_end_to_end_then_fully_cached(cache_dir, tmp_path):
    cfg = compose_config(TINY + [f"cache_dir={cache_dir}"])
    first = run(cfg, output_dir=tmp_path)
    s = first.summary
    assert s["grid_positive"] + s["grid_negative"] == 3**6
    assert 0 < s["grid_positive"] < 3**6  # the grid holds the identity level, so some levels are reliable
    assert 0.0 <= s["f1_mean"] <= 1.0
    scores = first.scores
    five = scores.predictor.isin(["dt", "rf", "lr", "svm", "nn"])  # f1_mean: the paper's five, not gp_classifier
    np.testing.assert_allclose(scores.loc[five, "f1"].mean(), s["f1_mean"])
    assert five.sum() == 5 and "gp_classifier" in set(scores.predictor)
    assert s["oracle_images_evaluated"] > 0
    assert s["n_positive_at_40"] == s["n_positive_sampled"] == int(first.training["label"].sum())
    assert list(first.training.columns[:6]) == first.space["names"]
    assert set(first.fitted) == {"dt", "rf", "lr", "svm", "nn", "gp_classifier"}  # the default predictors=with_gp
    # confidence: states from the oracle's counts, confident F1, the GP classifier's calibration on the grid
    confident = pd.read_csv(tmp_path / "calibration" / "grid_confidence.csv")
    assert len(confident) == 3**6 and s["grid_uncertain"] == (confident["state"] == "within noise of h").sum()
    assert ((confident["lower"] <= confident["n_correct"] / confident["n_evaluated"])
            & (confident["n_correct"] / confident["n_evaluated"] <= confident["upper"])).all()
    # a confident state never contradicts the oracle's label (the interval holds k/n, on the label's side of h)
    assert (confident.loc[confident["state"] == "reliable", "label"] == 1).all()
    assert (confident.loc[confident["state"] == "unreliable", "label"] == 0).all()
    assert 0 <= s["brier_gp_classifier"] <= 1 and 0 <= s["confident_f1_mean"] <= 1
    assert (tmp_path / "calibration" / "reliability_diagram.png").stat().st_size > 0
    assert first.tags["sampler"] == "random" and first.tags["imbalance"] == "smote"
    assert (first.rebalanced["origin"] == "synthetic").sum() == s["n_synthetic_kept"] > 0

    again = run(cfg).summary  # grid, training set and model all come from the cache
    assert again["oracle_images_evaluated"] == 0
    assert {k: again[k] for k in ("grid_positive", "n_positive_sampled", "f1_mean")} == \
           {k: s[k] for k in ("grid_positive", "n_positive_sampled", "f1_mean")}


def test_different_seed_resamples_but_reuses_the_grid(cache_dir):
    out = run(compose_config(TINY + [f"cache_dir={cache_dir}", "seed=1"])).summary
    # Only the 40 new training levels can need the oracle; the 729 grid levels are cached.
    assert out["oracle_images_evaluated"] <= 40 * 200


def test_smaller_budget_is_a_prefix_and_larger_continues(cache_dir):
    base = TINY + [f"cache_dir={cache_dir}", "seed=2"]
    long = run(compose_config(base + ["sampler.budget=30"]))
    short = run(compose_config(base + ["sampler.budget=20"]))
    assert short.summary["oracle_images_evaluated"] == 0
    np.testing.assert_array_equal(short.training.to_numpy(), long.training.to_numpy()[:20])
    longer = run(compose_config(base + ["sampler.budget=40"]))
    assert longer.summary["oracle_images_evaluated"] <= 10 * 200  # only the 10 new levels
    np.testing.assert_array_equal(longer.training.to_numpy()[:30], long.training.to_numpy())


def test_progress_switch_reaches_the_sampler_and_stays_out_of_cache_keys(cache_dir):
    quiet = compose_config(TINY + [f"cache_dir={cache_dir}"])
    assert quiet.sampler.progress is False  # the root switch, not a per-group copy
    loud = compose_config([o for o in TINY if o != "progress=false"] + [f"cache_dir={cache_dir}"])
    assert loud.sampler.progress is True
    run(quiet)
    assert run(loud).summary["oracle_images_evaluated"] == 0  # same grid and training set, only printing differs


def test_no_positives_explains_itself_and_the_suggested_h_works(cache_dir, tmp_path, caplog):
    cfg = compose_config(TINY + [f"cache_dir={cache_dir}", "h=0.999", "seed=3"])
    with caplog.at_level("INFO"):
        result = run(cfg, output_dir=tmp_path)
    assert result.summary["n_positive_sampled"] == 0 and result.skipped
    text = caplog.text
    assert "the highest f found is" in text
    suggested = re.search(r"- h=([0-9.]+):", text)
    assert suggested, text
    assert (tmp_path / "skipped.txt").is_file()
    again = run(compose_config(TINY + [f"cache_dir={cache_dir}", f"h={suggested.group(1)}", "seed=3"]))
    assert again.summary["n_positive_sampled"] > 0


def test_dry_run_evaluates_nothing_and_estimates_each_stage(cache_dir, caplog):
    from distortion_reliability import pipeline

    plans = []
    original = pipeline.print_plan
    pipeline.print_plan = lambda job, planned: plans.append((job, original(job, planned))) or plans[-1][1]
    cfg = compose_config(TINY + [f"cache_dir={cache_dir}", "dry_run=true", "grid.points_per_dim=4"])
    try:
        with caplog.at_level("INFO"):
            result = run(cfg)
    finally:
        pipeline.print_plan = original
    assert result.skipped == "dry run"
    assert "grid: 4,096 levels" in caplog.text and "sampler: 40 levels" in caplog.text
    job, seconds = plans[0]
    assert job.rate > 0 and seconds["grid"] > 0 and seconds["sampling"] > 0
    assert job.bundle.oracle.images_evaluated == 0


def test_dry_run_trains_no_model_and_evaluates_no_image(tmp_path, caplog):
    """Issue 17.3: on an empty cache the small CNN would be trained; a dry run only estimates it."""
    from distortion_reliability import pipeline
    from distortion_reliability.models.training import TrainingCount

    seen = []
    original = pipeline.print_plan
    pipeline.print_plan = lambda job, planned: seen.append((job, original(job, planned))) or seen[-1][1]
    batches = TrainingCount.batches
    try:
        with caplog.at_level("INFO"):
            run(compose_config(TINY + [f"cache_dir={tmp_path}", "dry_run=true"]))
    finally:
        pipeline.print_plan = original
    job, seconds = seen[0]
    assert TrainingCount.batches == batches  # no optimiser step of the model's training loop
    assert job.bundle.oracle.images_evaluated == 0 and job.bundle.oracle.levels_evaluated == 0
    assert job.bundle.train_seconds > 0 and seconds["oracle"] == job.bundle.train_seconds
    assert not list(tmp_path.rglob("*.npz"))  # no model, grid or training set stored
    assert "model training: ~" in caplog.text


def test_grid_estimate_scales_the_pilot_to_the_grid(tmp_path, caplog):
    """The pilot's share of images read, scaled to the grid, against the images the grid read: the
    part of the estimate no load can move (early stopping varies by level, so a pilot of 40 random
    levels is near, not exact). Then its seconds against the grid's own: both are wall seconds, so a
    load that changes between the two (the other `make test` worker, a study beside the tests) moves
    the ratio; it was 2.3 once with three study jobs and two test workers on the 2 cores. A wrong
    scaling (levels, images, the warm-up) is off by far more."""
    cfg = compose_config(TINY + [f"cache_dir={tmp_path}", "grid.points_per_dim=4"])
    with caplog.at_level("INFO"):
        result = run(cfg)
    match = re.search(r"a pilot of (\d+) levels read (\d+) % of their images in [0-9.]+ s -> ~([0-9.]+) (s|min) here",
                      caplog.text)
    assert match, caplog.text
    n_levels, n_images = 4 ** 6, 200
    share_pilot = int(match.group(2)) / 100
    share_grid = result.summary["oracle_images_grid"] / (n_levels * n_images)
    assert 0.05 < share_grid < 0.95  # early stopping works, and there is something to estimate
    # The pilot's levels and the 8 warm-up levels are counted once: they are cached for the grid.
    assert result.summary["oracle_images_grid"] <= n_levels * n_images
    assert abs(share_pilot - share_grid) <= 0.25 * share_grid, (share_pilot, share_grid)
    estimate = float(match.group(3)) * (60 if match.group(4) == "min" else 1)
    measured = result.summary["seconds_oracle_grid"]
    assert measured / 3 <= max(estimate, 1.0) <= max(measured * 3, 3.0)


def test_hydra_entry_point_logs_to_file_and_prints_clean_output(cache_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "run.py", *TINY, f"cache_dir={cache_dir}", "progress=true", "tracking=none", "report=false",
         f"hydra.run.dir={tmp_path}/out"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "grid: 729 levels" in proc.stdout
    assert "\x1b[" not in out and "\r" not in out  # piped: no progress-bar control codes
    assert "FutureWarning" not in out
    assert proc.stdout.strip().splitlines()[-1].startswith("summary: f1_mean=")
    log = (tmp_path / "out" / "run.log").read_text()
    assert "grid: 729 levels" in log and "sampler: random" in log
    assert (tmp_path / "out" / "scores.csv").is_file()

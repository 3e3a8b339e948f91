"""The multirun sweeper (tracking/sweeper.py): finished jobs linked without a job process, the rest
launched interleaved by training set. Multiruns use test_tracking's fake pipeline (no oracle work)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from test_tracking import client_for, conf, pipeline_calls, run_py, runs_of, split, template_db, work  # noqa: F401


def launched_jobs(sweep: Path) -> list[int]:
    """Job numbers Hydra ran: every launched job, in any launcher, writes ``<sweep dir>/<num>/.hydra/``."""
    return sorted(int(p.parent.name) for p in sweep.glob("*/.hydra"))


def status(sweep: Path) -> dict[int, dict]:
    return {int(p.stem): json.loads(p.read_text()) for p in (sweep / ".tracking" / "jobs").glob("*.json")}


# --------------------------------------------------------------------------- ordering
def test_interleave_round_robins_over_keys_keeping_each_keys_order():
    from distortion_reliability.tracking.job_order import interleave

    jobs = ["a1", "a2", "a3", "b1", "b2", "c1"]
    assert interleave(jobs, key=lambda j: j[0]) == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert interleave(["a1", "b1", "c1"], key=lambda j: j[0]) == ["a1", "b1", "c1"]  # already spread: kept
    assert interleave([], key=str) == []


def job_cfg(sampler="gp", seed=0, imbalance="smote", budget=600, h=0.5):
    return OmegaConf.create({"dataset": {"name": "digits"}, "model": {"name": "small_cnn"}, "seed": seed, "h": h,
                             "oracle": {"precision": "fp32"}, "imbalance": {"name": imbalance},
                             "sampler": {"name": sampler, "budget": budget, "progress": True, "kappa": 2.0}})


def test_training_set_key_follows_what_the_training_set_depends_on():
    from distortion_reliability.tracking.job_order import training_set_key as key

    base = key(job_cfg())
    assert key(job_cfg(imbalance="none")) == base            # rebalancing comes after R
    assert key(job_cfg(budget=200)) == base                   # a smaller budget is a prefix of the same path
    assert key(job_cfg(seed=1)) != base and key(job_cfg(h=0.6)) != base
    other = job_cfg()
    other.sampler.kappa = 3.0
    assert key(other) != base
    precision = job_cfg()
    precision.oracle.precision = "bf16"
    assert key(precision) != base                             # another oracle, another R


def test_two_workers_start_on_different_training_sets():
    """Table 3's order (sampler, method, seed fastest) and a seed-slowest sweep: the first jobs of the
    launch order need pairwise different training sets, and every training set comes before any repeat."""
    from distortion_reliability.tracking.job_order import launch_order, training_set_key

    table3 = [job_cfg(s, seed, m) for s in ("random", "gp") for m in ("none", "smote", "smote_gp")
              for seed in (0, 1, 2)]
    seed_slowest = [job_cfg("gp", seed, m) for seed in (0, 1) for m in ("none", "smote", "smote_gp")]
    for jobs in (table3, seed_slowest):
        keys = [training_set_key(jobs[i]) for i in launch_order(jobs)]
        distinct = len(set(keys))
        assert sorted(launch_order(jobs)) == list(range(len(jobs)))      # a permutation: no job lost
        assert len(set(keys[:distinct])) == distinct                      # all R started before any repeat
        assert all(a != b for a, b in zip(keys, keys[1:]))                # two consecutive jobs never share R
    assert launch_order(seed_slowest) == [0, 3, 1, 4, 2, 5]


# --------------------------------------------------------------------------- a warm sweep
@pytest.mark.slow
def test_warm_sweep_links_finished_jobs_without_launching_them(work, conf):  # noqa: F811
    cold = run_py(work, conf, "-m", "seed=0,1", "imbalance=smote,none", "hydra.sweep.dir=multirun/cold")
    assert cold.returncode == 0, cold.stdout[-3000:] + cold.stderr[-3000:]
    assert launched_jobs(work / "multirun/cold") == [0, 1, 2, 3] and pipeline_calls(work) == 4
    # seed is the training set here: launched seed 0, seed 1, seed 0, seed 1 (Hydra's product: 0, 0, 1, 1)
    order = [status(work / "multirun/cold")[n]["overrides"] for n in range(4)]
    assert [o[0] for o in order] == ["seed=0", "seed=1", "seed=0", "seed=1"]

    warm = run_py(work, conf, "-m", "seed=0,1,2", "imbalance=smote,none", "hydra.sweep.dir=multirun/warm")
    assert warm.returncode == 0, warm.stdout[-3000:] + warm.stderr[-3000:]
    sweep = work / "multirun/warm"
    assert launched_jobs(sweep) == [4, 5]          # only seed 2's two jobs got a process (numbered after the links)
    assert pipeline_calls(work) == 6
    assert warm.stdout.count("already done: ") == 4
    assert "sweep: 6 finished, 0 failed, 0 skipped (4 of the finished already done before)" in warm.stdout
    jobs = status(sweep)
    assert [jobs[n]["status"] for n in range(6)] == ["already_done"] * 4 + ["finished"] * 2

    parents, children = split(runs_of(work))
    parent = [p for p in parents if p.data.tags["sweep"] == "multirun/warm"][0]
    assert parent.info.status == "FINISHED" and parent.data.metrics["n_already_done"] == 4
    links = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id
             and c.data.tags["run_kind"] == "link"]
    originals = {c.info.run_id: c for c in children if c.data.tags["run_kind"] == "job"
                 and c.data.tags["sweep"] == "multirun/cold"}
    assert len(links) == 4 and {c.data.tags["already_done"] for c in links} == set(originals)
    for link in links:
        original = originals[link.data.tags["already_done"]]
        assert link.info.status == "FINISHED" and link.data.metrics["oracle_images_evaluated"] == 0
        assert link.data.metrics["f1_mean"] == original.data.metrics["f1_mean"]
        assert link.data.tags["config_hash"] == original.data.tags["config_hash"]
        assert link.data.params == original.data.params   # params are the job's resolved config, as the job logs
        for tag in ("dataset", "model", "sampler", "imbalance", "seed", "h", "study"):
            assert link.data.tags[tag] == original.data.tags[tag], tag


@pytest.mark.slow
def test_rerun_sweep_links_nothing(work, conf):  # noqa: F811
    first = run_py(work, conf, "-m", "seed=0,1", "hydra.sweep.dir=multirun/one")
    assert first.returncode == 0, first.stderr[-3000:]
    again = run_py(work, conf, "-m", "seed=0,1", "rerun=true", "hydra.sweep.dir=multirun/two")
    assert again.returncode == 0, again.stderr[-3000:]
    assert launched_jobs(work / "multirun/two") == [0, 1] and pipeline_calls(work) == 4
    assert "already done" not in again.stdout

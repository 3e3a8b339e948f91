"""``hydra/launcher=slurm`` on a real one-node SLURM cluster (tests/slurm/start.sh: Debian's slurmctld,
slurmd, munge; started here when this runs as root, else used when ``sinfo`` answers, else skipped).

The README's SLURM command runs word for word (``python`` is the test's interpreter, first on PATH);
jobs are the tiny digits setting, seconds each. The store is a SQLite file and the cache a folder
of this test (one node: no shared file system needed).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SLURM_DIR = Path(os.environ.get("DR_SLURM_DIR", "/tmp/dr-slurm"))
pytestmark = pytest.mark.slow
TINY = "dataset.verification_size=200 grid.points_per_dim=3 sampler=random sampler.budget=40 h=0.3 report=false"
LAUNCH = "hydra/launcher=slurm hydra.launcher.partition=debug hydra.launcher.cpus_per_task=1 hydra.launcher.mem_gb=1"


def readme_slurm_command() -> str:
    """The command under README's "Try it on your cluster" (the block after the marker comment)."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- run word for word by tests/test_slurm.py -->\s*```bash\n(.*?)```", text, re.S)
    assert block, "README lost its tested SLURM command"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("python run.py -m ")
    return lines[0]


@pytest.fixture(scope="module")
def cluster():
    env = {**os.environ, "SLURM_CONF": str(SLURM_DIR / "slurm.conf")}
    if os.geteuid() == 0:
        done = subprocess.run([str(REPO / "tests/slurm/start.sh"), str(SLURM_DIR)], capture_output=True, text=True,
                              timeout=600, env=env)
        if done.returncode != 0:
            pytest.skip(f"no SLURM cluster: tests/slurm/start.sh failed: {(done.stderr or done.stdout).strip()[-300:]}")
    elif shutil.which("sinfo") is None or subprocess.run(["sinfo"], env=env, capture_output=True).returncode != 0:
        pytest.skip("no SLURM cluster: run tests/slurm/start.sh as root (.ci/run does) to start one")
    return env


@pytest.fixture(scope="module")
def work(cluster, tmp_path_factory):
    """cwd with run.py and conf/ (links), its own cache and MLflow store, python first on PATH."""
    root = tmp_path_factory.mktemp("slurm")
    (root / "run.py").symlink_to(REPO / "run.py")
    (root / "conf").symlink_to(REPO / "conf")
    from conftest import as_a_user_runs_it

    env = as_a_user_runs_it({**cluster, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                             "DR_CACHE_DIR": str(root / "cache"),
                             "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
                             "OMP_NUM_THREADS": "1", "DR_STATUS_INTERVAL": "2"})
    return root, env


def start(work, command: str, **extra_env: str) -> subprocess.Popen:
    root, env = work
    return subprocess.Popen(shlex.split(command), cwd=root, env={**env, **extra_env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def client(work):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=work[1]["MLFLOW_TRACKING_URI"])


def runs_of(work, sweep_marker: str) -> list:
    c = client(work)
    exps = [e.experiment_id for e in c.search_experiments()]
    return [r for r in c.search_runs(exps, max_results=500) if sweep_marker in r.data.tags.get("sweep", "")]


def sweep_dir(out: str) -> str:
    return re.search(r"sweep output dir : (\S+)", out).group(1)


def squeue(env, *args: str) -> list[list[str]]:
    out = subprocess.run(["squeue", "-h", "-o", "%i|%T", *args], env=env, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line.strip()]


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def test_readme_command_runs_two_jobs_tracked_with_their_parent(work):
    code, out = finish(start(work, readme_slurm_command()))
    assert code == 0, out[-3000:]
    assert "sweep: 2 finished, 0 failed, 0 skipped" in out
    runs = runs_of(work, sweep_dir(out))
    jobs = [r for r in runs if r.data.tags.get("run_kind") == "job"]
    parents = [r for r in runs if r.data.tags.get("run_kind") == "parent"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(r.data.tags["seed"] for r in jobs) == ["0", "1"]
    assert all(r.info.status == "FINISHED" and r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
               for r in jobs)
    assert all("f1_mean" in r.data.metrics for r in jobs)


def _redone_fraction(log: Path) -> tuple[float, int, int]:
    """Images the second attempt evaluated again (same level, overlapping image range) over the unique work."""
    spans: dict[int, dict[str, list[tuple[int, int]]]] = {0: defaultdict(list), 1: defaultdict(list)}
    for line in log.read_text().splitlines():
        attempt, level, lo, hi = line.split()
        spans[min(int(attempt), 1)][level].append((int(lo), int(hi)))
    first = sum(hi - lo for s in spans[0].values() for lo, hi in s)
    second = sum(hi - lo for s in spans[1].values() for lo, hi in s)
    redone = sum(max(0, min(hi, h0) - max(lo, l0))
                 for level, s in spans[1].items() for lo, hi in s for l0, h0 in spans[0].get(level, []))
    return redone / max(1, first + second - redone), first, second


def test_a_job_requeued_mid_grid_resumes_its_run_and_redoes_little(work, tmp_path):
    root, env = work
    log = tmp_path / "work.log"
    command = (f"python run.py -m seed=5 {LAUNCH} dataset.verification_size=300 grid.points_per_dim=4 "
               f"sampler=random sampler.budget=40 h=0.3 report=false")
    proc = start(work, command, DR_PIPELINE=str(REPO / "tests/slurm/pipelines.py") + ":counted",
                 DR_TEST_WORK_LOG=str(log))
    # requeue once the grid is well under way (a few thousand level-chunks evaluated)
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) > 3000, 400, "the grid to be under way")
    job = wait_for(lambda: [i for i, s in squeue(env) if s == "RUNNING"], 60, "the running job")[0]
    subprocess.run(["scontrol", "requeue", job], env=env, check=True)
    code, out = finish(proc)
    assert code == 0, out[-3000:]
    fraction, first, second = _redone_fraction(log)
    print(f"requeue: first attempt {first:,} images, second {second:,}, redone_fraction={fraction:.4f}")
    assert first > 0 and second > 0
    assert fraction <= 0.10
    (run,) = [r for r in runs_of(work, sweep_dir(out)) if r.data.tags.get("run_kind") == "job"]
    assert run.info.status == "FINISHED" and run.data.tags.get("attempt") == "2"


def test_a_job_past_its_time_limit_is_requeued_by_submitit_and_finishes(work):
    root, env = work
    command = (f"python run.py -m seed=6 {LAUNCH} hydra.launcher.timeout_min=2 hydra.launcher.signal_delay_s=30 "
               f"{TINY}")
    proc = start(work, command, DR_PIPELINE=str(REPO / "tests/slurm/pipelines.py") + ":slow_first",
                 DR_TEST_SLOW_SEED="6")
    code, out = finish(proc)
    assert code == 0, out[-3000:]
    (run,) = [r for r in runs_of(work, sweep_dir(out)) if r.data.tags.get("run_kind") == "job"]
    # one requeue at least: on a loaded machine the resumed attempt can meet the limit again
    assert run.info.status == "FINISHED" and int(run.data.tags.get("attempt", "1")) >= 2
    folder = Path(root) / sweep_dir(out) / ".submitit"
    logs = "".join(p.read_text() for p in folder.rglob("*_log.*"))
    assert "Job has timed out" in logs and "Requeued job" in logs  # submitit's USR2 handler did it


def test_a_cancelled_job_is_recorded_killed_and_the_rerun_runs_only_it(work):
    root, env = work
    command = f"python run.py -m seed=7,8 {LAUNCH} {TINY}"
    pipeline = str(REPO / "tests/slurm/pipelines.py") + ":slow_first"
    proc = start(work, command, DR_PIPELINE=pipeline, DR_TEST_SLOW_SEED="8")
    c = client(work)

    def slow_run_started():
        exps = [e.experiment_id for e in c.search_experiments()]
        return [r for r in c.search_runs(exps, "tags.seed = '8' and attributes.status = 'RUNNING'")]
    wait_for(slow_run_started, 400, "job seed=8 to start")
    job = [i for i, s in squeue(env) if s == "RUNNING" and i.endswith("_1")]
    subprocess.run(["scancel", job[0]], env=env, check=True)
    code, out = finish(proc)
    assert code == 1, out[-3000:]
    assert "sweep: 1 finished, 1 failed, 0 skipped" in out and "failed #1: seed=8" in out
    (killed,) = [r for r in runs_of(work, sweep_dir(out)) if r.data.tags.get("seed") == "8"]
    assert killed.info.status == "KILLED"

    code, again = finish(start(work, command, DR_PIPELINE=pipeline))
    assert code == 0, again[-3000:]
    assert "sweep: 2 finished, 0 failed, 0 skipped (1 of the finished already done before)" in again
    second = runs_of(work, sweep_dir(again))
    assert {r.data.tags["seed"]: r.data.tags["run_kind"] for r in second if r.data.tags.get("seed")} == \
        {"7": "link", "8": "job"}


@pytest.mark.parametrize("launch, setting", [
    (f"{LAUNCH} device=cuda", "error: hydra.launcher.gpus_per_node: 1: sbatch refused the job (Invalid generic resource"),
    ("hydra/launcher=slurm hydra.launcher.partition=nosuch hydra.launcher.cpus_per_task=1 hydra.launcher.mem_gb=1",
     "error: hydra.launcher.partition: nosuch: sbatch refused the job ("),
    ("hydra/launcher=slurm hydra.launcher.partition=debug hydra.launcher.cpus_per_task=64 hydra.launcher.mem_gb=1",
     "error: hydra.launcher: cpus_per_task=64, mem_gb=1, timeout_min=240, gpus_per_node=0: the partition's limits"),
])
def test_an_sbatch_refusal_is_one_error_line_naming_the_setting(work, launch, setting):
    # a seed no other test finishes: a finished one is linked before launch and never reaches sbatch
    code, out = finish(start(work, f"python run.py -m seed=97 {launch} {TINY}"), timeout=300)
    assert code == 2, out[-3000:]
    lines = [line for line in out.splitlines() if not line.startswith("[")]  # Hydra's own log lines
    assert lines == [lines[0]] and lines[0].startswith(setting), out[-3000:]

"""Resilience with real processes: SIGKILL, Ctrl-C twice, SIGTERM, concurrent jobs, full disks.

Each "job" is ``tests/test_resilience_harness.py``: the oracle labelling a 3^6 grid of a small
digits space with a tiny CNN (fp32, the first 300 test digits), writing its images evaluated and a
digest of its labels. The reference is one uninterrupted job on an empty cache.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "test_resilience_harness.py"
JOB = ["--points", "3", "--n-images", "300", "--h", "0.5"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), env.get("PYTHONPATH", "")])
    return env


def start(cache: Path, model: Path, *extra: str, out: Path | None = None, **popen) -> subprocess.Popen:
    cmd = [sys.executable, str(HARNESS), "--cache", str(cache), "--model", str(model), *JOB, *extra]
    if out is not None:
        cmd += ["--out", str(out)]
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run_job(cache: Path, model: Path, *extra: str) -> dict:
    rc, out, err = finish(start(cache, model, *extra))
    assert rc == 0, err
    return json.loads(out.strip().splitlines()[-1])


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "job never started labelling"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny model (trained once) and an uninterrupted job on an empty cache."""
    root = tmp_path_factory.mktemp("resilience")
    model = root / "model.pt"
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from test_resilience_harness import trained_model
    finally:
        sys.path.pop(0)
    trained_model(model)
    ref = run_job(root / "ref-cache", model)
    assert ref["images_evaluated"] > 0 and 0 < ref["n_positive"] < ref["n_levels"]
    return {"model": model, **ref}


def evaluated(counter: Path) -> int:
    """Images the job has evaluated so far (its ``--counter`` map, updated after every batch)."""
    return int.from_bytes(counter.read_bytes()[:8], "little") if counter.exists() else 0


def wait_until_evaluated(proc: subprocess.Popen, counter: Path, images: float, timeout: float = 120) -> None:
    """Wait until the job has evaluated ``images``: a share of the work, not of the reference's
    seconds, since the load can change between the two (another test worker) and a job that ran
    faster than its reference would finish before the signal."""
    deadline = time.monotonic() + timeout
    while evaluated(counter) < images:
        assert proc.poll() is None, f"the job ended before {images:.0f} images: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"the job evaluated {evaluated(counter)} images in {timeout:.0f} s"
        time.sleep(0.005)


def no_temp_files(cache: Path) -> bool:
    return not [p for p in cache.rglob("*.tmp")]


@pytest.mark.slow  # real jobs: ~10-15 s each on 2 busy cores
def test_sigkill_mid_grid_loses_at_most_a_flush(reference, tmp_path):
    """A job SIGKILLed at a random point of its grid, rerun: the rerun redoes <= 25 % of the work
    (killed + rerun - uninterrupted images) and returns the uninterrupted labels."""
    model, full = reference["model"], reference["images_evaluated"]
    cache, ready, counter = tmp_path / "cache", tmp_path / "ready", tmp_path / "counter"
    proc = start(cache, model, "--flush-seconds", "0.2", "--ready", str(ready), "--counter", str(counter))
    wait_for(ready, proc)
    wait_until_evaluated(proc, counter, random.Random().uniform(0.25, 0.75) * full)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = evaluated(counter)
    assert proc.returncode == -signal.SIGKILL and 0 < killed < full
    rerun = run_job(cache, model)
    assert rerun["labels"] == reference["labels"]
    redone = killed + rerun["images_evaluated"] - full
    assert 0 <= redone <= 0.25 * full, (killed, rerun["images_evaluated"], full)


@pytest.mark.slow  # real jobs: ~10-15 s each on 2 busy cores
def test_two_jobs_started_together_split_the_work(reference, tmp_path):
    cache = tmp_path / "cache"
    jobs = [start(cache, reference["model"]) for _ in range(2)]
    results = []
    for job in jobs:
        rc, out, err = finish(job)
        assert rc == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["labels"] for r in results] == [reference["labels"]] * 2
    assert sum(r["images_evaluated"] for r in results) <= 1.2 * reference["images_evaluated"]
    assert no_temp_files(cache)
    assert not list((cache).rglob("*.lock"))  # every claim was released


@pytest.mark.slow  # real jobs: ~10-15 s each on 2 busy cores
@pytest.mark.parametrize("signals", [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM,)], ids=["ctrl-c-twice", "sigterm"])
def test_interrupted_job_saves_progress_with_one_line(reference, tmp_path, signals):
    model, full = reference["model"], reference["images_evaluated"]
    cache, ready, counter = tmp_path / "cache", tmp_path / "ready", tmp_path / "counter"
    # a long flush interval: only the save on the way out can keep the work
    proc = start(cache, model, "--flush-seconds", "1000", "--ready", str(ready), "--counter", str(counter))
    wait_for(ready, proc)
    wait_until_evaluated(proc, counter, 0.4 * full)
    for i, sig in enumerate(signals):
        if i:
            time.sleep(0.05)  # the second Ctrl-C lands while the first is being handled
        proc.send_signal(sig)
    rc, out, err = finish(proc)
    assert rc == 128 + signals[0], err
    assert err.strip().splitlines() == ["interrupted; progress saved"]
    assert no_temp_files(cache)
    killed = evaluated(counter)
    assert killed > 0
    rerun = run_job(cache, model)
    assert rerun["labels"] == reference["labels"]
    assert killed + rerun["images_evaluated"] - full <= 0.02 * full  # all that was done was kept


@pytest.mark.slow  # real jobs: ~10-15 s each on 2 busy cores
def test_disk_full_mid_run_is_one_error_line_and_keeps_progress(reference, tmp_path):
    model, full = reference["model"], reference["images_evaluated"]
    cache = tmp_path / "cache"
    rc, out, err = finish(start(cache, model, "--flush-seconds", "0.1", "--enospc-after", "300"))
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write to cache file "), err
    assert lines[0].endswith(": no space left on device") and str(cache) in lines[0]
    assert no_temp_files(cache)
    rerun = run_job(cache, model)
    assert rerun["labels"] == reference["labels"]
    assert rerun["images_evaluated"] < full  # the counts saved before the disk filled were kept




@pytest.mark.slow  # real jobs: ~10-15 s each on 2 busy cores
def test_cache_on_a_filesystem_that_fills_up(reference, small_tmpfs, tmp_path):
    """A real full disk (a 2 MiB tmpfs: one page per cached level): one error line, then the
    counts saved before it filled are reused once there is room."""
    import shutil

    cache = small_tmpfs / "cache"
    rc, _, err = finish(start(cache, reference["model"], "--flush-seconds", "0.1"))
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write to cache file {cache}/"), err
    assert lines[0].endswith(": no space left on device")
    assert no_temp_files(cache)
    roomy = tmp_path / "roomy"
    shutil.copytree(cache, roomy)
    rerun = run_job(roomy, reference["model"])
    assert rerun["labels"] == reference["labels"] and rerun["images_evaluated"] < reference["images_evaluated"]


def test_unwritable_cache_dir_is_one_error_line_before_any_work(tmp_path):
    model = tmp_path / "never-loaded.pt"  # the probe fails before anything is loaded
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    rc, _, err = finish(start(not_a_dir, model))
    assert rc == 2 and err.strip().splitlines() == [f"error: cannot write to cache_dir {not_a_dir}: not a directory"]
    missing = tmp_path / "no" / "such" / "cache"
    rc, _, err = finish(start(missing, model))
    assert rc == 2 and err.strip().splitlines() == [
        f"error: cannot write to cache_dir {missing}: parent directory {missing.parent} does not exist"]


# ------------------------------------------------------------------------------ stale claims
HOLDER = """
import sys, time
from distortion_reliability.locks import LockFile
lock = LockFile(sys.argv[1])
assert lock.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_claim_of_a_killed_holder_is_taken_over(tmp_path):
    from distortion_reliability.locks import LockFile

    path = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = LockFile(path, poll=0.05)
        assert not lock.try_acquire()  # a live holder keeps its claim
        assert lock.holder()["pid"] == holder.pid
        holder.kill()
        holder.wait()
        start_t = time.monotonic()
        assert lock.acquire(timeout=10)
        assert time.monotonic() - start_t < 2  # same host, pid gone: stale at once
        assert lock.holder()["pid"] == os.getpid()
        lock.release()
        assert not path.exists()
    finally:
        holder.kill()


def test_claim_of_another_host_is_taken_over_after_its_heartbeat_stops(tmp_path):
    from distortion_reliability.locks import LockFile

    path = tmp_path / "y.lock"
    path.write_text(json.dumps({"pid": 1, "host": "some-other-node", "token": "abc", "time": 0}))
    lock = LockFile(path, stale_after=30)
    assert not lock.try_acquire()  # fresh heartbeat: the other host may be alive
    old = time.time() - 60
    os.utime(path, (old, old))
    assert lock.try_acquire()
    lock.release()


def test_held_claim_is_kept_fresh_by_the_heartbeat(tmp_path):
    from distortion_reliability.locks import LockFile

    lock = LockFile(tmp_path / "z.lock", stale_after=1.0, heartbeat=0.1)
    assert lock.try_acquire()
    try:
        time.sleep(1.5)
        other = LockFile(tmp_path / "z.lock", stale_after=1.0)
        assert not other.is_stale() and not other.try_acquire()
    finally:
        lock.release()


def _compute_once_worker(args):
    root, counter = args
    from distortion_reliability.artifacts import ArtifactStore

    store = ArtifactStore(root)

    def compute():
        with open(counter, "a") as fh:
            fh.write("x")
        time.sleep(1.0)
        store.put_json("grid", "k", {"value": 42})
        return {"value": 42}

    return store.compute_once("grid", "k", compute, lambda: store.get_json("grid", "k"))


def test_compute_once_across_processes_computes_once(tmp_path):
    import multiprocessing as mp

    counter = tmp_path / "count"
    with mp.get_context("fork").Pool(3) as pool:
        results = pool.map(_compute_once_worker, [(str(tmp_path / "store"), str(counter))] * 3)
    assert results == [{"value": 42}] * 3
    assert counter.read_text() == "x"
    assert not list((tmp_path / "store").rglob("*.lock"))


def test_a_forked_child_never_releases_its_parents_claim(tmp_path):
    from distortion_reliability.locks import LockFile

    lock = LockFile(tmp_path / "f.lock")
    assert lock.try_acquire()
    pid = os.fork()
    if pid == 0:  # child: drop its copy of the claim and leave
        lock.release()
        del lock
        os._exit(0)
    os.waitpid(pid, 0)
    assert (tmp_path / "f.lock").exists() and lock.holder()["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / "f.lock").exists()

"""Shared fixtures. Real-data tests use ../shared/data (or $DR_SHARED_DATA) and skip with a reason without it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DR_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()

# Two cores: one torch thread per process keeps parallel jobs from fighting, and single-threaded
# BLAS is much faster than multi-threaded BLAS on the tiny matrices of 600-level training sets.
torch.set_num_threads(1)
threadpool_limits(1)


def as_a_user_runs_it(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a subprocess that runs the installed package as a user does, without PYTHONPATH.

    PYTHONPATH=src hid that Hydra cannot list an editable install's plugins (``hydra/launcher=slurm``
    was unknown); only where the venv holds another checkout does this one's ``src`` go first.
    """
    import distortion_reliability

    env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    if not Path(distortion_reliability.__file__).resolve().is_relative_to(REPO):
        env["PYTHONPATH"] = str(REPO / "src")
    return env


@pytest.fixture
def shared_data() -> Path:
    """The verified real data folder; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set DR_SHARED_DATA to point at it)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs mount (needs root and mount rights; skipped elsewhere)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


class _FullFile:
    """An open file whose writes fail like a full disk (closing it is fine)."""

    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def write(self, data):
        import errno

        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def simulate_full_disk(module, after: int = 1):
    """Make writes through ``open`` inside ``module`` (e.g. ``distortion_reliability.artifacts``) fail
    like a full disk from the ``after``-th file opened for writing on; returns the undo function.
    Also used by tests/test_resilience_harness.py in its job processes."""
    import builtins

    state = {"n": 0}

    def full_open(file, mode="r", *args, **kwargs):
        fh = builtins.open(file, mode, *args, **kwargs)
        if "x" in mode or "w" in mode:
            state["n"] += 1
            if state["n"] >= after:
                return _FullFile(fh)
        return fh

    module.open = full_open  # a module global shadows the builtin inside that module only

    def undo():
        if getattr(module, "open", None) is full_open:
            del module.open

    return undo


@pytest.fixture
def full_disk():
    """``full_disk(module, after=1)``: that module's writes fail with ENOSPC until the test ends."""
    undos = []

    def apply(module, after: int = 1):
        undos.append(simulate_full_disk(module, after))

    yield apply
    for undo in reversed(undos):
        undo()


def pytest_collection_modifyitems(config, items):
    """Slow tests first (a stable sort: files keep their order otherwise). `make test` runs two
    workers that take whole files (pytest-xdist ``--dist loadfile``): the files that wait minutes
    on a real SLURM cluster or MLflow server start at once instead of after the quick ones."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

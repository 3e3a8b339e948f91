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

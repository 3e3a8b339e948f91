"""The allocator tweak applies once on glibc and can be switched off."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = "from distortion_reliability.allocator import keep_freed_memory as k; print(k(), k())"


def _run(env_extra):
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, check=True).stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_applies_once_on_linux_and_is_idempotent():
    assert _run({}).split() == ["True", "True"]


def test_env_switch_leaves_malloc_alone():
    assert _run({"DR_MALLOC": "default"}).split() == ["False", "False"]

import numpy as np

from distortion_reliability.artifacts import ArtifactStore, stable_hash


def test_stable_hash_ignores_key_order_and_sees_values():
    assert stable_hash({"a": 1, "b": [1.0, 2]}) == stable_hash({"b": [1.0, 2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})
    assert stable_hash({"x": np.float64(0.5)}) == stable_hash({"x": 0.5})


def test_round_trip_and_corruption(tmp_path):
    store = ArtifactStore(tmp_path)
    store.put_arrays("grid", "k", meta={"h": 0.9}, levels=np.eye(3), labels=np.array([True, False, True]))
    arrays, meta = store.get_arrays("grid", "k")
    np.testing.assert_array_equal(arrays["levels"], np.eye(3))
    assert meta == {"h": 0.9}
    path = store.path("grid", "k", "npz")
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert store.get_arrays("grid", "k") is None
    assert store.get_json("grid", "missing") is None


def test_no_temp_files_left(tmp_path):
    store = ArtifactStore(tmp_path)
    for i in range(5):
        store.put_json("x", str(i), {"i": i})
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [f"{i}.json" for i in range(5)]
    assert store.get_json("x", "3") == {"i": 3}


# ------------------------------------------------------------------ I/O errors are input errors
import errno
import os
import subprocess
import time

import pytest

from distortion_reliability import artifacts
from distortion_reliability.artifacts import atomic_write_bytes, probe_writable, read_verified_bytes, sweep_temp_files
from distortion_reliability.errors import CacheDirError, DistortionReliabilityError


def test_probe_names_path_and_cause(tmp_path):
    assert probe_writable(tmp_path / "new") == tmp_path / "new"  # created when its parent exists
    assert (tmp_path / "new").is_dir() and not list((tmp_path / "new").iterdir())  # probe removed
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(CacheDirError, match=f"^cannot write to cache_dir {afile}: not a directory$"):
        probe_writable(afile)
    with pytest.raises(CacheDirError, match="parent directory .*/missing does not exist$"):
        probe_writable(tmp_path / "missing" / "cache")
    with pytest.raises(CacheDirError, match="afile is not a directory$"):
        probe_writable(afile / "cache", what="tracking store")
    assert issubclass(CacheDirError, DistortionReliabilityError) and issubclass(CacheDirError, OSError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_probe_permission_denied(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(CacheDirError, match="permission denied$"):
        probe_writable(locked)




def test_probe_on_a_full_and_on_a_read_only_filesystem(small_tmpfs):
    filler = small_tmpfs / "filler"
    with open(filler, "wb") as fh, pytest.raises(OSError):
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    with pytest.raises(CacheDirError, match=f"^cannot write to cache_dir {small_tmpfs}: no space left on device"):
        probe_writable(small_tmpfs)
    filler.unlink()
    assert probe_writable(small_tmpfs) == small_tmpfs
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)]).returncode == 0
    with pytest.raises(CacheDirError, match="read-only file system$"):
        probe_writable(small_tmpfs)
    with pytest.raises(CacheDirError, match="read-only file system$"):
        probe_writable(small_tmpfs / "cache")


def test_atomic_write_on_a_real_full_disk_keeps_the_old_content(small_tmpfs):
    target = small_tmpfs / "a" / "entry.json"
    atomic_write_bytes(target, b"old")
    with pytest.raises(CacheDirError, match="no space left on device$"):
        atomic_write_bytes(target, b"\0" * (3 << 20))
    assert read_verified_bytes(target) == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["entry.json"]


def test_atomic_write_error_is_one_cache_error_and_leaves_nothing(tmp_path, full_disk):
    target = tmp_path / "k.json"
    atomic_write_bytes(target, b"v1")
    full_disk(artifacts)
    with pytest.raises(CacheDirError) as info:
        atomic_write_bytes(target, b"v2")
    assert str(info.value) == f"cannot write to cache file {target}: no space left on device"
    assert info.value.errno == errno.ENOSPC
    assert read_verified_bytes(target) == b"v1"
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]


def test_temp_files_of_dead_writers_are_swept(tmp_path):
    proc = subprocess.Popen(["true"])  # a pid that has exited
    proc.wait()
    host = artifacts._HOST
    stale = tmp_path / f".x.json.{host}.{proc.pid}.abcd1234.tmp"
    live = tmp_path / f".y.json.{host}.{os.getpid()}.abcd1234.tmp"
    old = tmp_path / ".z.json.elsewhere.1.abcd1234.tmp"
    for p in (stale, live, old):
        p.write_bytes(b"")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sweep_temp_files(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == [live.name]


def test_compute_once_loads_what_exists_and_recomputes_corrupted(tmp_path):
    store = ArtifactStore(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        store.put_json("grid", "k", {"v": len(calls)})
        return {"v": len(calls)}

    def load():
        return store.get_json("grid", "k")

    assert store.compute_once("grid", "k", compute, load) == {"v": 1}
    assert store.compute_once("grid", "k", compute, load) == {"v": 1} and len(calls) == 1
    path = store.path("grid", "k", "json")
    path.write_bytes(path.read_bytes()[:-3])
    assert store.compute_once("grid", "k", compute, load) == {"v": 2}
    assert not list(tmp_path.rglob("*.lock"))

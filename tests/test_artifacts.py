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

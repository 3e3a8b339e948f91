"""A damaged cached grid is announced once as damaged and recomputed (never as "grid: ...; cached")."""

from __future__ import annotations

import logging

import pytest

from distortion_reliability.pipeline import compose_config, run

TINY = ["dataset.verification_size=200", "grid.points_per_dim=3", "sampler=random", "sampler.budget=40",
        "imbalance=smote", "h=0.3", "progress=false", "oracle.precision=fp32", "report=false"]


@pytest.mark.slow  # two tiny pipeline runs: ~20-40 s on the busy 2-core CPU
def test_a_damaged_cached_grid_is_said_once_and_recomputed(tmp_path, caplog):
    cfg = compose_config(TINY + [f"cache_dir={tmp_path / 'cache'}"])
    first = run(cfg, output_dir=tmp_path / "one").summary
    (grid_file,) = (tmp_path / "cache" / "artifacts" / "grid").glob("*.npz")
    raw = bytearray(grid_file.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte
    grid_file.write_bytes(bytes(raw))
    caplog.set_level(logging.INFO)
    again = run(cfg, output_dir=tmp_path / "two").summary
    messages = [r.getMessage() for r in caplog.records]
    damaged = [m for m in messages if "is damaged" in m]  # (tmp_path itself holds "damaged")
    assert len(damaged) == 1 and str(grid_file) in damaged[0] and "recomputing" in damaged[0]
    assert not [m for m in messages if m.startswith("grid:") and m.endswith("; cached")]
    assert again["grid_positive"] == first["grid_positive"]
    assert len(list((tmp_path / "cache" / "artifacts" / "grid").glob("*.npz"))) == 1

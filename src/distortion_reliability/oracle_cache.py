"""The oracle's evaluation cache: a running count per level on disk, and the journal of the block in flight.

Split from :mod:`.oracle` (which evaluates); this module only stores and reads counts.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .artifacts import atomic_write_bytes, canonical_json, read_verified_bytes, stable_hash, sweep_temp_files
from .locks import LockFile


@dataclass
class Count:
    """Running evaluation of one level: ``n_correct`` right out of the first ``n_evaluated`` images of D."""

    n_evaluated: int
    n_correct: int

    def decided(self, n_total: int, h: float) -> bool | None:
        """True/False if ``n_correct_total / N >= h`` is already certain, else None.

        Both bounds use the same expression as the full evaluation (``correct / N >= h``), so an
        early decision can never differ from the exact one by floating-point rounding.
        """
        if self.n_correct / n_total >= h:
            return True  # correct answers only accumulate
        if (self.n_correct + (n_total - self.n_evaluated)) / n_total < h:
            return False  # even if every remaining image were right, f < h
        return None


class EvalCache:
    """Per-level evaluation counts on disk, one small checksummed file per level.

    One file per level keeps concurrent writers (multirun jobs) independent: each write is an
    atomic rename, two jobs computing the same level write the same content, and a corrupted file
    fails its checksum and is recomputed.
    """

    def __init__(self, root: str | Path, context: Mapping[str, Any]):
        self.context_key = stable_hash(context)
        self.dir = Path(root) / "oracle" / self.context_key
        self._context = dict(context)
        self._wrote_context = False
        self._swept = False

    @staticmethod
    def level_key(level: np.ndarray) -> str:
        # Rounded so that the same level computed along two code paths (grid, config) hits one entry.
        return stable_hash([round(float(v), 10) for v in level], length=24)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, level: np.ndarray, n_total: int, key: str | None = None) -> Count | None:
        payload = read_verified_bytes(self._path(key or self.level_key(level)))
        if payload is None:
            return None
        try:
            entry = json.loads(payload)
            count = Count(int(entry["n_evaluated"]), int(entry["n_correct"]))
            ok = entry["n_total"] == n_total and np.allclose(entry["level"], level, rtol=0, atol=1e-9)
        except (KeyError, TypeError, ValueError):
            return None
        if not ok or not (0 <= count.n_correct <= count.n_evaluated <= n_total):
            return None
        return count

    def _write_context(self) -> None:
        if not self._wrote_context:  # a human-readable record of what the directory holds
            atomic_write_bytes(self.dir / "context.json", canonical_json(self._context).encode())
            self._wrote_context = True

    def put(self, level: np.ndarray, n_total: int, count: Count, key: str | None = None) -> None:
        self._write_context()
        entry = {"level": [float(v) for v in level], "n_total": n_total,
                 "n_evaluated": count.n_evaluated, "n_correct": count.n_correct}
        atomic_write_bytes(self._path(key or self.level_key(level)), canonical_json(entry).encode())

    # ---------------------------------------------------------------- blocks of levels in flight
    @staticmethod
    def block_key(level_keys: Sequence[str], n_total: int) -> str:
        return stable_hash({"levels": list(level_keys), "n": n_total}, length=24)

    def claim(self, block_key: str) -> LockFile:
        """The claim a job holds while it evaluates a block of levels."""
        return LockFile(self.dir / "claims" / f"{block_key}.lock")

    def _partial_path(self, block_key: str) -> Path:
        return self.dir / "partial" / f"{block_key}.npz"

    def put_partial(self, block_key: str, levels: np.ndarray, n_total: int, counts: Sequence[Count]) -> None:
        """Journal the running counts of a block's levels (one checksummed file, written atomically)."""
        self._write_context()
        buf = io.BytesIO()
        np.savez(buf, levels=np.asarray(levels, dtype=np.float64), n_total=np.int64(n_total),
                 n_evaluated=np.array([c.n_evaluated for c in counts], dtype=np.int64),
                 n_correct=np.array([c.n_correct for c in counts], dtype=np.int64))
        atomic_write_bytes(self._partial_path(block_key), buf.getvalue())

    def get_partial(self, block_key: str, levels: np.ndarray, n_total: int) -> list[Count] | None:
        """The journalled counts of a block (None when absent, corrupted or for other levels)."""
        if not self._swept:  # temp files of a writer killed mid-write
            sweep_temp_files(self.dir / "partial")
            self._swept = True
        payload = read_verified_bytes(self._partial_path(block_key))
        if payload is None:
            return None
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as z:
                saved, total, n_eval, n_corr = z["levels"], int(z["n_total"]), z["n_evaluated"], z["n_correct"]
        except Exception:
            return None
        if (total != n_total or saved.shape != np.shape(levels) or len(n_eval) != len(saved)
                or not np.allclose(saved, levels, rtol=0, atol=1e-9)):
            return None
        counts = [Count(int(e), int(c)) for e, c in zip(n_eval, n_corr)]
        if not all(0 <= c.n_correct <= c.n_evaluated <= n_total for c in counts):
            return None
        return counts

    def drop_partial(self, block_key: str) -> None:
        with contextlib.suppress(OSError):
            self._partial_path(block_key).unlink()

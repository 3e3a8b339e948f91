"""Torch's and BLAS's CPU thread counts held fixed where a result must not depend on them.

Float sums run in another order on another number of threads, so the same seed can give other
numbers: a GP's path (:mod:`.gp`), or a trained small CNN's weights (:mod:`.models.training`).

The BLAS pools (numpy's and scipy's OpenBLAS) are held too, for speed as much as for sums: the GP's
numpy work is many tiny products, and a 2-thread OpenBLAS pool on a machine whose cores are busy
made a plain ``python run.py`` pay 172 s of GP overhead where one thread paid 27 s (digits, 600
levels, 2-core AVX-512 EPYC with a study on both cores; benchmarks/gp_overhead.py --blas-threads).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from typing import Iterator

import torch
from threadpoolctl import ThreadpoolController

__all__ = ["fixed_threads", "single_threaded"]


@cache
def _blas() -> ThreadpoolController:
    """The loaded BLAS libraries, found once (a fresh scan costs ~1.7 ms, a limit on it ~15 us).

    numpy and scipy load theirs on import, before any caller here runs (gp_fit imports scipy).
    """
    return ThreadpoolController().select(user_api="blas")


@contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """Run torch's CPU ops and BLAS calls on ``threads`` threads inside the block; restore the caller's after."""
    old = torch.get_num_threads()
    if old != threads:
        torch.set_num_threads(threads)
    try:
        with _blas().limit(limits=threads):
            yield
    finally:
        if old != threads:
            torch.set_num_threads(old)


def single_threaded():
    """:func:`fixed_threads` with one thread."""
    return fixed_threads(1)

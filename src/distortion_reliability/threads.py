"""Torch's and BLAS's CPU thread counts held fixed where a result must not depend on them.

Float sums run in another order on another number of threads, so the same seed can give other
numbers: a GP's path (:mod:`.gp`), or a trained small CNN's weights (:mod:`.models.training`).

The BLAS pools (numpy's and scipy's OpenBLAS) are held too, for speed as much as for sums: the GP's
numpy work is many tiny products, and a 2-thread OpenBLAS pool on a machine whose cores are busy
made a plain ``python run.py`` pay 172 s of GP overhead where one thread paid 27 s (digits, 600
levels, 2-core AVX-512 EPYC with a study on both cores; benchmarks/gp_overhead.py --blas-threads).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

import torch
from threadpoolctl import ThreadpoolController

__all__ = ["fixed_threads", "single_threaded"]


_found: tuple[int, ThreadpoolController] | None = None


def _blas() -> ThreadpoolController:
    """The loaded BLAS libraries (numpy's, and scipy's once it is imported).

    A scan costs ~1.7 ms and a limit on its result ~15 us, and the GP enters :func:`fixed_threads`
    several times per level, so the scan is kept while no module has been imported since: a library
    is loaded by importing a module (scipy's OpenBLAS comes with scipy.linalg, perhaps after a small
    CNN trained under :func:`fixed_threads`).
    """
    global _found
    if _found is None or _found[0] != len(sys.modules):
        _found = (len(sys.modules), ThreadpoolController().select(user_api="blas"))
    return _found[1]


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

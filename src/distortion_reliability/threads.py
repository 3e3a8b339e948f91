"""Torch's CPU thread count held fixed where a result must not depend on it.

Float sums run in another order on another number of threads, so the same seed can give other
numbers: a GP's path (:mod:`.gp`), or a trained small CNN's weights (:mod:`.models.training`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

__all__ = ["fixed_threads", "single_threaded"]


@contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """Run torch's CPU ops on ``threads`` threads inside the block; restore the caller's count after."""
    old = torch.get_num_threads()
    if old != threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if old != threads:
            torch.set_num_threads(old)


def single_threaded():
    """:func:`fixed_threads` with one thread."""
    return fixed_threads(1)

"""Hydra finds sweepers only in the ``hydra_plugins`` package: this names the project's sweeper there.

The sweeper itself is ``distortion_reliability.tracking.sweeper`` (conf/hydra/sweeper/tracked.yaml selects it).
"""

from distortion_reliability.tracking.sweeper import TrackedSweeper as _TrackedSweeper


class TrackedSweeper(_TrackedSweeper):
    __doc__ = _TrackedSweeper.__doc__

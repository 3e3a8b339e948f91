"""distortion-reliability: predict under which image distortions a classifier stays reliable.

Data flows one way: oracle -> sampling -> rebalancing -> prediction -> tracking and reports.
"""

__version__ = "0.1.0"

from .console import quiet_third_party_warnings as _quiet

_quiet()  # before any dependency import: their deprecation noise is not the user's concern

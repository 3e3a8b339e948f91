"""distortion-reliability: predict under which image distortions a classifier stays reliable.

Data flows one way: oracle -> sampling -> rebalancing -> prediction -> tracking and reports.
"""

__version__ = "0.1.0"

"""Packaging beyond what pyproject.toml can say: conf/ ships inside the package, and the sweeper's plugin.

An installed (non-editable) copy finds its Hydra configs as distortion_reliability/conf, so
`model: auto` and every script compose the same configs as a source checkout
(config.conf_dir() looks there first, then at the checkout's conf/). Hydra loads sweepers only
from its `hydra_plugins` namespace package (no __init__.py, so find_packages skips it): the
project's sweeper is named there.
"""

from setuptools import find_packages, setup

setup(
    # hydra_plugins.*: Hydra accepts sweepers and launchers only from that namespace package
    packages=find_packages("src") + ["distortion_reliability.conf", "hydra_plugins.distortion_reliability_sweeper",
                                     "hydra_plugins.distortion_reliability_slurm"],
    package_dir={"": "src", "distortion_reliability.conf": "conf"},
    package_data={"distortion_reliability.conf": ["*.yaml", "**/*.yaml"],
                  "distortion_reliability": ["reporting/*.csv"]},  # the paper's Tables 3-4
)

"""The order a sweep launches its jobs in: different training sets first, so parallel workers never queue
on one training set while another could be computed.

A job's expensive shared input is its training set R = {c_t, f(c_t)}, cached per (oracle, sampler
settings minus budget, seed, h) (``stages.SamplingStage.key``). Two workers that start on jobs with
the same R serialise on its file lock: one samples, the other waits. Launchers hand jobs out in list
order to whichever worker is free, so the list is interleaved round-robin over the distinct R: the
first jobs all need different training sets, and the second job of an R comes only after every R has
been started, i.e. when the earliest-started R is the most likely to be in the cache already.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any, Callable, Hashable, Sequence, TypeVar

from omegaconf import DictConfig, OmegaConf

T = TypeVar("T")

#: What determines the oracle f (dataset, model, distortions, precision, D) and so, with the sampler's
#: path settings, the seed and h, the training set. Config-level: equal keys mean the same R; keys
#: that differ only in a setting R does not depend on merely cost a little parallelism.
ORACLE_KEYS = ("dataset", "model", "distortion", "oracle", "data_seed", "model_seed")
#: Sampler settings that do not change its path (``pipeline._sampler_spec`` leaves the same out).
SAMPLER_PATH_FREE = ("budget", "progress", "name")


def training_set_key(cfg: DictConfig) -> str:
    """A short hash of what the job's training set R depends on (``cfg``: the job's config, resolved)."""
    data = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(data, dict)
    sampler = {k: v for k, v in (data.get("sampler") or {}).items() if k not in SAMPLER_PATH_FREE}
    key = {**{k: data.get(k) for k in ORACLE_KEYS}, "sampler": sampler, "seed": data.get("seed"), "h": data.get("h")}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def interleave(items: Sequence[T], key: Callable[[T], Hashable]) -> list[T]:
    """Round-robin over the distinct keys, each key's items in their given order.

    ``[a1, a2, a3, b1, b2, c1]`` (by letter) -> ``[a1, b1, c1, a2, b2, a3]``: keys in order of first
    appearance, so a list whose consecutive items already differ stays as it is.
    """
    groups: OrderedDict[Hashable, list[T]] = OrderedDict()
    for item in items:
        groups.setdefault(key(item), []).append(item)
    queues = [list(reversed(group)) for group in groups.values()]
    out: list[T] = []
    while queues:
        out.extend(queue.pop() for queue in queues)
        queues = [queue for queue in queues if queue]
    return out


def launch_order(configs: Sequence[Any]) -> list[int]:
    """The indices of ``configs`` (job configs) in launch order: training sets interleaved."""
    keys = [training_set_key(cfg) for cfg in configs]
    return interleave(range(len(configs)), key=keys.__getitem__)

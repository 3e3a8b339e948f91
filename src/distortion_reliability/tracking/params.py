"""The job config as MLflow params, and the config identity that tells a finished job from a new one."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from typing import Any, Iterable, Mapping

from omegaconf import DictConfig, OmegaConf

#: MLflow limits (mlflow.utils.validation): param value length, tag value length, key length.
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_KEY = 250
_BAD_KEY_CHARS = re.compile(r"[^\w\-. /]")

#: Keys that do not change a job's result: left out of the identity (``tracking.identity_ignore``).
DEFAULT_IDENTITY_IGNORE = ("progress", "*.progress", "threads", "rerun", "tracking", "study",
                           "data_dir", "cache_dir", "device")
#: Settings added after runs were stored, left out of the identity at the value every earlier run had
#: (so a rerun still finds those runs ``already done``); any other value is part of it.
IDENTITY_NEUTRAL = {"model.train.threads": 1}


def to_container(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved job config as plain Python, without Hydra's own node."""
    if isinstance(cfg, DictConfig):
        data = OmegaConf.to_container(cfg, resolve=True)
    else:
        data = dict(cfg)
    data.pop("hydra", None)
    return data


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"sampler": {"budget": 600}}`` -> ``{"sampler.budget": 600}``; lists stay values; empty maps stay ``{}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def param_value(value: Any) -> str:
    """One param as MLflow stores it: strings and numbers as written, the rest as JSON; truncated."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return truncate(text, MAX_PARAM_VALUE)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_key(key: str) -> str:
    """A key MLflow accepts (alphanumerics, _ - . space /), at most 250 characters."""
    return _BAD_KEY_CHARS.sub("_", key)[:MAX_KEY]


def job_params(cfg: DictConfig | Mapping[str, Any]) -> dict[str, str]:
    """The flattened resolved job config: ``{"sampler.budget": "600", "imbalance.v": "0.005", ...}``."""
    return {safe_key(k): param_value(v) for k, v in flatten(to_container(cfg)).items()}


def is_ignored(key: str, patterns: Iterable[str]) -> bool:
    return any(key == p or key.startswith(p + ".") or fnmatch.fnmatchcase(key, p) for p in patterns)


def config_identity(cfg: DictConfig | Mapping[str, Any], ignore: Iterable[str] = DEFAULT_IDENTITY_IGNORE) -> str:
    """A 16-hex-digit hash of the resolved config minus the keys that do not change the result.

    Two jobs with the same identity compute the same thing, so a FINISHED run with it is reused
    (``already done``) unless ``rerun=true``.
    """
    ignore = tuple(ignore)
    flat = {k: v for k, v in flatten(to_container(cfg)).items()
            if not is_ignored(k, ignore) and not (k in IDENTITY_NEUTRAL and v == IDENTITY_NEUTRAL[k])}
    text = json.dumps(flat, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

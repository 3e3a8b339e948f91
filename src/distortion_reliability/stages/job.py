"""One job: its settings (checked once, at the door), its objects (built once, through the gateway)
and what each stage hands to the next.

Building is cheap and reads no data, so a typo in any group costs a second, before any stage runs.
Stages read their inputs from the job and write their output to it, in data-flow order:
``bundle`` (the oracle) -> ``grid`` and ``training`` -> ``fitted`` -> ``scores``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ..artifacts import ArtifactStore, probe_writable
from ..build import build
from ..config import RootSchema, validate


@dataclass
class Job:
    """Settings, built objects and stage outputs of one job (see the module docstring)."""

    cfg: DictConfig
    settings: RootSchema
    dataset: Any
    space: Any                   # DistortionSpace
    model_factory: Any           # model: auto already resolved; ``label`` is the model's option
    sampler: Any
    method: Any
    predictors: dict[str, Any]
    output_dir: Path | None = None
    # what the stages hand on
    rate: float | None = None    # T's distorted images per second here (one timed batch), for estimates
    bundle: Any = None           # stages.oracle.OracleBundle
    grid: Any = None             # stages.grid.Grid
    training: Any = None         # sampling.SampleResult
    fitted: dict[str, Any] | None = None
    scores: Any = None           # pandas.DataFrame, one row per predictor
    skipped: str | None = None
    advice: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: DictConfig, output_dir: str | Path | None = None) -> Job:
        """Validate the root keys, then build every group's object (no I/O)."""
        settings = validate(cfg)
        data_dir = Path(settings.data_dir).expanduser().resolve()
        return cls(cfg=cfg, settings=settings, dataset=build("dataset", cfg.dataset, data_dir=data_dir),
                   space=build("distortion", cfg.distortion), model_factory=build("model", cfg.model),
                   sampler=build("sampler", cfg.sampler), method=build("imbalance", cfg.imbalance),
                   predictors=build("predictors", cfg.predictors),
                   output_dir=None if output_dir is None else Path(output_dir))

    @property
    def labels(self) -> dict[str, str]:
        """The option chosen in each group, as the built objects carry it (for logs and messages)."""
        return {"dataset": self.dataset.label, "model": self.model_factory.label, "distortion": self.space.label,
                "sampler": self.sampler.label, "imbalance": self.method.label, "predictors": self.predictors.label}

    @property
    def seed(self) -> int:
        return int(self.settings.seed)

    @property
    def h(self) -> float:
        return float(self.settings.h)

    @property
    def store(self) -> ArtifactStore:
        return ArtifactStore(Path(self.settings.cache_dir) / "artifacts")

    def probe_cache(self) -> None:
        """A cache that cannot be written fails now, in one line, not after the model is trained."""
        probe_writable(Path(self.settings.cache_dir))

    def tags(self) -> dict[str, str]:
        """The run's tags, from the one place that makes them (:func:`tracking.base.job_tags`)."""
        from ..tracking.base import JobInfo, job_tags

        return job_tags(self.cfg, JobInfo.from_hydra(self.output_dir))

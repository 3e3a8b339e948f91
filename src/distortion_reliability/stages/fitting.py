"""Rebalancing R into R*, fitting the distortion-classifiers on it, and scoring them on the grid.

Neither is stored: they take seconds to minutes and every (method, predictors, seed) differs.
Rebalancing and fitting are one stage because one call does both (``ImbalanceMethod.fit_predictors``:
an ensemble method rebalances inside each fit); its ``stats_`` report their times apart.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import CannotRebalanceError
from .base import Estimate, Stage

log = logging.getLogger(__name__)


def frame(levels: np.ndarray, names, **columns):
    """Levels (natural units) as a DataFrame with one column per distortion, plus ``columns``."""
    import pandas as pd

    out = pd.DataFrame(np.asarray(levels, dtype=float), columns=list(names))
    for name, values in columns.items():
        out[name] = np.asarray(values)
    return out


class FittingStage(Stage):
    name = "rebalancing and fitting"

    def estimate(self) -> Estimate:
        return Estimate(None, f"rebalancing ({self.job.method.label}) and {len(self.job.predictors)} predictors: "
                              "seconds to a few minutes (ctgan/tvae/mesa the slowest)")

    def run(self) -> None:
        job = self.job
        box, training = job.bundle.box, job.training
        try:
            job.fitted = job.method.fit_predictors(box.to_unit(training.levels), training.labels, training.values,
                                                   job.predictors, job.seed)
        except CannotRebalanceError as err:
            job.skipped = str(err)
            log.warning("imbalance: skipped: %s", err)
        for line in job.advice:
            log.warning(line)
        if job.fitted is None and job.output_dir is not None:
            job.output_dir.mkdir(parents=True, exist_ok=True)
            (job.output_dir / "skipped.txt").write_text(f"{job.skipped}\n" + "".join(f"{a}\n" for a in job.advice))
        stats = getattr(job.method, "stats_", None) or {}
        job.summary["seconds_rebalancing"] = float(stats.get("rebalance_seconds") or 0.0)
        job.summary["seconds_predictors"] = float(stats.get("predictors_seconds") or 0.0)
        for key in ("n_synthetic_proposed", "n_synthetic_kept"):
            if job.fitted is not None and stats.get(key) is not None:
                job.summary[key] = int(stats[key])


class ScoringStage(Stage):
    name = "scoring"

    def estimate(self) -> Estimate:
        return Estimate(None, f"scoring {len(self.job.predictors)} predictors on the grid: seconds")

    def run(self) -> None:
        from ..scoring import score_predictors

        job = self.job
        if job.fitted is not None:
            scores = score_predictors(job.fitted, job.bundle.box.to_unit(job.grid.levels), job.grid.labels)
            for row in scores.itertuples(index=False):
                for metric in ("f1", "precision", "recall", "balanced_accuracy"):
                    job.summary[f"{metric}_{row.predictor}"] = float(getattr(row, metric))
            job.scores = scores
            log.info("F1 on the grid:\n%s", scores.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        self._confidence()

    def _confidence(self) -> None:
        """Label states, F1 on the confidently labelled levels, calibration (read from the oracle's cached counts)."""
        from ..grid_confidence import confidence_metrics

        job = self.job
        out = None if job.output_dir is None else job.output_dir / "calibration"
        metrics, files = confidence_metrics(job.bundle.oracle, job.grid, job.h, job.fitted, job.bundle.box, out)
        job.summary.update(metrics)
        where = f"; calibration files in {out}" if files else ""
        log.info("confidence: %d grid levels within noise of h (95 %% interval)%s", metrics["grid_uncertain"], where)


def rebalanced_frames(job) -> dict:
    """R* and SMOTE-GP's proposals as DataFrames (for the run's artifacts), from the method's ``stats_``."""
    stats, box = getattr(job.method, "stats_", None) or {}, job.bundle.box
    names, out = list(box.names), {}
    if job.fitted is not None and stats.get("rebalanced_X_unit") is not None:
        mask = np.asarray(stats.get("synthetic_mask"), dtype=bool)
        out["rebalanced"] = frame(box.from_unit(np.asarray(stats["rebalanced_X_unit"])), names,
                                  label=np.asarray(stats["rebalanced_y"]).astype(int),
                                  origin=np.where(mask, "synthetic", "real"))
    if job.fitted is not None and stats.get("proposals_X_unit") is not None:
        out["proposals"] = frame(box.from_unit(np.asarray(stats["proposals_X_unit"])), names,
                                 kept=np.asarray(stats["proposals_kept"]).astype(int),
                                 variance=np.asarray(stats.get("proposals_variance")))
    return out



"""Reports from tracked runs, and reliability maps of a model.

    python -m distortion_reliability.report study=<name> dataset=<d> [from=<runs.csv>] [out=results/<d>] [uri=...]
    python -m distortion_reliability.report map [run=<run id|latest>] [resolution=15] [profile_points=61]
        [out=results/<dataset>/map] [grid=true|false] <Hydra overrides: dataset=digits model=... h=...>
    python -m distortion_reliability.report compare runs=<id>,<id> [out=results/compare] [uri=...] [points=16384]

The first reads the FINISHED runs of MLflow experiment ``<study>-<dataset>`` and writes, to
``results/<dataset>/``: ``<study>_runs.csv`` (every run's params, tags and metrics) and, from that CSV
only, the study's table (``table3`` / ``table4`` beside the paper's values, any other study as
``<study>_table``) in Markdown, CSV and LaTeX, a per-predictor breakdown, Figures 6-10 where the runs
hold their data, the list of missing cells with their overrides, and ``<study>_report.md``.
``from=<csv>`` rebuilds everything from an earlier export without the store.

``map`` builds the oracle f of the configured dataset/model/distortions (cached evaluations are
reused) and writes the reliability map (pairwise slices of C), the classifier-vs-oracle map when
``run=`` names a run with fitted predictors, and the reliability profile per distortion.

``compare`` puts two runs side by side with their GP classifiers (``predictors=with_gp``): clean
accuracy, the share of C each is reliable on with a 95 % interval, both profiles and a map of where
they disagree, in ``results/compare/<a>_vs_<b>/`` and as an MLflow run of experiment ``compare``
(:mod:`.reporting.compare`).

Bad input prints one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)
STUDY_KEYS = ("study", "dataset", "from", "out", "uri", "tsne")
MAP_KEYS = ("run", "resolution", "profile_points", "out", "grid", "uri")
COMPARE_KEYS = ("runs", "out", "uri", "points", "seed", "mlflow")


class UsageError(Exception):
    pass


def _kv(argv: Sequence[str], allowed: Sequence[str], passthrough: bool = False) -> tuple[dict[str, str], list[str]]:
    mine, rest = {}, []
    for a in argv:
        if "=" not in a:
            raise UsageError(f"unexpected argument {a!r} (arguments are key=value)")
        k, v = a.split("=", 1)
        if k in allowed:
            mine[k] = v
        elif passthrough:
            rest.append(a)
        else:
            raise UsageError(f"unknown argument {k!r} (expected {', '.join(k + '=' for k in allowed)})")
    return mine, rest


def _bool(v: str, key: str) -> bool:
    if v.lower() in ("1", "true", "yes", "on"):
        return True
    if v.lower() in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"{key}={v!r} must be true or false")


def study_main(argv: Sequence[str]) -> int:
    from .reporting.study import report_study

    args, _ = _kv(argv, STUDY_KEYS)
    for k in ("study", "dataset"):
        if not args.get(k):
            raise UsageError(f"{k}= is required (python -m distortion_reliability.report study=table3 dataset=mnist)")
    rep = report_study(args["study"], args["dataset"], out_dir=args.get("out"), from_csv=args.get("from"),
                       uri=args.get("uri"), tsne=_bool(args.get("tsne", "true"), "tsne"))
    t = rep.table
    print(f"{args['study']} on {args['dataset']}: {len(t.frame)} cells, {int((t.frame['n_seeds'] > 0).sum())} with "
          f"runs, {len(t.missing)} expected job(s) missing")
    for n in rep.notes:
        print(f"  {n}")
    print(f"wrote {len(rep.files)} files to {rep.out_dir} (index: {rep.out_dir / (args['study'] + '_report.md')})")
    return 0


def map_main(argv: Sequence[str]) -> int:
    from omegaconf import OmegaConf

    from .config import compose_config
    from .reporting.maps import write_reliability_report
    from .stages import Job, OracleStage

    args, overrides = _kv(argv, MAP_KEYS, passthrough=True)
    cfg = compose_config(overrides)
    job = Job.from_config(cfg)
    OracleStage(job).run()
    oracle, space, h = job.bundle.oracle, job.space, job.h
    dataset = str(OmegaConf.select(cfg, "dataset.name") or "dataset")
    out = Path(args.get("out") or Path("results") / dataset / "map")
    training = proposals = fitted = None
    title = f"{dataset}, h = {h:g}"
    if args.get("run"):
        training, proposals, fitted, run_id = _run_overlays(args["run"], args.get("uri"))
        title += f", run {run_id[:8]}"
    grid = None
    if _bool(args.get("grid", "true"), "grid"):
        grid = _grid(job)
    rep = write_reliability_report(oracle, space, h, out, training=training, proposals=proposals, fitted=fitted,
                                   grid=grid, resolution=int(args.get("resolution", 15)),
                                   profile_points=int(args.get("profile_points", 61)), title=title)
    print(f"reliable: {rep.summary}")
    for p in rep.files.values():
        print(f"wrote {p}")
    return 0


def compare_main(argv: Sequence[str]) -> int:
    from .reporting.compare import compare_runs

    args, _ = _kv(argv, COMPARE_KEYS)
    runs = [r for r in args.get("runs", "").split(",") if r]
    if len(runs) != 2:
        raise UsageError("runs=<id>,<id> names the two runs to compare (python -m distortion_reliability.report "
                         "compare runs=<id>,<id>)")
    try:
        points, seed = int(args.get("points", 2**14)), int(args.get("seed", 0))
    except ValueError as err:
        raise UsageError(f"points= and seed= are integers ({err})") from None
    if points < 64:
        raise UsageError(f"points={points}: at least 64 levels are needed to estimate a share of C")
    comp = compare_runs(runs, args.get("out", "results/compare"), args.get("uri"), points=points, seed=seed,
                        log_to_mlflow=_bool(args.get("mlflow", "true"), "mlflow"))
    for side, share in ((comp.a, comp.share_a), (comp.b, comp.share_b)):
        print(f"{side.label}: clean accuracy {side.clean_accuracy:.4f}, reliable on {100 * share.mean:.1f} % of C "
              f"(95 % interval {100 * share.lo:.1f}-{100 * share.hi:.1f} %)")
    d = comp.diff
    print(f"B - A: {100 * d[0]:+.1f} points of C (95 % interval {100 * d[1]:+.1f} to {100 * d[2]:+.1f})")
    print(f"wrote {comp.out_dir}/ ({', '.join(p.name for p in comp.files.values())})")
    if comp.run_id:
        print(f"mlflow run: {comp.run_id} (experiment compare)")
    return 0


def _grid(job):
    """The grid test set R' (cached by the pipeline) for the share of C reliable; None when unavailable."""
    try:
        from .stages import GridStage

        GridStage(job).run()
        return job.grid
    except Exception as err:  # noqa: BLE001 - the share is extra; the maps stand without it
        log.warning("share of C not computed (grid unavailable: %s)", err)
        return None


def _run_overlays(run: str, uri: str | None):
    """A run's training set, SMOTE-GP proposals and fitted predictors (for the map)."""
    import tempfile

    import mlflow.artifacts
    import pandas as pd

    from .predict import load_run

    loaded = load_run(run, uri)
    frames = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("training_set.csv", "smote_gp_proposals.csv"):
            try:
                p = mlflow.artifacts.download_artifacts(run_id=loaded.run_id, artifact_path=name, dst_path=tmp,
                                                        tracking_uri=uri or _default_uri())
                frames[name] = pd.read_csv(p)
            except Exception:  # noqa: BLE001 - optional overlay
                frames[name] = None
    return frames["training_set.csv"], frames["smote_gp_proposals.csv"], loaded.predictors, loaded.run_id


def _default_uri() -> str:
    from .reporting.runs import default_tracking_uri

    return default_tracking_uri()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one answer, no download bars
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("mlflow", "alembic", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from .errors import ConfigError
    from .predict import PredictError
    from .reporting.compare import CompareError
    from .reporting.runs import ReportError

    try:
        if argv[0] == "map":
            return map_main(argv[1:])
        if argv[0] == "compare":
            return compare_main(argv[1:])
        return study_main(argv)
    except (UsageError, ReportError, PredictError, CompareError, ConfigError, HydraException,
            OmegaConfBaseException) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

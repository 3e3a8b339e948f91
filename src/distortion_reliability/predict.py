"""Will my model still work under these distortions? Ask a run's fitted distortion-classifiers.

    python -m distortion_reliability.predict run=<run id|latest> levels='rotation=30,rain=0.4' [--out answers.csv]
    python -m distortion_reliability.predict run=latest levels=levels.csv [reliable_at=0.95] [unreliable_at=0.05]

``levels`` is a CSV file (one column per distortion, natural units) or ``name=value,...`` pairs, several
levels separated by ``;``. A distortion left out takes its identity level (scale 1, rotation 0, shifts
0, darkness 1, rain 0). Nothing runs the image classifier.

The answer per level comes from the run's GP classifier (:data:`~distortion_reliability.predictors.ANSWERING`,
in the default ``predictors=with_gp``): P(reliable) = P(f ≥ h), a verdict (``reliable`` at P ≥
``reliable_at``, ``unreliable`` at P ≤ ``unreliable_at``, otherwise ``uncertain``) and the GP's
estimate of f with its 95 % interval. The paper's predictors follow as secondary lines: each one's
answer (reliable / not), their majority vote and P(reliable) where a predictor has ``predict_proba``.
A run without the GP classifier (``predictors=paper``) is answered by that vote alone. The predictors
are the run's ``predictors/<name>`` ``mlflow.sklearn`` artifacts, fitted on levels scaled to the unit
cube by the run's ``space.json``.

Bad input (a level outside C, an unknown distortion, an unknown run id, no store, thresholds out of
order) prints one ``error:`` line and exits with status 2.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)
USAGE = ("usage: python -m distortion_reliability.predict run=<run id|latest> "
         "levels=<CSV file|'scale=1.1,rotation=20;rain=0.5'> [--out file.csv] [uri=<tracking uri>] "
         "[reliable_at=0.95] [unreliable_at=0.05]")
F_INTERVAL_Z = 1.959964  # the GP's 95 % interval for f: mean ± z·sd


class PredictError(Exception):
    """Bad input: printed as one ``error:`` line, exit status 2."""


@dataclass
class LoadedRun:
    """A run's distortion-classifiers and the space they were fitted in."""

    run_id: str
    space: Any  # reporting.maps.SpaceSpec
    predictors: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    experiment: str = ""


# --------------------------------------------------------------------------- loading
def _client(uri: str | None):
    from .reporting.runs import ReportError, client_for

    try:
        return client_for(uri)
    except ReportError as err:
        raise PredictError(str(err)) from None
    except Exception as err:  # noqa: BLE001 - e.g. a file that is not an SQLite database
        why = (str(err).splitlines() or [""])[0][:200]
        raise PredictError(f"uri: {uri or 'the default store'}: the MLflow store cannot be read "
                           f"({type(err).__name__}: {why})") from None


def _has_artifact(client, run_id: str, path: str) -> bool:
    try:
        return any(True for _ in client.list_artifacts(run_id, path))
    except Exception:  # noqa: BLE001
        return False


def resolve_run(client, run: str) -> str:
    """A run id as given, or ``latest``: the most recent FINISHED run that has predictors and space.json."""
    from mlflow.exceptions import MlflowException

    if run != "latest":
        try:
            return client.get_run(run).info.run_id
        except MlflowException:
            raise PredictError(f"unknown run id {run!r} in the MLflow store {client.tracking_uri}") from None
    exps = [e.experiment_id for e in client.search_experiments()]
    if exps:
        runs = client.search_runs(exps, filter_string="attributes.status = 'FINISHED'", max_results=200,
                                  order_by=["attributes.start_time DESC"])
        for r in runs:
            if _has_artifact(client, r.info.run_id, "predictors"):
                return r.info.run_id
    raise PredictError(f"no FINISHED run with fitted predictors in the MLflow store {client.tracking_uri}")


def load_run(run: str, uri: str | None = None) -> LoadedRun:
    """Load ``run``'s ``space.json`` and every ``predictors/<name>`` model (``run='latest'`` allowed)."""
    import json

    import mlflow.artifacts

    from .reporting.maps import SpaceSpec

    client = _client(uri)
    run_id = resolve_run(client, run)
    info = client.get_run(run_id)
    exp = client.get_experiment(info.info.experiment_id)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sp = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="space.json", dst_path=tmp,
                                                     tracking_uri=client.tracking_uri)
            space = SpaceSpec.from_any(json.loads(Path(sp).read_text()))
        except Exception as err:  # noqa: BLE001
            raise PredictError(f"run {run_id} has no readable space.json artifact ({type(err).__name__})") from None
        predictors: dict[str, Any] = {}
        if _has_artifact(client, run_id, "predictors"):
            local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="predictors", dst_path=tmp,
                                                             tracking_uri=client.tracking_uri))
            for sub in sorted(p for p in local.iterdir() if (p / "MLmodel").is_file()):
                predictors[sub.name] = _load_predictor(sub, f"run {run_id}: predictors/{sub.name}")
        if not predictors:  # MLflow 3 logged models of this run (log_model(name=...)) as a fallback
            predictors = _logged_models(client, info)
    if not predictors:
        raise PredictError(f"run {run_id} has no fitted predictors (artifacts predictors/<name>)")
    return LoadedRun(run_id, space, _paper_order(predictors), dict(info.data.tags), exp.name if exp else "")


def _logged_models(client, info) -> dict[str, Any]:
    try:
        import mlflow
        import mlflow.artifacts

        models = mlflow.search_logged_models(experiment_ids=[info.info.experiment_id],
                                             filter_string=f"source_run_id = '{info.info.run_id}'",
                                             output_format="list")
        out = {}
        for m in models:
            name = m.name.split("/")[-1].removeprefix("predictors_").removeprefix("predictor_")
            local = mlflow.artifacts.download_artifacts(artifact_uri=m.model_uri)
            out[name] = _load_predictor(Path(local), f"run {info.info.run_id}: logged model {m.name}")
        return out
    except PredictError:
        raise
    except Exception as err:  # noqa: BLE001
        log.debug("no logged models: %s", err)
        return {}


def _load_predictor(folder: Path, what: str) -> Any:
    """skops with the project's own allow-list, never a pickle (tracking/safe_load.py)."""
    from .tracking.safe_load import UnsafeArtifactError, load_predictor

    try:
        return load_predictor(folder, what)
    except UnsafeArtifactError as err:
        raise PredictError(str(err)) from None


def _paper_order(predictors: dict[str, Any]) -> dict[str, Any]:
    order = ("dt", "rf", "lr", "svm", "nn")
    return {k: predictors[k] for k in sorted(predictors, key=lambda n: (order.index(n) if n in order else 99, n))}


# --------------------------------------------------------------------------- levels
def parse_levels(text: str, space) -> pd.DataFrame:
    """Levels in natural units from a CSV path or ``name=value,...;name=value`` (missing names: identity)."""
    names = list(space.names)
    path = Path(text)
    if text.endswith(".csv") or path.is_file():
        if not path.is_file():
            raise PredictError(f"levels file {text} does not exist")
        try:
            given = pd.read_csv(path)
        except Exception as err:  # noqa: BLE001
            raise PredictError(f"cannot read levels file {text}: {err}") from None
        records = given.to_dict("records")
    else:
        records = []
        for k, part in enumerate(p for p in text.split(";") if p.strip()):
            rec = {}
            for item in (i for i in part.split(",") if i.strip()):
                if "=" not in item:
                    raise PredictError(f"level {k + 1}: {item.strip()!r} is not name=value")
                key, value = (s.strip() for s in item.split("=", 1))
                rec[key] = value
            records.append(rec)
    if not records:
        raise PredictError("levels is empty")
    rows = []
    for k, rec in enumerate(records):
        unknown = [c for c in rec if c not in names]
        if unknown:
            raise PredictError(f"unknown distortion {unknown[0]!r} (this run's distortions: {', '.join(names)})")
        row = []
        for j, name in enumerate(names):
            raw = rec.get(name)
            if raw is None or (isinstance(raw, float) and np.isnan(raw)):
                row.append(float(space.identity[j]))
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise PredictError(f"level {k + 1}: {name}={raw!r} is not a number") from None
            lo, hi = float(space.lower[j]), float(space.upper[j])
            tol = 1e-9 * max(1.0, abs(hi - lo))
            if not np.isfinite(value) or value < lo - tol or value > hi + tol:
                raise PredictError(f"level {k + 1}: {name}={value:g} is outside C (its domain is [{lo:g}, {hi:g}])")
            row.append(value)
        rows.append(row)
    return pd.DataFrame(rows, columns=names)


# --------------------------------------------------------------------------- answer
def predict_levels(loaded: LoadedRun, levels: pd.DataFrame, reliable_at: float = 0.95,
                   unreliable_at: float = 0.05) -> pd.DataFrame:
    """One row per level: the level; with the GP classifier ``p_reliable``, ``verdict``, ``f_estimate``,
    ``f_lower``, ``f_upper``; then ``<pred>`` (1 reliable / 0 not) and ``p_<pred>`` where available for
    every predictor, and the paper predictors' ``vote`` (1 only when more than half say reliable) and
    ``vote_share``."""
    from .confidence import verdicts
    from .predictors import ANSWERING

    unit = loaded.space.to_unit(levels[list(loaded.space.names)].to_numpy(float))
    out = levels.copy()
    answering = loaded.predictors.get(ANSWERING)
    if answering is not None:
        p = np.asarray(answering.predict_proba(unit))[:, 1]
        out["p_reliable"] = p
        out["verdict"] = verdicts(p, reliable_at, unreliable_at)
        mu, sd = answering.predict_f(unit)
        out["f_estimate"] = mu
        out["f_lower"] = np.clip(mu - F_INTERVAL_Z * sd, 0.0, 1.0)
        out["f_upper"] = np.clip(mu + F_INTERVAL_Z * sd, 0.0, 1.0)
    labels = {}
    for name, model in loaded.predictors.items():
        labels[name] = np.asarray(model.predict(unit)).astype(int).reshape(-1)
        out[name] = labels[name]
        try:
            proba = model.predict_proba(unit)
        except (AttributeError, NotImplementedError, ValueError):
            continue
        classes = list(getattr(model, "classes_", [0, 1]))
        if 1 in classes:
            out[f"p_{name}"] = np.asarray(proba)[:, classes.index(1)]
    share = np.mean(np.stack([labels[name] for name in _voters(loaded.predictors)]), axis=0)
    out["vote_share"] = share
    out["vote"] = (share > 0.5).astype(int)
    return out


def _voters(predictors) -> list[str]:
    """Who votes: the paper's five among the run's predictors (else every predictor but the answering one)."""
    from .predictors import ANSWERING
    from .scoring import mean_over

    return mean_over([p for p in predictors if p != ANSWERING] or list(predictors))


def format_answer(loaded: LoadedRun, answer: pd.DataFrame, reliable_at: float = 0.95,
                  unreliable_at: float = 0.05) -> str:
    from .predictors import ANSWERING

    names = list(loaded.space.names)
    voters = _voters(loaded.predictors)
    level = pd.DataFrame({n: answer[n].map(lambda v: f"{v:g}") for n in names}, index=answer.index)
    t = loaded.tags
    lines = [f"run {loaded.run_id} ({loaded.experiment}: dataset={t.get('dataset', '?')} model={t.get('model', '?')} "
             f"sampler={t.get('sampler', '?')} imbalance={t.get('imbalance', '?')} seed={t.get('seed', '?')} "
             f"h={t.get('h', '?')}); reliable = accuracy >= h, predicted without running the model"]
    if "p_reliable" in answer:
        shown = level.copy()
        shown["P(reliable)"] = answer["p_reliable"].map(lambda v: f"{v:.3f}")
        shown["verdict"] = answer["verdict"]
        shown["f estimate (95 %)"] = [f"{m:.3f} ({lo:.3f}–{hi:.3f})" for m, lo, hi in
                                      zip(answer["f_estimate"], answer["f_lower"], answer["f_upper"])]
        lines += [f"answer ({ANSWERING}: P(f >= h) from a GP on the sampled f; reliable at P >= {reliable_at:g}, "
                  f"unreliable at P <= {unreliable_at:g}, otherwise uncertain):", shown.to_string(index=False),
                  f"paper predictors (secondary; the vote of {', '.join(voters)}):"]
    else:
        lines.append(f"this run has no {ANSWERING} (predictors=paper): answered by the paper predictors' vote")
    shown = level.copy()
    for p in loaded.predictors:
        if p != ANSWERING:
            shown[p] = answer[p].map({1: "reliable", 0: "not"})
    shown["vote"] = [f"{'RELIABLE' if v else 'NOT reliable'} ({round(s * len(voters))} of {len(voters)})"
                     for v, s in zip(answer["vote"], answer["vote_share"])]
    for p in loaded.predictors:
        if f"p_{p}" in answer and p != ANSWERING:
            shown[f"P({p})"] = answer[f"p_{p}"].map(lambda v: f"{v:.2f}")
    lines.append(shown.to_string(index=False))
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    it = iter(argv)
    for a in it:
        if a in ("-h", "--help"):
            raise SystemExit(print(__doc__) or 0)
        if a == "--out":
            try:
                args["out"] = next(it)
            except StopIteration:
                raise PredictError("--out needs a file name") from None
            continue
        if a.startswith("--out="):
            args["out"] = a.split("=", 1)[1]
            continue
        if "=" not in a:
            raise PredictError(f"unexpected argument {a!r}; {USAGE}")
        k, v = a.split("=", 1)
        if k not in ("run", "levels", "out", "uri", "reliable_at", "unreliable_at"):
            raise PredictError(f"unknown argument {k!r}; {USAGE}")
        args[k] = v
    for k in ("run", "levels"):
        if k not in args:
            raise PredictError(f"{k}= is required; {USAGE}")
    return args


def _thresholds(args: dict[str, str]) -> tuple[float, float]:
    """``reliable_at`` and ``unreliable_at`` (defaults 0.95 and 0.05), checked before any run is loaded."""
    values = []
    for key, default in (("reliable_at", 0.95), ("unreliable_at", 0.05)):
        try:
            values.append(float(args.get(key, default)))
        except ValueError:
            raise PredictError(f"{key}={args[key]!r} is not a number") from None
    if not 0 <= values[1] < values[0] <= 1:
        raise PredictError(f"thresholds must satisfy 0 <= unreliable_at < reliable_at <= 1 (got reliable_at="
                           f"{values[0]:g}, unreliable_at={values[1]:g})")
    return values[0], values[1]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one answer, no download bars
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        args = parse_args(argv)
        reliable_at, unreliable_at = _thresholds(args)
        loaded = load_run(args["run"], args.get("uri"))
        levels = parse_levels(args["levels"], loaded.space)
        answer = predict_levels(loaded, levels, reliable_at, unreliable_at)
    except PredictError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(format_answer(loaded, answer, reliable_at, unreliable_at))
    if args.get("out"):
        out = Path(args["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        answer.insert(0, "run_id", loaded.run_id)
        answer.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

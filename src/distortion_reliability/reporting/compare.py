"""Two runs side by side: is model B reliable over more of C than model A, and how sure are we?

    python -m distortion_reliability.report compare runs=<id>,<id> [out=results/compare] [uri=...] [points=16384]

Each run answers with its GP classifier (``predictors=with_gp``: P(f(c) ≥ h) from a GP on the sampled
f values), so nothing runs the image classifiers again:

* **share of C reliable** — E[share] = mean of P(reliable) over ``points`` scrambled-Sobol levels of
  the unit cube (Owen-scrambled, so the mean is an unbiased estimate of the integral over C). Its 95 %
  interval combines the two uncertainties: the GP's, from ``draws`` joint posterior draws of f on the
  first ``joint`` of those levels (each draw's share of levels with f ≥ h, centred on its mean), and
  the integration error of the mean (its standard error over 8 independent scrambles times a
  Student t with 7 degrees of freedom), added to the draws. The difference B − A takes the draws of both runs (their GPs are
  independent), so its interval is the 2.5–97.5 % quantiles of the differences.
* **profiles** — P(reliable) along each distortion's domain, the others at identity, for both runs,
  and where it is ≥ 0.5 in natural units (beside each run's oracle profile when the run logged one).
* **disagreement map** — on every 2-D slice (others at identity), where both, only A, only B or
  neither say reliable (P ≥ 0.5).

Written to ``<out>/<a>_vs_<b>/`` (``<model>-<run id[:8]>``) and logged as one MLflow run of experiment
``compare`` (tags ``run_a``, ``run_b``; metrics ``share_a``, ``share_b``, ``share_diff`` and its ends).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .maps import SpaceSpec, slice_levels
from .profile import describe_intervals, reliable_intervals

log = logging.getLogger(__name__)

GP_NAMES = ("gp", "gp_classifier")
SCRAMBLES = 8
DISAGREE = (  # value, label, colour
    (0, "neither reliable", "#eeeeee"),
    (1, "only A reliable", "#ff7f0e"),
    (2, "only B reliable", "#1f77b4"),
    (3, "both reliable", "#2ca02c"),
)


class CompareError(Exception):
    """Bad input (a run without a GP classifier, different spaces): one ``error:`` line."""


@dataclass
class Side:
    """One run of a comparison: its GP classifier, space and facts."""

    run_id: str
    model: Any  # a fitted classifier with predict_proba on the unit cube (GPThresholdClassifier)
    space: SpaceSpec
    label: str
    clean_accuracy: float = float("nan")
    h: float = float("nan")
    oracle_profile: pd.DataFrame | None = None
    tags: dict = field(default_factory=dict)
    evidence: str = ""  # what the GP learned from: N, sampled levels, positives


@dataclass
class Share:
    """The share of C a run is reliable on: E[share], its 95 % interval and the centred posterior draws."""

    mean: float
    lo: float
    hi: float
    draws: np.ndarray  # E[share] + GP draw deviation + integration error, one per draw


def qmc_levels(d: int, points: int, seed: int = 0) -> np.ndarray:
    """``points`` (rounded up to 8 · 2^k) scrambled-Sobol levels of [0, 1]^d: 8 independent scrambles."""
    from scipy.stats import qmc

    m = max(1, int(np.ceil(np.log2(max(points, SCRAMBLES) / SCRAMBLES))))
    return np.stack([qmc.Sobol(d, scramble=True, seed=seed + r).random_base2(m) for r in range(SCRAMBLES)])


def reliable_share(model: Any, d: int, points: int = 2**14, joint: int = 1024, draws: int = 512,
                   seed: int = 0) -> Share:
    """E[share of C with f ≥ h] under the GP and its 95 % interval (module docstring)."""
    sets = qmc_levels(d, points, seed)  # (8, n, d)
    p = np.stack([model.predict_proba(s)[:, 1] for s in sets])
    means = p.mean(axis=1)
    mean, se = float(means.mean()), float(means.std(ddof=1) / np.sqrt(SCRAMBLES))
    rng = np.random.default_rng(seed)
    gp_dev = _posterior_share_draws(model, sets[0][:joint], draws, rng)
    # the mean's integration error: se times Student's t with 7 degrees of freedom (8 scrambles)
    total = mean + (gp_dev - gp_dev.mean()) + se * rng.standard_t(SCRAMBLES - 1, draws)
    lo, hi = np.quantile(total, [0.025, 0.975])
    return Share(mean, float(min(lo, mean)), float(max(hi, mean)), total)


def _posterior_share_draws(model: Any, unit: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Share of ``unit`` with f ≥ threshold in each joint posterior draw of f (a GP classifier's GP)."""
    gp, threshold = getattr(model, "gp_", None), getattr(model, "threshold_", None)
    if gp is None or threshold is None:  # no joint posterior: the points' independent Bernoulli draws
        p = model.predict_proba(unit)[:, 1]
        return (rng.random((draws, len(p))) < p).mean(axis=1)
    mu, cov = joint_posterior(gp, unit)
    jitter = 1e-9 * max(1e-12, float(np.mean(np.diag(cov))))
    vals, vecs = np.linalg.eigh(cov + jitter * np.eye(len(mu)))  # robust to a numerically singular cov
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    f = mu + rng.standard_normal((draws, len(mu))) @ root.T
    return (f >= threshold).mean(axis=1)


def joint_posterior(gp: Any, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (m,) and covariance (m, m) of f at ``unit`` jointly under a :class:`..gp.GP` posterior:
    ``mean + K*^T alpha`` and ``K** - V^T V`` with ``V = L^-1 K*`` (gp.py gives the marginals only)."""
    import torch

    from ..gp import kernel_matrix

    X = torch.as_tensor(np.asarray(unit, float), dtype=gp.X.dtype)
    ls = torch.as_tensor(gp.params.lengthscale, dtype=gp.X.dtype)

    def k(A, B):
        return gp.params.outputscale * kernel_matrix(A, B, ls, gp.params.kernel)

    with torch.no_grad():
        Ks = k(X, gp.X)
        V = torch.linalg.solve_triangular(gp.L, Ks.T, upper=False)
        mean = gp.params.mean + Ks @ gp.alpha
        cov = k(X, X) - V.T @ V
    return (gp.y_mean + gp.y_std * mean).numpy(), (gp.y_std**2 * cov).numpy()


def difference(a: Share, b: Share) -> tuple[float, float, float]:
    """B − A: the difference of the means and the 2.5–97.5 % quantiles of the draws' differences."""
    diff = b.draws - a.draws
    lo, hi = np.quantile(diff, [0.025, 0.975])
    mean = b.mean - a.mean
    return mean, float(min(lo, mean)), float(max(hi, mean))


# --------------------------------------------------------------------------- loading runs
def load_side(run: str, uri: str | None = None) -> Side:
    """A run's GP classifier, space, clean accuracy, h and (when logged) its oracle profile."""
    from ..predict import load_run

    loaded = load_run(run, uri)
    gp = next((loaded.predictors[n] for n in GP_NAMES if n in loaded.predictors), None)
    if gp is None:
        raise CompareError(f"run {loaded.run_id} has no GP classifier (predictors {', '.join(loaded.predictors)}); "
                           "run the job with predictors=with_gp")
    client = _client(uri)
    data = client.get_run(loaded.run_id).data
    tags = dict(data.tags)
    label = f"{tags.get('model', 'model')}-{loaded.run_id[:8]}"
    h = float(data.params.get("h", tags.get("h", "nan")))
    evidence = (f"N = {data.params.get('dataset.verification_size', '?')}, "
                f"{data.params.get('sampler.name', '?')} sampler {_int(data.metrics.get('n_sampled'))} levels, "
                f"{_int(data.metrics.get('n_positive_sampled'))} with f ≥ h")
    return Side(loaded.run_id, gp, loaded.space, label, float(data.metrics.get("clean_accuracy", np.nan)), h,
                _oracle_profile(client, loaded.run_id), tags, evidence)


def _int(value: Any) -> str:
    return "?" if value is None else f"{int(value):,}"


def _client(uri: str | None):
    from .runs import client_for

    return client_for(uri)


def _oracle_profile(client, run_id: str) -> pd.DataFrame | None:
    import mlflow.artifacts

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="reliability/reliability_profile.csv",
                                                       dst_path=tmp, tracking_uri=client.tracking_uri)
            return pd.read_csv(path)
        except Exception:  # noqa: BLE001 - sweeps and report=false runs have none
            return None


# --------------------------------------------------------------------------- the comparison
@dataclass
class Comparison:
    a: Side
    b: Side
    share_a: Share
    share_b: Share
    diff: tuple[float, float, float]
    out_dir: Path
    files: dict[str, Path]
    run_id: str | None = None


def compare_sides(a: Side, b: Side, out_root: str | Path = "results/compare", points: int = 2**14,
                  seed: int = 0, resolution: int = 41, profile_points: int = 121) -> Comparison:
    """Shares, profiles and disagreement map of two runs, written to ``<out_root>/<a>_vs_<b>/``."""
    spec = a.space
    if (a.space.names != b.space.names or not np.allclose(a.space.lower, b.space.lower)
            or not np.allclose(a.space.upper, b.space.upper)):
        raise CompareError(f"the runs' distortion spaces differ ({a.space.names} vs {b.space.names}, or their "
                           "domains): a share of C compares only on the same C")
    out = Path(out_root) / f"{a.label}_vs_{b.label}"
    out.mkdir(parents=True, exist_ok=True)
    share_a = reliable_share(a.model, spec.d, points, seed=seed)
    share_b = reliable_share(b.model, spec.d, points, seed=seed + 1000)
    diff = difference(share_a, share_b)
    files: dict[str, Path] = {}
    rows = [_side_row("A", a, share_a), _side_row("B", b, share_b),
            {"run": "B - A", "share_reliable": diff[0], "share_lo": diff[1], "share_hi": diff[2],
             "clean_accuracy": b.clean_accuracy - a.clean_accuracy}]
    pd.DataFrame(rows).to_csv(out / "compare.csv", index=False)
    files["compare_csv"] = out / "compare.csv"
    profiles = _profiles(a, b, spec, profile_points)
    profiles.to_csv(out / "profiles.csv", index=False)
    files["profiles_csv"] = out / "profiles.csv"
    from .compare_figures import draw_disagreement, draw_profiles

    files["profiles_png"] = draw_profiles(spec, profiles, a.label, b.label, out / "profiles.png")
    slices = {}
    for i in range(spec.d):
        for j in range(i + 1, spec.d):
            xs, ys, lv = slice_levels(spec, i, j, resolution)
            unit = spec.to_unit(lv)
            ra = a.model.predict_proba(unit)[:, 1] >= 0.5
            rb = b.model.predict_proba(unit)[:, 1] >= 0.5
            slices[(i, j)] = (xs, ys, (ra.astype(int) + 2 * rb.astype(int)).reshape(resolution, resolution))
    files["disagreement_png"] = draw_disagreement(spec, slices, a.label, b.label, out / "disagreement.png")
    files["compare_md"] = _write_markdown(out / "compare.md", a, b, share_a, share_b, diff, spec, slices, points)
    return Comparison(a, b, share_a, share_b, diff, out, files)


def _side_row(name: str, side: Side, share: Share) -> dict:
    return {"run": name, "run_id": side.run_id, "label": side.label, "dataset": side.tags.get("dataset"),
            "model": side.tags.get("model"), "h": side.h, "clean_accuracy": side.clean_accuracy,
            "share_reliable": share.mean, "share_lo": share.lo, "share_hi": share.hi}


def _profiles(a: Side, b: Side, spec: SpaceSpec, n: int) -> pd.DataFrame:
    rows = []
    for i, name in enumerate(spec.names):
        xs = np.linspace(spec.lower[i], spec.upper[i], n)
        lv = np.tile(spec.base, (n, 1))
        lv[:, i] = xs
        unit = spec.to_unit(lv)
        pa, pb = a.model.predict_proba(unit)[:, 1], b.model.predict_proba(unit)[:, 1]
        rows.append(pd.DataFrame({"distortion": name, "level": xs, "p_reliable_a": pa, "p_reliable_b": pb}))
    return pd.concat(rows, ignore_index=True)


def _describe(frame: pd.DataFrame, spec: SpaceSpec, i: int, column: str) -> str:
    part = frame[frame["distortion"] == spec.names[i]]
    iv = reliable_intervals(part["level"].to_numpy(), part[column].to_numpy(), 0.5)
    return describe_intervals(spec.names[i], iv, spec.lower[i], spec.upper[i])


def _write_markdown(path: Path, a: Side, b: Side, sa: Share, sb: Share, diff, spec: SpaceSpec, slices,
                    points: int) -> Path:
    pct = lambda v: f"{100 * v:.1f} %"  # noqa: E731
    md = [f"# {a.label} (A) vs {b.label} (B)", "",
          "| | A | B | B − A |", "|---|---|---|---|",
          f"| run | `{a.run_id}` | `{b.run_id}` | |",
          f"| dataset, h | {a.tags.get('dataset')}, {a.h:g} | {b.tags.get('dataset')}, {b.h:g} | |",
          f"| the GP learned from | {a.evidence} | {b.evidence} | |",
          f"| clean accuracy on D | {a.clean_accuracy:.4f} | {b.clean_accuracy:.4f} | "
          f"{b.clean_accuracy - a.clean_accuracy:+.4f} |",
          f"| share of C reliable (95 % interval) | {pct(sa.mean)} ({pct(sa.lo)}–{pct(sa.hi)}) | "
          f"{pct(sb.mean)} ({pct(sb.lo)}–{pct(sb.hi)}) | {100 * diff[0]:+.1f} points "
          f"({100 * diff[1]:+.1f} to {100 * diff[2]:+.1f}) |", "",
          f"Share: mean of each run's GP classifier P(reliable) over {SCRAMBLES} × {points // SCRAMBLES:,} "
          "scrambled-Sobol levels of C; interval: GP joint posterior draws of f on 1,024 of them plus the "
          "integration error between scrambles (see `reporting/compare.py`).", "",
          "## Profiles (each distortion alone, others at identity; P(reliable) ≥ 0.5)", "",
          "| distortion | A (GP) | B (GP) | A (oracle) | B (oracle) |", "|---|---|---|---|---|"]
    frame = pd.read_csv(path.parent / "profiles.csv")
    for i, name in enumerate(spec.names):
        oracle = [_oracle_description(s, name) for s in (a, b)]
        md.append(f"| {name} | {_describe(frame, spec, i, 'p_reliable_a')} | {_describe(frame, spec, i, 'p_reliable_b')}"
                  f" | {oracle[0]} | {oracle[1]} |")
    md += ["", "![profiles](profiles.png)", "", "## Where they disagree (2-D slices, others at identity)", "",
           "| slice | only A | only B | both | neither |", "|---|---|---|---|---|"]
    for (i, j), (_, _, cat) in slices.items():
        share = [float((cat == v).mean()) for v in (1, 2, 3, 0)]
        md.append(f"| {spec.names[i]} × {spec.names[j]} | " + " | ".join(pct(v) for v in share) + " |")
    md += ["", "![disagreement](disagreement.png)", ""]
    path.write_text("\n".join(md))
    return path


def _oracle_description(side: Side, name: str) -> str:
    prof = side.oracle_profile
    if prof is None or name not in set(prof["distortion"]):
        return "—"
    return str(prof.set_index("distortion").loc[name, "description"])


def log_comparison(comp: Comparison, uri: str | None = None) -> str:
    """One run of experiment ``compare`` holding the comparison's metrics and files; its id."""
    from ..tracking.store import artifact_base, get_or_create_experiment

    client = _client(uri)
    base = artifact_base(client.tracking_uri)
    exp = get_or_create_experiment(client, "compare", None if base is None else f"{base}/compare")
    run = client.create_run(exp, run_name=comp.out_dir.name,
                            tags={"run_kind": "compare", "run_a": comp.a.run_id, "run_b": comp.b.run_id,
                                  "model_a": str(comp.a.tags.get("model")), "model_b": str(comp.b.tags.get("model"))})
    metrics = {"share_a": comp.share_a.mean, "share_a_lo": comp.share_a.lo, "share_a_hi": comp.share_a.hi,
               "share_b": comp.share_b.mean, "share_b_lo": comp.share_b.lo, "share_b_hi": comp.share_b.hi,
               "share_diff": comp.diff[0], "share_diff_lo": comp.diff[1], "share_diff_hi": comp.diff[2],
               "clean_accuracy_a": comp.a.clean_accuracy, "clean_accuracy_b": comp.b.clean_accuracy}
    for key, value in metrics.items():
        if np.isfinite(value):
            client.log_metric(run.info.run_id, key, float(value))
    client.log_artifacts(run.info.run_id, str(comp.out_dir))
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def compare_runs(runs: Sequence[str], out_root: str | Path = "results/compare", uri: str | None = None,
                 points: int = 2**14, seed: int = 0, log_to_mlflow: bool = True) -> Comparison:
    """``compare runs=<a>,<b>``: load both, compare, write, log."""
    if len(runs) != 2:
        raise CompareError(f"runs= takes two run ids separated by a comma, got {len(runs)}")
    a, b = (load_side(r, uri) for r in runs)
    comp = compare_sides(a, b, out_root, points=points, seed=seed)
    if log_to_mlflow:
        comp.run_id = log_comparison(comp, uri)
    return comp

"""One self-contained ``report.html`` per job: the quality-control answer where a team looks (MLflow UI).

The page holds what a reader needs without the store or the repository: model, data, h, clean
accuracy, the settings, the reliability profile and map (PNG files embedded as base64 ``data:`` URIs,
no external resource), the F1 table, the calibration figures the job measured, and the commands that
rerun the job or ask its predictors. :func:`job_report_files` writes it beside the job's reliability
folder and returns the files a tracker logs (``reliability/*`` and ``report.html``).
"""

from __future__ import annotations

import base64
import html
import logging
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

log = logging.getLogger(__name__)

REPORT_HTML = "report.html"
RELIABILITY_DIR = "reliability"  # the pipeline draws a single job's map and profile there
#: The settings shown first (config keys); the whole resolved config follows, folded.
SETTINGS = ("dataset.name", "model.name", "dataset.verification_size", "h", "distortion.name", "sampler.name",
            "sampler.budget", "imbalance.name", "predictors.name", "seed", "grid.points_per_dim", "oracle.precision")
CSS = """body{font-family:system-ui,sans-serif;max-width:1180px;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #ddd}.answer{font-size:1.1em;background:#eef6ee;
padding:.6em 1em;border-left:4px solid #2ca02c}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
.muted{color:#666}"""


def job_report_files(result: Any, cfg: Any, output_dir: str | Path, run_id: str | None = None,
                     overrides: Sequence[str] = ()) -> list[Path]:
    """Write ``<output_dir>/report.html`` and return it with the job's reliability files (to log)."""
    out = Path(output_dir)
    folder = out / RELIABILITY_DIR
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    page = render_report(result, cfg, folder, run_id, overrides)
    (out / REPORT_HTML).write_text(page, encoding="utf-8")
    return files + [out / REPORT_HTML]


def render_report(result: Any, cfg: Any, folder: Path, run_id: str | None = None,
                  overrides: Sequence[str] = ()) -> str:
    """The page as a string. ``result``: a JobResult; ``cfg``: the job's resolved config; ``folder``:
    its reliability folder (absent in sweeps: the page then says how to draw the map)."""
    import pandas as pd

    summary = dict(getattr(result, "summary", {}) or {})
    tags = dict(getattr(result, "tags", {}) or {})
    dataset, model = tags.get("dataset") or _get(cfg, "dataset.name"), tags.get("model") or _get(cfg, "model.name")
    h = _get(cfg, "h")
    title = f"Reliability of {model} on {dataset} at h = {h}"
    body = [f"<h1>{_e(title)}</h1>", _facts_table(summary, dataset, model, h, run_id)]
    profile_csv = folder / "reliability_profile.csv"
    if profile_csv.is_file():
        profile = pd.read_csv(profile_csv)
        body.append(f'<p class="answer"><b>Reliable when each distortion acts alone:</b> '
                    f'{_e(", ".join(profile["description"].astype(str)))}.</p>')
    if getattr(result, "skipped", None):
        body.append(f"<p><b>Skipped:</b> {_e(result.skipped)}</p>")
    body.append("<h2>Reliability map</h2>")
    body += _figure(folder / "reliability_map.png", "reliability map",
                    "f on every 2-D slice of C, the other distortions at identity; white: the oracle's f = h contour.")
    if (folder / "reliability_classifier.png").is_file():  # drawn when the job fitted predictors
        body += _figure(folder / "reliability_classifier.png", "classifiers vs oracle",
                        "Where the distortion-classifiers' vote agrees with the oracle on the same slices.")
    body.append("<h2>Reliability profile</h2>")
    body += _figure(folder / "reliability_profile.png", "reliability profile",
                    "f along each distortion's domain, the others at identity; green: f ≥ h.")
    if profile_csv.is_file():
        cols = [c for c in ("distortion", "lower", "upper", "f_at_identity", "f_min", "description",
                            "share_of_domain") if c in profile.columns]
        body.append(_table(profile[cols]))
    scores = getattr(result, "scores", None)
    body.append("<h2>Distortion-classifiers on the grid test set</h2>")
    body.append(_table(scores) if scores is not None else '<p class="muted">No scores (the job was skipped).</p>')
    body += _calibration(summary, folder)
    body += _settings(cfg)
    body += _commands(cfg, run_id, overrides, dataset)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


# --------------------------------------------------------------------------- sections
def _facts_table(summary: Mapping[str, Any], dataset: Any, model: Any, h: Any, run_id: str | None) -> str:
    pos, neg = summary.get("grid_positive"), summary.get("grid_negative")
    share = f"{pos:,.0f} of {pos + neg:,.0f} grid levels ({100 * pos / (pos + neg):.1f} %)" if pos is not None \
        and neg is not None and pos + neg > 0 else "—"
    rows = [("model", model), ("data", f"{dataset}, verification set N = {_num(summary.get('n_verification'))}"),
            ("h (accuracy bar)", h), ("clean accuracy on D", _num(summary.get("clean_accuracy"))),
            ("reliable share of C (grid)", share), ("mean F1 of the predictors", _num(summary.get("f1_mean"))),
            ("MLflow run", run_id or "not tracked (tracking=none)")]
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def _calibration(summary: Mapping[str, Any], folder: Path) -> list[str]:
    """Brier scores the job logged and any calibration figure/table beside the map."""
    out = ["<h2>Calibration of P(reliable)</h2>"]
    brier = {k: v for k, v in summary.items() if k.startswith("brier_")}
    found = sorted(p for p in folder.parent.rglob("*calibration*") if p.suffix in (".png", ".csv")) \
        if folder.parent.is_dir() else []
    if brier:
        out.append("<table><tr><th>metric</th><th>value</th></tr>"
                   + "".join(f"<tr><td>{_e(k)}</td><td>{_num(v)}</td></tr>" for k, v in sorted(brier.items()))
                   + "</table>")
    for path in found:
        if path.suffix == ".png":
            out += _figure(path, path.stem, "")
        else:
            import pandas as pd

            out.append(_table(pd.read_csv(path)))
    if not brier and not found:
        out.append('<p class="muted">This job measured no calibration (no probabilistic predictor scored on the '
                   "grid).</p>")
    return out


def _settings(cfg: Any) -> list[str]:
    from omegaconf import OmegaConf

    rows = [(k, _get(cfg, k)) for k in SETTINGS if _get(cfg, k) is not None]
    whole = OmegaConf.to_yaml(cfg, resolve=False) if OmegaConf.is_config(cfg) else str(cfg)
    return ["<h2>Settings</h2>", "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
            + "</table>", f"<details><summary>the whole config</summary><pre>{_e(whole)}</pre></details>"]


def _commands(cfg: Any, run_id: str | None, overrides: Sequence[str], dataset: Any) -> list[str]:
    args = " ".join(overrides)
    lines = [f"python run.py {args}".rstrip() + "   # this job (add rerun=true to recompute it)"]
    if run_id:
        lines += [f"python -m distortion_reliability.predict run={run_id} levels='rotation=30,rain=0.4'",
                  f"python -m distortion_reliability.report map run={run_id} {args}".rstrip()]
    else:
        lines.append(f"python -m distortion_reliability.report map {args}".rstrip())
    return ["<h2>Commands</h2>", f"<pre>{_e(chr(10).join(lines))}</pre>"]


# --------------------------------------------------------------------------- helpers
def _figure(path: Path, alt: str, caption: str) -> list[str]:
    if not path.is_file():
        return [f'<p class="muted">{_e(alt)}: not drawn in this job (sweeps skip it; '
                "<code>python -m distortion_reliability.report map run=&lt;id&gt;</code> draws it).</p>"]
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return [f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"]


def _table(frame: Any) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(_num(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.4g}" if not value.is_integer() else f"{value:,.0f}"
    return str(value)


def _get(cfg: Any, key: str) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.select(cfg, key, default=None) if OmegaConf.is_config(cfg) else None
    except Exception:  # noqa: BLE001 - an unresolvable interpolation is shown as absent
        return None


def _e(value: Any) -> str:
    return html.escape(str(value))

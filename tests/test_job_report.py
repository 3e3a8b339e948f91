"""Each job's report where teams look: report.html and the map/profile as MLflow artifacts; the page in a browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from test_report_synthetic import NAMES, SPACE, sample_levels, synthetic_f
from test_tracking import client_for, fake_pipeline, small_cfg, template_db, tracker_for, work  # noqa: F401

from distortion_reliability.reporting.maps import write_reliability_report

H = 0.5
MAP_ARTIFACTS = {"reliability/reliability_map.png", "reliability/reliability_profile.png",
                 "reliability/reliability_profile.csv", "reliability/reliability_profile.md"}


def pipeline_with_map(cfg, output_dir):
    """The fake pipeline's result plus the reliability map and profile drawn where pipeline.run draws them."""
    result = fake_pipeline(cfg, output_dir)
    result.summary.update(clean_accuracy=0.9878, n_verification=899)
    training = pd.DataFrame(sample_levels(120, 0), columns=NAMES)
    training["label"] = (synthetic_f(training[NAMES].to_numpy()) >= H).astype(int)
    write_reliability_report(synthetic_f, SPACE, H, f"{output_dir}/reliability", training=training,
                             resolution=9, profile_points=31, title="synthetic")
    return result


@pytest.fixture
def logged(work):  # noqa: F811 - test_tracking's fixture
    from distortion_reliability.tracking import JobInfo

    tracker = tracker_for(work)
    info = JobInfo(output_dir=work / "out", overrides=["dataset=digits", "seed=0"])
    with tracker.job(small_cfg(), info) as job:
        job.log_result(pipeline_with_map(small_cfg(), str(info.output_dir)))
    return work, job.run_id


def test_run_artifacts_hold_the_report_map_and_profile(logged):
    import mlflow.artifacts

    work, run_id = logged
    client = client_for(work)
    names = {a.path for a in client.list_artifacts(run_id)}
    names |= {a.path for a in client.list_artifacts(run_id, "reliability")}
    assert "report.html" in names and MAP_ARTIFACTS <= names, names
    page = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="report.html", dst_path=str(work / "dl"),
                                               tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    text = open(page, encoding="utf-8").read()
    assert text.count("data:image/png;base64,") >= 2  # map and profile embedded: the page stands alone
    assert not re.search(r'src="(?!data:)', text)  # no external resource
    assert "0.9878" in text and run_id in text and "small_cnn" in text  # clean accuracy, run, model
    assert "rotation ≤ 2" in text  # the profile's answer (synthetic f: reliable for rotation up to 25°)
    assert "<td>dt</td>" in text  # the F1 table
    assert "python run.py dataset=digits seed=0" in text  # the command that reruns it


def test_report_without_map_says_how_to_draw_it(tmp_path):
    from distortion_reliability.reporting.html import job_report_files

    files = job_report_files(fake_pipeline(small_cfg(), str(tmp_path)), small_cfg(), tmp_path)
    assert [f.name for f in files] == ["report.html"]
    text = files[0].read_text(encoding="utf-8")
    assert "data:image/png" not in text and "report map run=" in text


# --------------------------------------------------------------------------- in a real browser
def _browser() -> str | None:
    return next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def _screenshot(browser: str, page, png, height: int = 2600) -> np.ndarray:
    from PIL import Image

    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size=1280,{height}", f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def _viridis_pixels(rgb: np.ndarray) -> int:
    """Pixels near viridis' dark purple, teal or yellow: only the map's heat field has them."""
    anchors = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]])
    dist = np.abs(rgb[:, :, None, :] - anchors[None, None]).sum(-1).min(-1)
    return int((dist < 40).sum())


@pytest.mark.skipif(_browser() is None, reason="no chromium on this machine (Debian: apt-get install chromium; "
                                               ".ci/run installs it when run as root)")
def test_report_renders_in_a_browser_and_shows_the_map(logged, tmp_path):
    work, _ = logged
    page = work / "out" / "report.html"
    shot = _screenshot(_browser(), page, tmp_path / "report.png")
    assert shot.shape[0] >= 2000 and shot.std() > 20  # not a blank page
    seen = _viridis_pixels(shot)
    assert seen > 20_000, seen  # the map's heat field, as drawn
    # the same page with the map's image data broken: the field is gone, so the count measures the map
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r'(alt="reliability map" src=")data:image/png;base64,[^"]+', r"\1data:,",
                             page.read_text(encoding="utf-8")), encoding="utf-8")
    assert _viridis_pixels(_screenshot(_browser(), broken, tmp_path / "broken.png")) < seen / 20
    shutil.copy(tmp_path / "report.png", work / "report_screenshot.png")

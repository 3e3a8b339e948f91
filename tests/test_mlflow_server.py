"""`make mlflow-server`: bound to 127.0.0.1 unless told otherwise, and with MLFLOW_APP=basic-auth a
real server refuses a request without (or with a wrong) password and lets a user with one log a run."""

from __future__ import annotations

import configparser
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0,
                                reason="make is not installed")


def make_dry_run(*args: str) -> str:
    out = subprocess.run(["make", "-n", "-o", "install", "mlflow-server", f"PY={sys.executable}", *args],
                         cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout + out.stderr


def test_the_server_listens_on_this_host_only_unless_told_otherwise():
    assert "--host 127.0.0.1 " in make_dry_run()
    assert "--app-name" not in make_dry_run()
    shared = make_dry_run("MLFLOW_HOST=0.0.0.0")
    assert "--host 0.0.0.0 " in shared and "warning: mlflow-server on 0.0.0.0 without MLFLOW_APP=basic-auth" in shared
    assert "--app-name basic-auth" in make_dry_run("MLFLOW_HOST=0.0.0.0", "MLFLOW_APP=basic-auth")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, seconds: float) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.5)
    pytest.fail(f"mlflow server did not answer within {seconds} s")


@pytest.mark.slow
def test_basic_auth_refuses_strangers_and_lets_a_user_log_a_run(tmp_path, monkeypatch):
    import requests
    from mlflow.tracking import MlflowClient

    pytest.importorskip("flask_wtf", reason="MLflow's basic-auth app needs Flask-WTF (requirements.lock)")
    ini = configparser.ConfigParser()
    ini.read(REPO / "conf" / "mlflow_auth.ini")  # the project's own settings, its user store moved to tmp
    assert ini["mlflow"]["default_permission"] == "READ" and "admin_password" not in ini["mlflow"]
    ini["mlflow"]["database_uri"] = f"sqlite:///{tmp_path / 'auth.db'}"
    with open(tmp_path / "auth.ini", "w") as fh:
        ini.write(fh)
    port, password = _free_port(), "s3cret-for-the-test"
    env = {**os.environ, "MLFLOW_AUTH_CONFIG_PATH": str(tmp_path / "auth.ini"),
           "MLFLOW_AUTH_ADMIN_PASSWORD": password}
    cmd = ["make", "-o", "install", "mlflow-server", f"PY={sys.executable}", f"MLFLOW_PORT={port}",
           "MLFLOW_APP=basic-auth", f"MLFLOW_STORE={tmp_path / 'mlflow.db'}",
           f"MLFLOW_ARTIFACTS={tmp_path / 'artifacts'}", "MLFLOW_SERVER_ARGS=--workers 1"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(tmp_path / "server.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url + "/health", proc, 180)
        search = url + "/api/2.0/mlflow/experiments/search?max_results=5"
        assert requests.get(search, timeout=30).status_code == 401
        assert requests.get(search, auth=("admin", "wrong"), timeout=30).status_code == 401
        assert requests.get(search, auth=("admin", password), timeout=30).status_code == 200

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        client = MlflowClient(tracking_uri=url)
        exp = client.create_experiment("shared-study")
        run = client.create_run(exp)
        client.log_metric(run.info.run_id, "f1_mean", 0.5)
        client.set_terminated(run.info.run_id)
        assert client.get_run(run.info.run_id).data.metrics == {"f1_mean": 0.5}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # make and the server it started (their own session)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

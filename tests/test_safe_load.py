"""A run's predictors are read with skops and the project's own allow-list only: the types the
project fits round-trip with the same predictions; a crafted artifact (a pickle, a skops file that
names another type) is refused with one error line and its payload never runs."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_report_synthetic import SPACE, make_client

from distortion_reliability import predict
from distortion_reliability.tracking.safe_load import UnsafeArtifactError, load_predictor, save_predictor

MARKER_ENV = "DR_TEST_PAYLOAD_MARKER"


class Payload:
    """Runs code when it is rebuilt: by unpickling (__reduce__) or by skops (__setstate__)."""

    def __init__(self):
        self.command = "anything"

    def __reduce__(self):
        return (_touch_marker, ())

    def __setstate__(self, state):
        _touch_marker()


def _touch_marker():
    Path(os.environ[MARKER_ENV]).write_text("the payload ran")
    return "owned"


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(path))
    return path


def _training_set(n=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    f = 1.0 - np.linalg.norm(X - 0.3, axis=1) / 2
    return X, (f >= 0.75).astype(int), f


def _fitted(imbalance: str, extra: list[str] = (), predictors: str = "with_gp") -> dict:
    from distortion_reliability.build import build
    from distortion_reliability.config import compose_config

    cfg = compose_config([f"imbalance={imbalance}", f"predictors={predictors}", *extra])
    X, y, f = _training_set()
    method = build("imbalance", cfg.imbalance)
    return method.fit_predictors(X, y, f=f, predictors=build("predictors", cfg.predictors), seed=0)


def _round_trip(fitted: dict, folder: Path) -> None:
    probe = np.random.default_rng(5).random((300, 6))
    for name, estimator in fitted.items():
        save_predictor(estimator, folder / name)
        loaded = load_predictor(folder / name)
        np.testing.assert_array_equal(loaded.predict(probe), estimator.predict(probe), err_msg=name)
        if hasattr(estimator, "predict_proba") and name != "svm":
            np.testing.assert_allclose(loaded.predict_proba(probe), estimator.predict_proba(probe), err_msg=name)


def test_the_five_predictors_and_the_gp_classifier_round_trip(tmp_path):
    fitted = _fitted("none")
    assert set(fitted) == {"dt", "rf", "lr", "svm", "nn", "gp_classifier"}
    _round_trip(fitted, tmp_path)


def test_pipelines_and_scalers_round_trip(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler
    from sklearn.svm import SVC

    X, y, _ = _training_set()
    _round_trip({"svm": make_pipeline(StandardScaler(), MinMaxScaler(), SVC()).fit(X, y)}, tmp_path)


@pytest.mark.slow
def test_the_spe_and_mesa_ensembles_round_trip(tmp_path):
    """Each imbalance method's ensembles (MESA drops its meta-sampler policy, which predict never uses)."""
    _round_trip(_fitted("spe", ["imbalance.ensemble.n_estimators=3"]), tmp_path / "spe")
    mesa = _fitted("mesa", ["imbalance.ensemble.n_estimators=2", "imbalance.ensemble.meta_episodes=2",
                            "~predictors.rf", "~predictors.svm", "~predictors.lr"], predictors="paper")
    _round_trip(mesa, tmp_path / "mesa")


def _write_mlmodel(folder: Path, fmt: str, model_file: str, trusted: list[str] | None = None) -> None:
    flavor = {"pickled_model": model_file, "serialization_format": fmt, "sklearn_version": "1.6.0"}
    if trusted is not None:
        flavor["skops_trusted_types"] = trusted  # what the artifact says to trust: must be ignored
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": flavor}}))


def craft(kind: str, folder: Path) -> Path:
    """A model folder an attacker could log to a shared store."""
    import skops.io

    if kind == "cloudpickle":
        _write_mlmodel(folder, "cloudpickle", "model.pkl")
        (folder / "model.pkl").write_bytes(pickle.dumps(Payload()))
    elif kind == "pickle_named_skops":
        _write_mlmodel(folder, "skops", "model.skops")
        (folder / "model.skops").write_bytes(pickle.dumps(Payload()))
    elif kind == "extra_type":
        blob = skops.io.dumps({"model": Payload()})
        trusted = skops.io.get_untrusted_types(data=blob)
        assert any(t.endswith("Payload") for t in trusted)
        _write_mlmodel(folder, "skops", "model.skops", trusted=trusted)
        (folder / "model.skops").write_bytes(blob)
    elif kind == "outside_folder":
        _write_mlmodel(folder, "skops", "../../etc/passwd")
    return folder


KINDS = {"cloudpickle": "stored as cloudpickle", "pickle_named_skops": "is not a skops file",
         "extra_type": "names type", "outside_folder": "is not in the folder"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_crafted_model_is_refused_and_its_payload_never_runs(kind, tmp_path, marker):
    folder = craft(kind, tmp_path / "predictors" / "rf")
    with pytest.raises(UnsafeArtifactError, match=KINDS[kind]):
        load_predictor(folder, "predictors/rf")
    assert not marker.exists()


def test_the_old_loader_would_have_run_the_payload(tmp_path, marker):
    """The check above can fail: MLflow's own loader trusts the artifact's list and runs the payload."""
    import mlflow.sklearn

    folder = craft("extra_type", tmp_path / "rf")
    try:
        mlflow.sklearn.load_model(str(folder))
    except Exception:  # noqa: BLE001 - the payload's object is no estimator; it ran all the same
        pass
    assert marker.exists()


def _crafted_run(root: Path, kind: str) -> tuple[str, str]:
    client, art = make_client(root)
    exp = client.create_experiment("shared", artifact_location=(art / "shared").as_uri())
    rid = client.create_run(exp).info.run_id
    (root / "space.json").write_text(json.dumps(SPACE))
    client.log_artifact(rid, str(root / "space.json"))
    folder = craft(kind, root / "models" / "rf")
    client.log_artifacts(rid, str(folder), "predictors/rf")
    client.set_terminated(rid, "FINISHED")
    return f"sqlite:///{root / 'mlflow.db'}", rid


@pytest.mark.parametrize("kind", ["cloudpickle", "extra_type"])
def test_predict_refuses_a_crafted_run_with_one_error_line(kind, tmp_path, marker, capsys):
    uri, rid = _crafted_run(tmp_path, kind)
    capsys.readouterr()  # the store's creation messages
    rc = predict.main([f"run={rid}", "levels=rotation=10", f"uri={uri}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith(f"error: run {rid}: predictors/rf") and "refused" in err[0]
    assert not marker.exists()


def test_predict_on_a_store_that_is_not_a_database_is_one_error_line(tmp_path, capsys):
    store = tmp_path / "mlflow.db"
    store.write_text("garbage, not an SQLite file")
    rc = predict.main(["run=latest", "levels=rotation=10", f"uri=sqlite:///{store}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith(f"error: uri: sqlite:///{store}: the MLflow store cannot be read (")

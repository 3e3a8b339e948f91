"""A run's fitted predictors, written and read without anything that can run code.

A shared MLflow server is where untrusted artifacts come from, so ``predict`` and the reports read
``predictors/<name>/`` only as skops files, and trust only the types listed here — the ones this
project itself fits — never a list stored in the artifact (``MLmodel``'s ``skops_trusted_types``
is ignored). A model stored as a pickle (cloudpickle, joblib) is refused without being opened.

    save_predictor(estimator, folder)   # mlflow.sklearn layout, skops format; UnsafeArtifactError if it cannot
    load_predictor(folder)              # the estimator, or UnsafeArtifactError (one line: what and why)

skops cannot write torch tensors: the GP classifier's GP is saved as :class:`PortableGP` (tensors as
numpy arrays, rebuilt on load) and training-only torch modules (MESA's meta-sampler policy) are
dropped; such a copy is written only when it predicts exactly what the fitted estimator predicts.
"""

from __future__ import annotations

import copy
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import DistortionReliabilityError
from ..gp import GP

log = logging.getLogger(__name__)

# Types beyond skops' defaults (numpy, scikit-learn estimators, Pipeline, scalers) that the project's
# predictors hold: the five paper predictors, the GP classifier, and the spe / mesa ensembles of each.
TRUSTED_TYPES = frozenset({
    "sklearn.tree._tree.Tree",                                                  # dt, rf
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",              # nn
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",               # nn (solver=sgd)
    "sklearn.metrics._classification.accuracy_score",                           # spe's eval metrics
    "sklearn.metrics._classification.balanced_accuracy_score",
    "sklearn.metrics._classification.f1_score",
    "imbalanced_ensemble.ensemble.under_sampling.self_paced_ensemble.SelfPacedEnsembleClassifier",
    "imbalanced_ensemble.sampler.under_sampling._prototype_selection._self_paced_under_sampler."
    "SelfPacedUnderSampler",
    "imbalanced_ensemble.utils._validation_param._uniform_schedule",
    "distortion_reliability.imbalance.mesa.classifier.MESAClassifier",
    "distortion_reliability.predictors.GPThresholdClassifier",
    "distortion_reliability.tracking.safe_load.PortableGP",
    "distortion_reliability.gp.GPParams",
})


class UnsafeArtifactError(DistortionReliabilityError):
    """A stored predictor that cannot be read without trusting it to run code (or cannot be written so)."""


class PortableGP(GP):
    """A fitted :class:`~distortion_reliability.gp.GP` that skops can store: tensors leave as numpy
    arrays and come back as CPU tensors of the same dtype (predictions are unchanged)."""

    def __getstate__(self) -> dict[str, Any]:
        import torch

        state = dict(self.__dict__)
        state["_tensor_keys"] = [k for k, v in state.items() if isinstance(v, torch.Tensor)]
        for key in state["_tensor_keys"]:
            state[key] = state[key].detach().cpu().numpy()
        state["device"] = "cpu"
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch

        state = dict(state)
        for key in state.pop("_tensor_keys", []):
            state[key] = torch.from_numpy(np.array(state[key]))
        state["device"] = torch.device("cpu")
        self.__dict__.update(state)


def _portable(obj: Any, changed: list[str]) -> Any:
    """A copy of ``obj`` skops can write: GPs as PortableGP, torch modules (training state) dropped."""
    import torch
    from sklearn.base import BaseEstimator

    if isinstance(obj, GP):
        out = copy.copy(obj)
        out.__class__ = PortableGP
        return out
    if isinstance(obj, torch.nn.Module):
        changed.append(type(obj).__name__)
        return None
    if isinstance(obj, (list, tuple)):
        return type(obj)(_portable(v, changed) for v in obj)
    if isinstance(obj, dict):
        return {k: _portable(v, changed) for k, v in obj.items()}
    if isinstance(obj, BaseEstimator):
        out = copy.copy(obj)
        out.__dict__ = {k: _portable(v, changed) for k, v in obj.__dict__.items()}
        return out
    return obj


def save_predictor(estimator: Any, path: Path) -> None:
    """``mlflow.sklearn.save_model`` in skops format; UnsafeArtifactError when the estimator holds a
    type outside :data:`TRUSTED_TYPES` (it could not be loaded back) or cannot be written without pickle."""
    import mlflow.sklearn
    import skops
    import skops.io
    import sklearn

    dropped: list[str] = []
    portable = _portable(estimator, dropped)
    try:
        untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(portable))
    except Exception as err:  # noqa: BLE001 - skops names what it cannot write
        raise UnsafeArtifactError(f"{type(estimator).__name__} cannot be written without pickle ({err})") from None
    extra = sorted(set(untrusted) - TRUSTED_TYPES)
    if extra:
        raise UnsafeArtifactError(f"{type(estimator).__name__} holds {extra[0]}, which is not among the types "
                                  f"predict trusts (tracking/safe_load.py TRUSTED_TYPES)")
    if dropped:
        _check_same_predictions(estimator, portable, dropped)
    reqs = [f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"]
    # MLflow's own inference of requirements would start a subprocess per model
    mlflow.sklearn.save_model(portable, str(path), serialization_format="skops", skops_trusted_types=untrusted,
                              pip_requirements=reqs)


def _check_same_predictions(estimator: Any, portable: Any, dropped: list[str]) -> None:
    import skops.io

    d = getattr(estimator, "n_features_in_", None)
    if not d:
        raise UnsafeArtifactError(f"{type(estimator).__name__}: dropping {dropped[0]} cannot be checked")
    probe = np.random.default_rng(0).random((64, int(d)))
    loaded = skops.io.loads(skops.io.dumps(portable), trusted=sorted(TRUSTED_TYPES))
    if not np.array_equal(np.asarray(loaded.predict(probe)), np.asarray(estimator.predict(probe))):
        raise UnsafeArtifactError(f"{type(estimator).__name__} predicts differently without {dropped[0]}")


def load_predictor(path: str | Path, what: str | None = None) -> Any:
    """The estimator in an ``mlflow.sklearn`` model folder, read with skops and :data:`TRUSTED_TYPES` only.

    ``what`` names the model in errors (e.g. ``run 1a2b: predictors/rf``). Nothing in the folder is
    executed or unpickled before every type it names is known to be trusted.
    """
    import skops.io

    folder = Path(path)
    what = what or str(folder)
    try:
        meta = yaml.safe_load((folder / "MLmodel").read_text()) or {}
        flavor = meta["flavors"]["sklearn"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        raise UnsafeArtifactError(f"{what}: no readable MLmodel with an sklearn flavor") from None
    fmt = str(flavor.get("serialization_format", ""))
    if fmt != "skops":
        raise UnsafeArtifactError(f"{what}: stored as {fmt or 'an unknown format'} (a pickle, which runs code when "
                                  f"loaded); refused: only skops predictors are read")
    model = (folder / str(flavor.get("pickled_model", ""))).resolve()
    if folder.resolve() not in model.parents or not model.is_file():
        raise UnsafeArtifactError(f"{what}: its model file {flavor.get('pickled_model')!r} is not in the folder")
    if not zipfile.is_zipfile(model):
        raise UnsafeArtifactError(f"{what}: {model.name} is not a skops file (a pickle?); refused")
    try:
        untrusted = skops.io.get_untrusted_types(file=model)
    except Exception as err:  # noqa: BLE001 - a damaged archive
        raise UnsafeArtifactError(f"{what}: {model.name} is not a readable skops file ({type(err).__name__})") from None
    extra = sorted(set(untrusted) - TRUSTED_TYPES)
    if extra:
        raise UnsafeArtifactError(f"{what}: refused: it names type {extra[0]!r}, which is not a predictor type this "
                                  f"project fits (tracking/safe_load.py TRUSTED_TYPES); nothing from it was loaded")
    try:
        return skops.io.load(model, trusted=sorted(untrusted))
    except Exception as err:  # noqa: BLE001
        raise UnsafeArtifactError(f"{what}: {model.name} cannot be read ({type(err).__name__}: {err})") from None

"""``spe`` / ``mesa``: ensembles are classifiers, not resamplers, so each predictor becomes their base estimator."""

from __future__ import annotations

from typing import Any

from sklearn.base import clone

from ..errors import ConfigError
from .methods import ImbalanceMethod
from .validation import _plain, _prefixed, _validate_estimator_params

__all__ = ["Ensemble"]


class Ensemble(ImbalanceMethod):
    """``spe`` / ``mesa``: every predictor becomes the base estimator of its own ensemble.

    Parameters
    ----------
    ensemble : unfitted ensemble classifier
        Built with its own settings; per predictor and run it is cloned, given the predictor as
        ``estimator_param`` and the run's seed as ``random_state``.
    estimator_param : str, default="estimator"
        The ensemble's parameter that takes the base estimator.
    name : str or None
        Label for errors; by default the ensemble's class name.
    """

    kind = "ensemble"

    def __init__(self, ensemble: Any, *, estimator_param: str = "estimator", name: str | None = None):
        if not (hasattr(ensemble, "fit") and hasattr(ensemble, "get_params")):
            raise ConfigError("imbalance.ensemble", ensemble, "must be a scikit-learn style classifier")
        if estimator_param not in ensemble.get_params(deep=False):
            raise ConfigError("imbalance.estimator_param", estimator_param,
                              f"must be a parameter of {type(ensemble).__name__}")
        self.ensemble = _plain(ensemble)
        self.estimator_param = estimator_param
        super().__init__(name)
        from sklearn.tree import DecisionTreeClassifier

        built = self.make_ensemble(DecisionTreeClassifier(), seed=0)
        _validate_estimator_params(built, "imbalance.ensemble")
        if hasattr(built, "_check_params"):  # MESA checks its settings there
            try:
                built._check_params()
            except ConfigError as error:
                raise ConfigError(_prefixed(error.field, "imbalance.ensemble"), error.value, error.expected) from None

    def _default_name(self) -> str:
        return type(self.ensemble).__name__

    def ensemble_class(self) -> type:
        return type(self.ensemble)

    def make_ensemble(self, estimator: Any, seed: int) -> Any:
        """The ensemble around ``estimator`` (an SVC gets ``probability=True``: both need predict_proba)."""
        if not hasattr(estimator, "predict_proba") and "probability" in estimator.get_params():
            estimator = estimator.set_params(probability=True)
        ensemble = clone(self.ensemble).set_params(**{self.estimator_param: estimator})
        if "random_state" in ensemble.get_params(deep=False):
            ensemble.set_params(random_state=seed)
        return ensemble

    def _fit_one(self, estimator: Any, prepared: Any, seed: int) -> Any:
        X, y = prepared
        return self.make_ensemble(estimator, seed).fit(X, y)

    def __repr__(self) -> str:
        return f"Ensemble(ensemble={self.ensemble!r})"

"""Compatibility shim that lets imbalanced-ensemble 0.2.3 import on scikit-learn >= 1.6.

imbalanced-ensemble 0.2.3 imports two names that scikit-learn removed:

- ``sklearn.utils._print_elapsed_time`` (moved to ``sklearn.utils._user_interface``);
- ``sklearn.utils.metaestimators.if_delegate_has_method`` (replaced by ``available_if``).

:func:`patch_sklearn_for_imbalanced_ensemble` puts both names back (built on their current
equivalents) before the first import. It is idempotent and never overwrites a name that exists.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["patch_sklearn_for_imbalanced_ensemble", "import_self_paced_ensemble", "self_paced_ensemble"]


def _if_delegate_has_method(delegate: str) -> Callable[[Callable[..., Any]], Any]:
    """The removed scikit-learn decorator, rebuilt on :func:`~sklearn.utils.metaestimators.available_if`.

    The decorated method exists only if ``getattr(self, delegate)`` has a method of the same name.
    """
    from sklearn.utils.metaestimators import available_if

    def decorator(method: Callable[..., Any]) -> Any:
        def delegate_has_method(self: Any) -> bool:
            # available_if treats an AttributeError as "not available", which is the old behaviour.
            getattr(getattr(self, delegate), method.__name__)
            return True

        return available_if(delegate_has_method)(method)

    return decorator


def patch_sklearn_for_imbalanced_ensemble() -> None:
    """Restore the two scikit-learn names imbalanced-ensemble 0.2.3 imports (idempotent)."""
    import sklearn.utils
    import sklearn.utils.metaestimators as metaestimators

    if not hasattr(sklearn.utils, "_print_elapsed_time"):
        from sklearn.utils._user_interface import _print_elapsed_time

        sklearn.utils._print_elapsed_time = _print_elapsed_time
    if not hasattr(metaestimators, "if_delegate_has_method"):
        metaestimators.if_delegate_has_method = _if_delegate_has_method


def import_self_paced_ensemble() -> type:
    """Return ``imbalanced_ensemble.ensemble.SelfPacedEnsembleClassifier``, patching first."""
    patch_sklearn_for_imbalanced_ensemble()
    from imbalanced_ensemble.ensemble import SelfPacedEnsembleClassifier

    return SelfPacedEnsembleClassifier


def self_paced_ensemble(**params: Any) -> Any:
    """An unfitted ``SelfPacedEnsembleClassifier(**params)``, importable as a Hydra ``_target_``.

    ``conf/imbalance/spe.yaml`` targets this factory rather than the class, because the class's
    module cannot be imported before :func:`patch_sklearn_for_imbalanced_ensemble` has run.
    """
    return import_self_paced_ensemble()(**params)

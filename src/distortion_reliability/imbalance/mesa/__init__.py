"""MESA: an ensemble whose training subsets are chosen by a meta-sampler trained with soft actor-critic.

Implemented from the paper, not from a library:

    Z. Liu, P. Wei, J. Jiang, W. Cao, J. Bian, Y. Chang, "MESA: Boost Ensemble Imbalanced
    Learning with MEta-SAmpler", NeurIPS 33 (2020), pp. 14463-14474.

The method, in the paper's terms:

* **Ensemble training environment.** Base classifiers are trained one after another. The first
  sees a random under-sample of the majority class; every later one sees all minority samples
  plus as many majority samples, drawn by the meta-sampler. The ensemble predicts the mean of
  its members' minority-class probabilities.
* **Meta-state.** The distribution of the current ensemble's error ``|y - p|`` on the majority
  samples, as a ``k_bins`` histogram over ``[0, 1]``, once on the training split and once on the
  validation split (state size ``2 * k_bins``). It describes how well the ensemble fits
  without depending on the features, so the meta-sampler is task-agnostic.
* **Meta-sampling.** The action ``mu`` in ``[0, 1]`` weights each majority sample by a Gaussian
  ``exp(-(e - mu)^2 / (2 sigma^2))`` of its error ``e`` ("hardness"); the subset is drawn without
  replacement with those weights. Small ``mu`` favours easy samples, large ``mu`` hard ones.
* **Meta-training.** The meta-sampler is a Gaussian policy trained with soft actor-critic (SAC:
  twin Q critics with target copies, entropy-regularised actor, replay buffer) over episodes;
  each episode builds a whole ensemble and the reward of a step is the gain of the ensemble's
  validation score (AUCPRC by default).

Where this implementation simplifies the paper (each to keep one ``fit`` cheap and seeded):

* The meta-sampler is meta-trained inside every ``fit``, on a stratified train/validation split
  of the data given to ``fit``, for a small budget (``meta_episodes``, ``sac_updates_per_step``)
  instead of the paper's ~1,000 updates; it is not saved or transferred between tasks.
* Meta-training uses a decision tree as base learner by default (``meta_estimator``), whatever the
  final ensemble's learner; the paper argues the meta-state is model-agnostic and shows the
  meta-sampler transfers across tasks, which is what makes this substitution sound.
* The entropy temperature ``alpha`` is fixed (the authors' default setting); no learning-rate decay
  and no hand-made prior transitions in the replay buffer.
* Histograms use the fixed range ``[0, 1]`` so that states of different ensembles are comparable.
* The final ensemble applies the policy's mean action (deterministic), and is trained on the
  training split only; the validation split only feeds its meta-state, as in the paper.
* Base learners without ``predict_proba`` (e.g. ``SVC(probability=False)``) contribute
  ``sigmoid(decision_function)``, an uncalibrated score with the same 0.5 decision boundary; those
  with neither contribute their hard 0/1 predictions.

Layout: :mod:`.env` (meta-sampling, the meta-state and the ensemble training environment),
:mod:`.sac` (the soft actor-critic meta-trainer), :mod:`.classifier` (:class:`MESAClassifier`).
"""

from .classifier import MESAClassifier
from .env import METRICS, gaussian_hardness_weights, meta_sample, meta_state

__all__ = ["MESAClassifier", "meta_sample", "meta_state", "gaussian_hardness_weights", "METRICS"]

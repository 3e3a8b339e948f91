"""Generative over-samplers: a tabular GAN, a VAE, CTGAN and TVAE (the paper's "Deep learning" rows).

Each sampler fits a generative model on the rows of every class that ``sampling_strategy`` asks to
grow (in this project: the few reliable, positive levels) and draws exactly the number of synthetic
rows needed. The output is the original data, unchanged and first, followed by the synthetic rows,
as imbalanced-learn's over-samplers do, so every sampler drops into an ``imblearn.pipeline.Pipeline``.

Synthetic rows are clipped to the per-feature range observed in the class they imitate: a distortion
level outside the span of the real positives is an extrapolation no generator here can justify, and
it keeps levels inside the search box.

``GANOverSampler`` and ``VAEOverSampler`` are small PyTorch models written here; ``CTGANOverSampler``
and ``TVAEOverSampler`` wrap the ``ctgan`` package (imported lazily: it pulls in ``rdt``, which is slow
to import). All run on the CPU and are seeded by ``random_state`` without disturbing the global
NumPy/torch random state of the caller.

Layout: :mod:`.base` (shared plumbing), :mod:`.gan`, :mod:`.vae` (the PyTorch models written here)
and :mod:`.ctgan` (CTGAN and TVAE from the ``ctgan`` package).
"""

from .base import MIN_CLASS_ROWS
from .ctgan import CTGANOverSampler, TVAEOverSampler
from .gan import GANOverSampler
from .vae import VAEOverSampler

__all__ = ["GANOverSampler", "VAEOverSampler", "CTGANOverSampler", "TVAEOverSampler", "MIN_CLASS_ROWS"]

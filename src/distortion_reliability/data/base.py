"""What every dataset shares: image containers, the :class:`Dataset` base class and its helpers.

Images are float32 tensors ``[N, C, H, W]`` in [0, 1], *not* normalised: normalisation belongs to
the model, because distortions such as darkness act on raw intensities.

A split is first opened as a :class:`SplitSource` (labels, classes and a fingerprint: cheap), and
only the images actually needed are decoded, so a 1,000-image verification set of ImageNette never
decodes the whole split.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch

from ..errors import ConfigError, DataNotFoundError
from .locate import resolve_data_dir

# --------------------------------------------------------------------------------------------- containers


@dataclass
class ImageSet:
    """Images with their labels.

    Attributes
    ----------
    images : torch.Tensor
        float32 ``[N, C, H, W]`` in [0, 1], not normalised.
    labels : torch.Tensor
        int64 ``[N]``, indices into ``classes``.
    classes : list of str
        Class names in label order.
    fingerprint : str
        Short stable hash of the exact pixel content, labels and classes (a cache key).
    spec : dict
        JSON-able description of where the images come from (dataset, split, size, seed, source
        fingerprint, loader options); empty when unknown.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    fingerprint: str
    spec: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]


@dataclass
class VerificationSet(ImageSet):
    """The verification set D: a seeded subset of a held-out split, in a stable seeded order.

    ``spec`` = ``{name, split, size, seed, source_fingerprint, options}`` keys the oracle's caches.
    """


@dataclass
class SplitSource:
    """One split, opened but not decoded: labels are known, images are decoded on demand.

    Attributes
    ----------
    dataset, split : str
        Where it comes from.
    labels : numpy.ndarray
        int64 labels of every item, in the split's canonical order.
    classes : list of str
        Class names in label order.
    fingerprint : str
        Hash of the split's identity (array content, or relative paths + sizes + labels of files).
    decode : callable
        ``decode(indices) -> uint8 array [n, H, W, C]``.
    location : str
        The folder or files it was read from (for messages).
    """

    dataset: str
    split: str
    labels: np.ndarray
    classes: list[str]
    fingerprint: str
    decode: Callable[[np.ndarray], np.ndarray]
    location: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def load(self, indices: Sequence[int] | np.ndarray | None = None) -> ImageSet:
        """Decode the items at ``indices`` (all, in order, when None) into an :class:`ImageSet`."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        pixels = self.decode(idx) if idx.size else np.zeros((0, 1, 1, 1), np.uint8)
        labels = self.labels[idx].astype(np.int64)
        fingerprint = hash_parts([pixels.shape, pixels.tobytes(), labels.tobytes(), self.classes])
        images = torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))).float().div_(255.0)
        return ImageSet(images, torch.from_numpy(labels), list(self.classes), fingerprint)


# --------------------------------------------------------------------------------------------- helpers


def hash_parts(parts: Sequence[Any]) -> str:
    """Short sha256 of a sequence of byte strings and JSON-able values."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, (bytes, bytearray, memoryview)):
            digest.update(bytes(part))
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def check_split(name: str, split: str, valid: Sequence[str]) -> str:
    if split not in valid:
        raise ConfigError(f"{name}.split", split, f"must be one of {list(valid)}")
    return split


def check_size(field_name: str, value: Any, allow_none: bool = True) -> int | None:
    """A positive integer (or None when allowed); anything else raises :class:`ConfigError`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(field_name, value, "must be a positive integer" + (" or null" if allow_none else ""))
    return int(value)


def check_seed(field_name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field_name, value, "must be an integer")
    return int(value)


def _optional_float(field_name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(field_name, value, "must be a number or null")
    return float(value)


def _check_bool(field_name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(field_name, value, "must be true or false")
    return bool(value)


def seeded_subset(n_available: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct indices of ``range(n_available)`` in a seeded random order.

    A prefix of a random permutation: a smaller set is a prefix of a larger one with the same seed,
    and classes come mixed from the first images on (the oracle may stop early).
    """
    return np.random.default_rng(int(seed)).permutation(int(n_available))[: int(size)]


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


# --------------------------------------------------------------------------------------------- Dataset


class Dataset:
    """A dataset as the pipeline sees it: its facts, its splits and the sets drawn from them.

    Built from ``conf/dataset/<name>.yaml`` by ``build("dataset", node, data_dir=...)`` (the gateway); the
    YAML holds every fact, Python none. Constructing one reads no file: files are opened by
    :meth:`verification_set`, :meth:`train_set`, :meth:`open_split` and the geometry properties
    (``channels``, ``image_size``, ``num_classes``, ``classes``), which open the held-out split.

    Subclasses set the class attributes below and implement :meth:`_open`; format options are
    constructor keywords stored on the object and listed by :attr:`options`.

    Parameters
    ----------
    data_dir : str or Path or None
        Folder holding the files (see :func:`resolve_data_dir`).
    h : float or None
        The dataset's reliability threshold (paper Table 2).
    verification_size : int or None
        Size of D; None takes the whole held-out split.
    default_model : str or None
        The ``conf/model/<name>.yaml`` that ``model=auto`` picks.
    smote_gp_v : float or None
        SMOTE-GP's variance threshold v where the paper sets one for this dataset (None: unset).
    download : bool
        Fetch absent files with torchvision's download code (never by default).
    split : str or None
        Split D is drawn from; None = :meth:`held_out_split` (``test``, or ``val``).

    Class attributes
    ----------------
    name : str
        The dataset's name (the YAML's ``name:`` label is removed before instantiation).
    splits : tuple of str
        Valid split names.
    held_out : str
        Default split of D.
    train_split : str
        Split the small CNN trains on.
    """

    name: ClassVar[str] = "dataset"
    splits: ClassVar[tuple[str, ...]] = ("train", "test")
    held_out: ClassVar[str] = "test"
    train_split: ClassVar[str] = "train"

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        h: float | None = None,
        verification_size: int | None = None,
        default_model: str | None = None,
        smote_gp_v: float | None = None,
        download: bool = False,
        split: str | None = None,
    ):
        self.data_dir = resolve_data_dir(data_dir)
        self.h = _optional_float("dataset.h", h)
        self.verification_size = check_size("dataset.verification_size", verification_size)
        self.default_model = None if default_model is None else str(default_model)
        self.smote_gp_v = _optional_float("dataset.smote_gp_v", smote_gp_v)
        self.download = _check_bool("dataset.download", download)
        if split is not None:
            check_split("dataset", split, self.splits)
        self.split = split
        self._held_out_source: SplitSource | None = None
        self._image_shape: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ for subclasses
    @property
    def options(self) -> dict[str, Any]:
        """The format options (part of every set's ``spec``, so they key caches)."""
        return {}

    def _open(self, split: str) -> SplitSource:
        """Open ``split`` (already checked against :attr:`splits`) of this dataset's files."""
        raise NotImplementedError(f"{type(self).__name__} must implement _open(split)")

    # ------------------------------------------------------------------ splits
    def held_out_split(self) -> str:
        """The split D is drawn from: ``split`` if set, else :attr:`held_out`."""
        return self.split or self.held_out

    def training_split(self) -> str:
        """The split the small CNN trains on."""
        return self.train_split

    def open_split(self, split: str) -> SplitSource:
        """Open one split without decoding its images (labels, classes, fingerprint, decoder)."""
        check_split(f"dataset.{self.name}", split, self.splits)
        if split == self.held_out_split():
            if self._held_out_source is None:
                self._held_out_source = self._open(split)
            return self._held_out_source
        return self._open(split)

    def load(self, split: str) -> ImageSet:
        """A whole split as an :class:`ImageSet`."""
        return self.open_split(split).load()

    # ------------------------------------------------------------------ the sets
    def _spec(self, source: SplitSource, size: int, seed: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "split": source.split,
            "size": int(size),
            "seed": int(seed),
            "source_fingerprint": source.fingerprint,
            "options": {k: _jsonable(v) for k, v in sorted(self.options.items())},
        }

    def verification_set(self, seed: int = 0) -> VerificationSet:
        """D: ``verification_size`` images of the held-out split, drawn and ordered by ``seed``.

        A larger D starts with the smaller one of the same seed. ``spec`` = ``{name, split, size,
        seed, source_fingerprint, options}`` (JSON) keys the oracle's caches. A size larger than
        the split raises :class:`ConfigError`.
        """
        seed = check_seed("seed", seed)
        source = self.open_split(self.held_out_split())
        available = len(source)
        size = available if self.verification_size is None else self.verification_size
        if size > available:
            raise ConfigError("dataset.verification_size", size,
                              f"must be <= {available}, the size of {self.name}/{source.split}")
        subset = source.load(seeded_subset(available, size, seed))
        return VerificationSet(subset.images, subset.labels, subset.classes, subset.fingerprint,
                               self._spec(source, size, seed))

    def _train_plan(self, max_images: int | None, seed: int) -> tuple[SplitSource, np.ndarray | None, dict]:
        """The training split, the indices to decode (None: all) and the spec, without decoding."""
        max_images = check_size("max_images", max_images)
        seed = check_seed("seed", seed)
        source = self.open_split(self.training_split())
        if max_images is None or max_images >= len(source):
            # The whole split, whatever the seed: the same images, the same spec.
            return source, None, {**self._spec(source, len(source), 0), "seed": None, "max_images": None}
        indices = np.sort(seeded_subset(len(source), max_images, seed))
        return source, indices, {**self._spec(source, max_images, seed), "max_images": max_images}

    def train_set(self, max_images: int | None = None, seed: int = 0) -> ImageSet:
        """The training split (for the small CNN): all of it, or ``max_images`` drawn by ``seed``.

        The subset keeps the split's order (sorted indices). ``spec`` adds ``max_images`` (None and
        ``seed`` None when the whole split is used).
        """
        source, indices, spec = self._train_plan(max_images, seed)
        data = source.load(indices)
        data.spec = spec
        return data

    def train_fingerprint(self, max_images: int | None = None, seed: int = 0) -> str:
        """What :meth:`train_set` would return, as a short hash, without decoding any image.

        Equal fingerprints mean the same training images (the split's content fingerprint, the
        format options and the seeded subset), so it keys caches of trained models.
        """
        return hash_parts([self._train_plan(max_images, seed)[2]])

    # ------------------------------------------------------------------ geometry (opens the held-out split)
    @property
    def classes(self) -> list[str]:
        """Class names in label order."""
        return list(self.open_split(self.held_out_split()).classes)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the images (decodes the first held-out image once)."""
        if self._image_shape is None:
            source = self.open_split(self.held_out_split())
            if len(source) == 0:
                raise DataNotFoundError(f"dataset {self.name!r}: split {source.split!r} at {source.location} is empty")
            self._image_shape = source.load([0]).shape
        return self._image_shape

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    @property
    def image_size(self) -> int:
        """Side of the (square) images; non-square images raise :class:`ConfigError`."""
        _, height, width = self.image_shape
        if height != width:
            raise ConfigError(f"{self.name} image size", (height, width),
                              "must be square for the built-in models (set the dataset's image_size to resize and crop)")
        return height

    def __repr__(self) -> str:
        facts = ", ".join(f"{k}={v!r}" for k, v in (("h", self.h), ("verification_size", self.verification_size),
                                                    ("default_model", self.default_model)))
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({facts}{opts}, data_dir={str(self.data_dir)!r})"

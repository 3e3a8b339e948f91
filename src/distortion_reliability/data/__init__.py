"""Datasets: built from ``conf/dataset/*.yaml``, loaded offline, with the verification set D.

Each ``conf/dataset/<name>.yaml`` names its class in ``_target_`` and holds every fact of the
dataset (``h``, ``verification_size``, ``default_model``, ``smote_gp_v`` where the paper sets one)
and its format options; Python holds none. The pipeline builds it with
``ds = build("dataset", cfg.dataset, data_dir="/abs/data")`` (:mod:`distortion_reliability.build`). Building reads no file; files are
read by ``ds.verification_set(seed)``, ``ds.train_set(max_images, seed)`` and the geometry
(``ds.channels``, ``ds.image_size``, ``ds.num_classes``, ``ds.classes``).

Where the files live is one setting, ``data_dir`` (explicit, else ``$DR_DATA_DIR``, else
``./data``). Present files load offline; absent ones are downloaded by torchvision's code only with
``download: true``; otherwise one :class:`~distortion_reliability.errors.DataNotFoundError` says
which dataset, where it looked and which layout it expected. A file that is there but truncated or
corrupt raises one :class:`DataFormatError` naming it.

Adding a dataset: a class with a ``name``, its ``splits`` and ``_open(split) -> SplitSource``, and
a YAML with its ``_target_``::

    # my_package/parts.py
    import numpy as np
    from distortion_reliability.data import Dataset, SplitSource, hash_parts

    class Parts(Dataset):
        name = "parts"
        def __init__(self, *, npz: str, **facts):      # format options, then the facts
            super().__init__(**facts)
            self.npz = npz
        @property
        def options(self):                              # part of D's spec (cache keys)
            return {"npz": self.npz}
        def _open(self, split):                         # split: "train" or "test"
            arrays = np.load(self.data_dir / self.npz)  # x_<split> uint8 [N, H, W, C], y_<split>
            x, y = arrays[f"x_{split}"], arrays[f"y_{split}"].astype(np.int64)
            return SplitSource(self.name, split, y, ["ok", "scratch"], hash_parts([x.tobytes(), y.tobytes()]),
                               lambda idx: x[idx], str(self.data_dir / self.npz))

    # conf/dataset/parts.yaml
    _target_: my_package.parts.Parts
    name: parts
    npz: parts.npz
    h: 0.9
    verification_size: 2000
    default_model: small_cnn

then ``python run.py dataset=parts``. A folder of images needs no code: ``dataset=image_folder
dataset.root=/path/to/images``.
"""

from .base import Dataset, ImageSet, SplitSource, VerificationSet, hash_parts
from .datasets import (
    BUILTIN_DATASETS,
    CIFAR10,
    CIFAR100,
    Digits,
    FashionMNIST,
    IdxDataset,
    ImageFolder,
    Imagenette,
    MNIST,
    TinyImageNet,
)
from .formats import IMAGE_EXTENSIONS, read_idx
from .locate import DATA_DIR_ENV, DataFormatError, download_timeout, resolve_data_dir

__all__ = [
    "BUILTIN_DATASETS",
    "CIFAR10",
    "CIFAR100",
    "DATA_DIR_ENV",
    "DataFormatError",
    "Dataset",
    "Digits",
    "FashionMNIST",
    "IMAGE_EXTENSIONS",
    "IdxDataset",
    "ImageFolder",
    "ImageSet",
    "Imagenette",
    "MNIST",
    "SplitSource",
    "TinyImageNet",
    "VerificationSet",
    "download_timeout",
    "hash_parts",
    "read_idx",
    "resolve_data_dir",
]

"""Image classifiers T: architectures, safe checkpoint loading, one builder per model kind.

Each ``conf/model/*.yaml`` names a builder of :mod:`.kinds` as its ``_target_`` (``_partial_: true``)::

    factory = build("model", cfg.model)         # distortion_reliability.build
    loaded = factory(dataset=ds, cache_dir="cache", device=torch.device("cpu"), progress=True)  # LoadedModel

The dataset object. Builders read only these attributes of ``ds``:

``name`` : str
    Label; picks small_cnn's per-dataset training defaults and keys caches.
``classes`` : list of str (or ``num_classes`` : int)
    Class names in label order (``class_map`` mappings are keyed by them); their count sizes the head.
``channels`` : int and ``image_size`` : int or (H, W)
    Geometry of the images the model will see (``[B, channels, H, W]``, float in [0, 1]).
``train_set(max_images=None, seed=0)``
    small_cnn only: an object with ``images`` (float ``[N, C, H, W]`` in [0, 1]), ``labels`` (int64
    ``[N]``) and, ideally, ``fingerprint`` (str). Optional ``train_fingerprint(max_images=, seed=)``
    -> str keys the training cache without loading the images.
"""

from __future__ import annotations

from .architectures import (
    CIFAR_RESNET_DEPTHS,
    AdaptInput,
    CifarResNet,
    Classifier,
    LeNet5,
    Normalize,
    SelectLogits,
    SmallCNN,
)
from .base import LoadedModel, clean_accuracy, module_device, predict
from .kinds import (
    Geometry,
    check_factory,
    cifar_resnet,
    custom_model,
    dataset_geometry,
    exported_model,
    lenet5,
    onnx_model,
    small_cnn,
    timm_model,
    torchscript_model,
    torchvision_model,
)
from .loading import (
    CheckpointError,
    extract_state_dict,
    file_sha256,
    load_state_into,
    load_weights,
    read_checkpoint,
    state_sha256,
)
from .training import SMALL_CNN_VERSION, cached_training, check_train_config, train_small_cnn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_model(name: str, *, dataset, data_dir=None, cache_dir="cache", device="cpu", progress=False,
               overrides=()) -> LoadedModel:
    """Build ``conf/model/<name>.yaml`` for scripts and benchmarks, composed the way the runner does.

    ``dataset`` is a dataset object or the name of a ``conf/dataset`` option (then built from its
    YAML with ``data_dir``). ``overrides`` are extra Hydra overrides (``"model.depth=32"``).
    """
    from pathlib import Path

    from ..build import build
    from ..config import compose_config, conf_dir

    ds_name = dataset if isinstance(dataset, str) else getattr(dataset, "name", None)
    args = [f"model={name}", *overrides]
    if data_dir is not None:
        args.append(f"data_dir={Path(data_dir).expanduser().resolve()}")
    if ds_name and (conf_dir() / "dataset" / f"{ds_name}.yaml").is_file():
        args.append(f"dataset={ds_name}")
    cfg = compose_config(args)
    if isinstance(dataset, str):
        dataset = build("dataset", cfg.dataset, data_dir=str(Path(cfg.data_dir).expanduser().resolve()))
    factory = build("model", cfg.model)
    return factory(dataset=dataset, cache_dir=str(cache_dir), device=device, progress=progress)

__all__ = [
    "AdaptInput", "CIFAR_RESNET_DEPTHS", "CheckpointError", "CifarResNet", "Classifier", "Geometry",
    "IMAGENET_MEAN", "IMAGENET_STD", "LeNet5", "LoadedModel", "Normalize", "SMALL_CNN_VERSION", "SelectLogits",
    "SmallCNN", "cached_training", "check_factory", "check_train_config", "cifar_resnet", "clean_accuracy",
    "custom_model", "dataset_geometry", "exported_model", "extract_state_dict", "file_sha256", "lenet5",
    "load_model", "load_state_into", "load_weights", "module_device", "onnx_model", "predict", "read_checkpoint",
    "small_cnn", "state_sha256", "timm_model", "torchscript_model", "torchvision_model", "train_small_cnn",
]

"""Image classifiers T: architectures, safe checkpoint reading, configs, the cached small CNN, real accuracies.

The model builders read only a few attributes of the dataset object (see
``distortion_reliability.models``), so these tests use a small fake dataset and never the data module.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from distortion_reliability.errors import CacheDirError, ConfigError, DataNotFoundError
from distortion_reliability.models import (
    CheckpointError,
    CifarResNet,
    LeNet5,
    clean_accuracy,
    file_sha256,
    predict,
    read_checkpoint,
    training,
)

CONF = Path(__file__).resolve().parents[1] / "conf"
MNIST_CLASSES = [str(i) for i in range(10)]


class FakeDataset:
    """The dataset attributes the model builders read, and nothing else."""

    def __init__(self, name="fake", classes=("a", "b", "c"), channels=1, image_size=8, train=None):
        self.name, self.classes, self.channels, self.image_size = name, list(classes), channels, image_size
        self._train = train
        self.train_calls = 0

    @property
    def num_classes(self):
        return len(self.classes)

    def train_set(self, max_images=None, seed=0):
        self.train_calls += 1
        images, labels = self._train
        if max_images is not None and max_images < len(labels):
            idx = np.sort(np.random.default_rng(seed).permutation(len(labels))[:max_images])
            images, labels = images[idx], labels[idx]
        return SimpleNamespace(images=images, labels=labels, fingerprint=f"fake-{len(labels)}-{seed}")


def compose_model(tmp_path: Path, option: str, *overrides: str, dataset: str = "digits", data_dir: str = "/data"):
    """``conf/model/<option>.yaml`` composed by Hydra under a minimal root config; returns the model node."""
    root = tmp_path / f"conf-{option}"
    if not root.exists():
        root.mkdir()
        (root / "model").symlink_to(CONF / "model")
        (root / "config.yaml").write_text(
            f"defaults:\n  - model: lenet5\n  - _self_\ndata_dir: {data_dir}\nmodel_seed: 0\ndataset:\n  name: {dataset}\n")
    with initialize_config_dir(config_dir=str(root), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"model={option}", *overrides])
    return cfg.model


def build_factory(node):
    """What the pipeline does: the gateway resolves, drops ``name``, instantiates and checks the settings."""
    from distortion_reliability.build import build

    return build("model", node)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits as a fake dataset: first half trains, second half tests."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images / 16.0).float().unsqueeze(1)
    labels = torch.from_numpy(bunch.target).long()
    half = len(labels) // 2
    ds = FakeDataset("digits", [str(i) for i in range(10)], 1, 8, (images[:half], labels[:half]))
    return ds, images[half:], labels[half:]


# ------------------------------------------------------------------------------------------ architectures


def test_cifar_resnets_have_the_published_sizes_and_option_a_shortcuts():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # He et al. (2016), Table 6: 0.27M / 0.46M / 0.66M / 0.85M / 1.7M. By hand for n = (depth - 2) / 6 blocks
    # per stage: stem 432 + 32, stage 1: 4,672 n, stage 2: 13,952 + 18,560 (n - 1), stage 3: 55,552 +
    # 73,984 (n - 1), linear 650 -- option A shortcuts add no parameters (a 1x1 projection would).
    by_hand = lambda n: 464 + 4672 * n + 13952 + 18560 * (n - 1) + 55552 + 73984 * (n - 1) + 650  # noqa: E731
    assert count(CifarResNet(20)) == by_hand(3) == 269_722
    assert count(CifarResNet(32)) == by_hand(5) == 464_154
    assert count(CifarResNet(44)) == by_hand(7) == 658_586
    assert count(CifarResNet(56)) == by_hand(9) == 853_018
    assert count(CifarResNet(110)) == by_hand(18) == 1_727_962
    block = CifarResNet(20).layer2[0]
    x = torch.randn(2, 16, 32, 32)
    shortcut = block.shortcut(x)
    assert shortcut.shape == (2, 32, 16, 16)
    assert torch.equal(shortcut[:, 8:24], x[:, :, ::2, ::2]) and shortcut[:, :8].abs().sum() == 0
    with pytest.raises(ConfigError, match="model.depth: 21"):
        CifarResNet(21)


def test_lenet5_matches_the_checkpoint_layout():
    shapes = {k: tuple(v.shape) for k, v in LeNet5().state_dict().items()}
    assert shapes == {"conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3),
                      "conv2.bias": (64,), "linear1.weight": (200, 3136), "linear1.bias": (200,),
                      "linear2.weight": (10, 200), "linear2.bias": (10,)}


# ------------------------------------------------------------------------------------------ safe reading


class Payload:
    """Unpickling this touches ``marker``: what a crafted checkpoint would do with os.system instead."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "payload-ran"
    state = LeNet5(image_size=8).state_dict()
    crafted = {"zip": tmp_path / "crafted.pt", "legacy": tmp_path / "crafted_legacy.pt", "pickle": tmp_path / "crafted.pkl"}
    torch.save({"state_dict": state, "extra": Payload(marker)}, crafted["zip"])
    torch.save({"state_dict": state, "extra": Payload(marker)}, crafted["legacy"], _use_new_zipfile_serialization=False)
    crafted["pickle"].write_bytes(pickle.dumps({"state_dict": state, "extra": Payload(marker)}))
    ds = FakeDataset(classes=MNIST_CLASSES)
    for kind, path in crafted.items():
        with pytest.raises(CheckpointError, match="needs full pickle loading.*convert it once") as info:
            read_checkpoint(path)
        assert not marker.exists(), kind
        assert "weights_only=False" in str(info.value) and "state_dict()" in str(info.value)
    # Through a model kind, with the config's checkpoint setting: refused too, nothing ran.
    factory = build_factory(compose_model(tmp_path, "lenet5", f"model.checkpoint={crafted['zip']}"))
    with pytest.raises(CheckpointError, match="refused"):
        factory(dataset=ds, cache_dir=str(tmp_path / "cache"))
    assert not marker.exists()
    # The payload is real: a trusting full unpickle runs it.
    pickle.loads(crafted["pickle"].read_bytes())
    assert marker.exists()


def test_text_truncated_and_foreign_files_give_one_clear_error(tmp_path):
    lfs = tmp_path / "lfs.pt"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 2594377\n")
    with pytest.raises(CheckpointError, match="is a text file.*git lfs pull"):
        read_checkpoint(lfs)
    yaml_file = tmp_path / "weights.pth"
    yaml_file.write_text("model: lenet5\nepochs: 3\n")
    with pytest.raises(CheckpointError, match="is a text file"):
        read_checkpoint(yaml_file)

    state = LeNet5(image_size=8).state_dict()
    good = tmp_path / "good.pt"
    torch.save(state, good)
    for name, legacy in (("trunc.pt", False), ("trunc_legacy.pt", True)):
        full = tmp_path / f"full_{name}"
        torch.save(state, full, _use_new_zipfile_serialization=not legacy)
        (tmp_path / name).write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            read_checkpoint(tmp_path / name)

    from safetensors.torch import save_file

    save_file(state, tmp_path / "w.safetensors")
    (tmp_path / "cut.safetensors").write_bytes((tmp_path / "w.safetensors").read_bytes()[:500])
    with pytest.raises(CheckpointError, match="safetensors.*truncated or corrupt"):
        read_checkpoint(tmp_path / "cut.safetensors")
    assert torch.equal(read_checkpoint(tmp_path / "w.safetensors")["conv1.weight"], state["conv1.weight"])

    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="is empty"):
        read_checkpoint(tmp_path / "empty.pt")
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "nope.pt")):
        read_checkpoint(tmp_path / "nope.pt")

    with pytest.warns(FutureWarning):  # torch 2.14 deprecates TorchScript
        torch.jit.script(LeNet5(image_size=8)).save(str(tmp_path / "scripted.pt"))
    with pytest.raises(CheckpointError, match="TorchScript archive.*model=torchscript"):
        read_checkpoint(tmp_path / "scripted.pt")


def test_key_and_shape_mismatches_are_listed(tmp_path):
    ds = FakeDataset(classes=MNIST_CLASSES, image_size=8)
    path = tmp_path / "lenet_28px.pt"
    torch.save(LeNet5(image_size=28).state_dict(), path)  # 8x8 images: linear1 has another shape
    factory = build_factory(compose_model(tmp_path, "lenet5", f"model.checkpoint={path}"))
    with pytest.raises(CheckpointError) as info:
        factory(dataset=ds)
    msg = str(info.value)
    assert f"checkpoint {path} does not fit model 'lenet5'" in msg
    assert "1 of another shape: linear1.weight: checkpoint (200, 3136) vs model (200, 256)" in msg
    assert "model.input_size" in msg  # the hint for a net trained at another size

    torch.save({"state_dict": CifarResNet(20).state_dict()}, path)
    with pytest.raises(CheckpointError) as info:
        factory(dataset=ds)
    msg = str(info.value)
    assert "7 missing: conv1.bias, conv2.bias, conv2.weight, linear1.bias, linear1.weight, ..." in msg
    assert "115 unexpected: bn1.bias, bn1.num_batches_tracked, bn1.running_mean, bn1.running_var, bn1.weight, ..." in msg
    assert "conv1.weight: checkpoint (16, 3, 3, 3) vs model (32, 1, 3, 3)" in msg


def test_checkpoint_wrappers_and_prefixes_are_unwrapped(tmp_path):
    torch.manual_seed(0)
    net = LeNet5(image_size=8).eval()
    ds = FakeDataset(classes=MNIST_CLASSES)
    x = torch.rand(6, 1, 8, 8)
    saved = {
        "plain.pt": net.state_dict(),
        "dp.pth": {"model_state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 3},
        "compiled.th": {"state_dict": {f"_orig_mod.{k}": v for k, v in net.state_dict().items()}, "acc": 0.5},
    }
    for name, obj in saved.items():
        torch.save(obj, tmp_path / name)
        loaded = build_factory(compose_model(tmp_path, "lenet5", f"model.checkpoint={tmp_path / name}"))(dataset=ds)
        assert torch.equal(loaded.module(x), net(x)), name
        assert loaded.name == "lenet5" and loaded.classes == MNIST_CLASSES


# ------------------------------------------------------------------------------------------ configs


MODEL_OPTIONS = sorted(p.stem for p in (CONF / "model").glob("*.yaml") if p.stem != "auto")


@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_every_model_config_composes_and_instantiates(option, tmp_path):
    from distortion_reliability import models

    node = compose_model(tmp_path, option)
    assert node.name == option
    overrides = []
    for _ in range(4):
        try:
            factory = build_factory(compose_model(tmp_path, option, *overrides))
            break
        except ConfigError as err:  # a setting the YAML leaves to the user (???): the gateway names it
            assert err.expected == "must be set", err
            overrides.append(f"{err.field}=placeholder")
    expected = {"lenet5": models.lenet5, "small_cnn": models.small_cnn, "torchvision": models.torchvision_model,
                "resnet50": models.torchvision_model, "timm": models.timm_model, "custom": models.custom_model,
                "torchscript": models.torchscript_model, "export": models.exported_model, "onnx": models.onnx_model}
    assert factory.func is expected.get(option, models.cifar_resnet)
    assert "name" not in factory.keywords


def test_presets_and_data_dir_defaults(tmp_path):
    for depth in (20, 56):
        node = compose_model(tmp_path, f"cifar_resnet{depth}", data_dir="/srv/data")
        kw = build_factory(node).keywords
        assert kw["depth"] == depth and kw["checkpoint"].startswith(f"/srv/data/weights/cifar10_resnet{depth}-")
        assert kw["mean"] == [0.485, 0.456, 0.406]
    kw = build_factory(compose_model(tmp_path, "cifar_resnet", "model.depth=44", "model.checkpoint=x.th")).keywords
    assert kw["depth"] == 44 and kw["checkpoint"] == "x.th"
    assert build_factory(compose_model(tmp_path, "lenet5", data_dir="/d")).keywords["checkpoint"] == \
        "/d/weights/mnist_lenet5_clntrained.pt"


def test_resnet50_class_map_names_the_imagenette_classes(tmp_path):
    from torchvision.models import ResNet50_Weights

    kw = build_factory(compose_model(tmp_path, "resnet50")).keywords
    assert kw["arch"] == "resnet50" and kw["weights"] == "ResNet50_Weights.IMAGENET1K_V1"
    categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    folders = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916", "n03417042",
               "n03425413", "n03445777", "n03888257"]
    assert [categories[kw["class_map"][w]] for w in folders] == [
        "tench", "English springer", "cassette player", "chain saw", "church", "French horn", "garbage truck",
        "gas pump", "golf ball", "parachute"]
    assert kw["class_map"]["n03888605"] == 701  # fastai's misspelt parachute wnid


def test_small_cnn_training_defaults_come_from_its_yaml_per_dataset(tmp_path):
    def train(dataset, *overrides):
        return dict(build_factory(compose_model(tmp_path / dataset, "small_cnn", *overrides, dataset=dataset))
                    .keywords["train"])

    (tmp_path / "digits").mkdir(), (tmp_path / "mnist").mkdir(), (tmp_path / "imagenette").mkdir()
    (tmp_path / "other").mkdir()
    assert train("digits") == {"epochs": 20, "lr": 0.003, "batch_size": 64, "weight_decay": 0.0, "max_train_images": None,
                               "threads": 1}
    assert train("mnist")["epochs"] == 3 and train("mnist")["lr"] == 0.001
    assert train("imagenette") == {"epochs": 8, "lr": 0.001, "batch_size": 64, "weight_decay": 0.0,
                                   "max_train_images": 5000, "threads": 1}
    assert train("other") == {"epochs": 10, "lr": 0.001, "batch_size": 128, "weight_decay": 0.0, "max_train_images": None,
                              "threads": 1}
    assert train("mnist", "model.train.epochs=5")["epochs"] == 5  # the command line wins


def test_unknown_or_missing_settings_fail_before_building(tmp_path):
    node = compose_model(tmp_path, "lenet5", "+model.checkpont=x.pt")
    with pytest.raises(ConfigError, match=r"model.checkpont: x.pt: is not a setting of lenet5 \(settings: "):
        build_factory(node)
    for option in ("onnx", "timm", "cifar_resnet"):  # checkpoint: ??? until the user sets it
        with pytest.raises(ConfigError, match=r"model.(checkpoint|arch): \?\?\?: must be set"):
            build_factory(compose_model(tmp_path, option))
    factory = build_factory(compose_model(tmp_path, "custom"))
    with pytest.raises(ConfigError, match="model.net._target_.*must name your nn.Module class"):
        factory(dataset=FakeDataset())
    factory = build_factory(compose_model(tmp_path, "torchvision", "model.arch=resnet181", "model.weights=DEFAULT"))
    with pytest.raises(ConfigError, match="model.arch: resnet181: is not a torchvision.models architecture.*resnet18"):
        factory(dataset=FakeDataset())


def test_load_model_composes_the_runner_config(tmp_path):
    from distortion_reliability.models import load_model

    torch.manual_seed(0)
    net = LeNet5(1, 10, 8).eval()
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    loaded = load_model("lenet5", dataset=FakeDataset(classes=MNIST_CLASSES), data_dir=tmp_path,
                        overrides=[f"model.checkpoint={tmp_path / 'weights.pt'}"])
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(loaded.module(x), net(x))
    # Without the override, the YAML's default checkpoint is <data_dir>/weights/...: named when absent.
    with pytest.raises(DataNotFoundError, match=str(tmp_path.resolve() / "weights" / "mnist_lenet5_clntrained.pt")):
        load_model("lenet5", dataset=FakeDataset(classes=MNIST_CLASSES), data_dir=tmp_path)


# ------------------------------------------------------------------------------------------ small CNN


@pytest.fixture(scope="module")
def digits_model(digits, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    conf = tmp_path_factory.mktemp("conf")
    factory = build_factory(compose_model(conf, "small_cnn", "model.train.epochs=12"))
    return factory(dataset=digits[0], cache_dir=str(cache), progress=False), factory, cache


def test_small_cnn_trains_on_digits_and_is_accurate(digits, digits_model):
    model, _, _ = digits_model
    _, images, labels = digits
    assert clean_accuracy(model, images, labels) >= 0.9
    module = model.module
    assert not module.training and all(not p.requires_grad for p in module.parameters())
    # Normalisation is inside the model: its buffers hold the training images' statistics.
    assert 0.2 < float(module.normalize.mean) < 0.4 and float(module.normalize.std) > 0.2
    assert module(images[:5]).shape == (5, 10)


def test_small_cnn_is_cached_and_not_retrained(monkeypatch, digits, digits_model, tmp_path):
    model, factory, cache = digits_model
    calls = []
    original = training.train_small_cnn
    monkeypatch.setattr(training, "train_small_cnn", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = factory(dataset=digits[0], cache_dir=str(cache), progress=False)
    assert calls == []
    assert again.fingerprint == model.fingerprint
    x = digits[1][:64]
    assert torch.equal(again.module(x), model.module(x))
    files = sorted(p.name for p in (cache / "model").iterdir())
    assert len(files) == 1 and files[0].endswith(".npz")  # one ArtifactStore entry, no temp file left behind
    # Another seed is another model: trained (once) and cached separately.
    other = build_factory(compose_model(tmp_path, "small_cnn", "model.train.epochs=1", "model.seed=1"))
    first = other(dataset=digits[0], cache_dir=str(cache), progress=False)
    assert calls == [1] and first.fingerprint != model.fingerprint
    assert other(dataset=digits[0], cache_dir=str(cache), progress=False).fingerprint == first.fingerprint
    assert calls == [1] and len(list((cache / "model").glob("*.npz"))) == 2


def test_corrupted_cached_model_is_retrained(monkeypatch, digits, tmp_path):
    factory = build_factory(compose_model(tmp_path, "small_cnn", "model.train.epochs=1"))
    first = factory(dataset=digits[0], cache_dir=str(tmp_path / "c"), progress=False)
    (path,) = (tmp_path / "c" / "model").glob("*.npz")
    path.write_bytes(path.read_bytes()[:100])
    calls = []
    original = training.train_small_cnn
    monkeypatch.setattr(training, "train_small_cnn", lambda *a, **k: calls.append(1) or original(*a, **k))
    second = factory(dataset=digits[0], cache_dir=str(tmp_path / "c"), progress=False)
    assert calls == [1]
    assert second.fingerprint == first.fingerprint  # same seed, same data: the same weights again


def test_the_small_cnn_trains_to_the_same_weights_whatever_the_callers_threads(digits, tmp_path):
    """Sums in another order train other weights, so training runs on model.train.threads (1), not the job's."""
    factory = build_factory(compose_model(tmp_path, "small_cnn", "model.train.epochs=2"))
    old, fingerprints = torch.get_num_threads(), []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            cache = str(tmp_path / f"c{threads}")
            fingerprints.append(factory(dataset=digits[0], cache_dir=cache, progress=False).fingerprint)
            assert torch.get_num_threads() == threads  # the caller's count is given back
    finally:
        torch.set_num_threads(old)
    assert fingerprints[0] == fingerprints[1]
    # Another count is another model, cached under another key; 1 keeps the key it had before the setting.
    two = build_factory(compose_model(tmp_path, "small_cnn", "model.train.epochs=2", "model.train.threads=2"))
    assert two(dataset=digits[0], cache_dir=str(tmp_path / "c1"), progress=False).fingerprint != fingerprints[0]
    assert len(list((tmp_path / "c1" / "model").glob("*.npz"))) == 2
    spec = {"epochs": 2, "lr": 0.003, "batch_size": 64, "weight_decay": 0.0, "max_train_images": None}
    assert training.check_train_config({**spec, "threads": 1}) == {**spec, "threads": 1}
    with pytest.raises(ConfigError, match=r"model.train.threads: 0: must be a positive integer"):
        training.check_train_config({**spec, "threads": 0})


def test_bad_training_settings_and_unwritable_cache_fail_before_training(monkeypatch, digits, tmp_path):
    monkeypatch.setattr(training, "train_small_cnn", lambda *a, **k: pytest.fail("trained despite bad input"))
    ds = digits[0]
    for override, match in (("model.train.lr=-0.1", r"model.train.lr: -0.1: must be a finite number > 0"),
                            ("model.train.epochs=0", r"model.train.epochs: 0: must be a positive integer"),
                            ("+model.train.epoch=3", r"model.train.epoch: 3: is not a training setting")):
        factory = build_factory(compose_model(tmp_path, "small_cnn", override))
        with pytest.raises(ConfigError, match=match):
            factory(dataset=ds, cache_dir=str(tmp_path / "cache"))
    assert not (tmp_path / "cache").exists()  # nothing written for bad input
    (tmp_path / "a_file").write_text("")
    factory = build_factory(compose_model(tmp_path, "small_cnn"))
    calls = ds.train_calls
    with pytest.raises(CacheDirError, match=r"cannot write to cache_dir .*a_file: not a directory"):
        factory(dataset=ds, cache_dir=str(tmp_path / "a_file"))
    assert ds.train_calls == calls  # not even the training images were loaded


def test_small_cnn_checkpoint_loads_without_training(digits, digits_model, tmp_path):
    model, _, _ = digits_model
    path = tmp_path / "mine.pt"
    torch.save({"state_dict": model.module.state_dict()}, path)
    factory = build_factory(compose_model(tmp_path, "small_cnn", f"model.checkpoint={path}"))
    ds = FakeDataset("digits", [str(i) for i in range(10)], 1, 8)  # no training images at all
    loaded = factory(dataset=ds, cache_dir=str(tmp_path / "c"))
    x = digits[1][:32]
    assert torch.equal(loaded.module(x), model.module(x))
    assert not (tmp_path / "c").exists()  # nothing trained


def test_small_cnn_is_sized_from_the_dataset(tmp_path):
    rng = torch.Generator().manual_seed(0)
    ds = FakeDataset("shapes", ["a", "b", "c"], 3, 16,
                     (torch.rand(24, 3, 16, 16, generator=rng), torch.arange(24) % 3))
    factory = build_factory(compose_model(tmp_path, "small_cnn", "model.train.epochs=1", dataset="image_folder"))
    model = factory(dataset=ds, cache_dir=str(tmp_path / "cache"), progress=False)
    assert model.classes == ["a", "b", "c"]
    assert model.module(torch.rand(4, 3, 16, 16)).shape == (4, 3)
    assert model.module.normalize.mean.shape == (1, 3, 1, 1)


# ------------------------------------------------------------------------------------------ helpers


def test_clean_accuracy_counts_correct_predictions():
    class Fixed(torch.nn.Module):  # predicts class 1 for every image; no parameters (like an ONNX session)
        def forward(self, x):
            return torch.tensor([0.0, 1.0]).expand(x.shape[0], 2)

    images = torch.zeros(8, 1, 2, 2)
    labels = torch.tensor([1, 1, 1, 0, 0, 1, 0, 1])
    assert clean_accuracy(Fixed(), images, labels, batch_size=3) == 5 / 8
    assert clean_accuracy(Fixed(), SimpleNamespace(images=images, labels=labels)) == 5 / 8
    assert predict(Fixed(), images[:0]).shape == (0,)
    with pytest.raises(ConfigError, match="labels"):
        clean_accuracy(Fixed(), images, labels[:4])
    with pytest.raises(ConfigError, match="batch_size"):
        clean_accuracy(Fixed(), images, labels, batch_size=0)


# ------------------------------------------------------------------------------------------ real data


def read_mnist_test(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8)
    return torch.from_numpy(images.astype(np.float32) / 255.0), torch.from_numpy(labels.astype(np.int64))


def read_cifar10_test(root: Path, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """A seeded subset of ``cifar10/test/<class>/*.png`` (alphabetical class order = CIFAR-10's labels)."""
    from PIL import Image

    classes = sorted(p.name for p in (root / "cifar10" / "test").iterdir() if p.is_dir())
    files = [(f, k) for k, c in enumerate(classes) for f in sorted((root / "cifar10" / "test" / c).glob("*.png"))]
    pick = np.random.default_rng(seed).permutation(len(files))[:n]
    images = np.stack([np.asarray(Image.open(files[i][0]).convert("RGB")) for i in pick])
    labels = np.array([files[i][1] for i in pick])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0), torch.from_numpy(labels), classes


@pytest.mark.realdata
def test_lenet5_accuracy_on_real_mnist(shared_data, tmp_path):
    images, labels = read_mnist_test(shared_data)
    factory = build_factory(compose_model(tmp_path, "lenet5", data_dir=str(shared_data)))
    model = factory(dataset=FakeDataset("mnist", MNIST_CLASSES, 1, 28))
    assert model.spec["weights"] == file_sha256(shared_data / "weights" / "mnist_lenet5_clntrained.pt")
    assert clean_accuracy(model, images, labels) == pytest.approx(0.9889, abs=0.001)  # data README: 98.89 %


@pytest.mark.realdata
@pytest.mark.slow
def test_resnet20_and_a_constructed_resnet32_on_real_cifar10(shared_data, tmp_path):
    """ResNet-20 reaches its published accuracy; a ResNet-32 in the akamaster layout loads and does too.

    The ResNet-32 is built from ResNet-20's weights: its first three blocks per stage are ResNet-20's
    and the two extra ones have a zero last BatchNorm (scale and shift), so they pass their (post-ReLU,
    non-negative) input through unchanged: the same function, saved with ``module.`` keys and
    ``best_prec1`` like akamaster's files. Full-set accuracy is 91.73 % (data README); on a seeded
    2,000-image subset the binomial standard error is 0.006, so the test allows 3 of them.
    """
    images, labels, classes = read_cifar10_test(shared_data, 2000)
    ds = FakeDataset("cifar10", classes, 3, 32)
    r20 = build_factory(compose_model(tmp_path, "cifar_resnet20", data_dir=str(shared_data)))(dataset=ds)
    accuracy = clean_accuracy(r20, images, labels, batch_size=500)
    assert accuracy == pytest.approx(0.9173, abs=0.018)

    src = r20.module.net.state_dict()
    r32 = CifarResNet(32)
    state = r32.state_dict()
    for key in state:
        stage_block = key.split(".")[:2]
        if key.startswith("layer") and int(stage_block[1]) >= 3:
            if key.split(".")[2] == "bn2" and key.endswith(("weight", "bias")):
                state[key] = torch.zeros_like(state[key])
        else:
            state[key] = src[key].clone()
    path = tmp_path / "cifar10_resnet32-constructed.th"
    torch.save({"best_prec1": 91.73, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    r32_model = build_factory(compose_model(tmp_path, "cifar_resnet", "model.depth=32", f"model.checkpoint={path}"))(
        dataset=ds)
    assert r32_model.name == "cifar_resnet32"
    assert sum(p.numel() for p in r32_model.module.parameters()) == 464_154
    x = images[:500]
    assert torch.allclose(r32_model.module(x), r20.module(x), atol=1e-4)
    assert torch.equal(predict(r32_model, x), predict(r20, x))

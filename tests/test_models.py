"""Image classifiers T: architectures, checkpoint loading and errors, the cached small CNN, real accuracies."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from distortion_reliability import models
from distortion_reliability.data import load_split, verification_set
from distortion_reliability.errors import ConfigError, DataNotFoundError, UnknownNameError
from distortion_reliability.models import (
    IMAGENETTE_IMAGENET_INDICES,
    MODELS,
    CifarResNet,
    LeNet5,
    clean_accuracy,
    file_sha256,
    imagenette_indices,
    load_model,
)

torch.set_num_threads(1)
CONF = Path(__file__).resolve().parents[1] / "conf"
FAST_TRAIN = {"epochs": 12, "lr": 3e-3, "batch_size": 64}


@pytest.fixture(scope="module")
def digits_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def digits_model(digits_cache):
    return load_model("small_cnn", dataset="digits", cache_dir=digits_cache, train=FAST_TRAIN, progress=False)


# ------------------------------------------------------------------------------------------ registry / bad input


def test_unknown_model_and_dataset_list_valid_names():
    with pytest.raises(UnknownNameError) as info:
        load_model("resnet18", dataset="digits")
    assert all(name in str(info.value) for name in MODELS) and "resnet18" in str(info.value)
    with pytest.raises(UnknownNameError, match="unknown dataset 'digitz'"):
        load_model("small_cnn", dataset="digitz")


def test_bad_training_options_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="train option .*got 'epoch'"):
        load_model("small_cnn", dataset="digits", cache_dir=tmp_path, train={"epoch": 3})
    with pytest.raises(ConfigError, match=r"train\.lr .*got -0\.1"):
        load_model("small_cnn", dataset="digits", cache_dir=tmp_path, train={"lr": -0.1})
    with pytest.raises(ConfigError, match=r"train\.epochs .*got 0"):
        load_model("small_cnn", dataset="digits", cache_dir=tmp_path, train={"epochs": 0})
    assert not (tmp_path / "models").exists()  # nothing written for bad input


def test_model_configs_name_registered_models():
    import yaml

    for path in (CONF / "model").glob("*.yaml"):
        cfg = yaml.safe_load(path.read_text())
        if cfg["name"] != "auto":  # the lead's placeholder
            assert cfg["name"] in MODELS and cfg["name"] == path.stem and "checkpoint" in cfg
    for path in (CONF / "dataset").glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["default_model"] in MODELS


# ------------------------------------------------------------------------------------------ architectures


def test_cifar_resnets_have_the_published_sizes_and_option_a_shortcuts():
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # He et al. (2016), Table 6: 0.27M / 0.85M. Counted by hand for n = (depth - 2) / 6 blocks per stage:
    # stem 432 + 32, stage 1: 4,672 n, stage 2: 13,952 + 18,560 (n - 1), stage 3: 55,552 + 73,984 (n - 1),
    # linear 650 -- option A shortcuts add no parameters (a 1x1 projection would).
    by_hand = lambda n: 464 + 4672 * n + 13952 + 18560 * (n - 1) + 55552 + 73984 * (n - 1) + 650  # noqa: E731
    assert count(CifarResNet(20)) == by_hand(3) == 269_722
    assert count(CifarResNet(56)) == by_hand(9) == 853_018
    block = CifarResNet(20).layer2[0]
    x = torch.randn(2, 16, 32, 32)
    shortcut = block.shortcut(x)
    assert shortcut.shape == (2, 32, 16, 16)
    assert torch.equal(shortcut[:, 8:24], x[:, :, ::2, ::2]) and shortcut[:, :8].abs().sum() == 0
    with pytest.raises(ConfigError, match="resnet depth"):
        CifarResNet(21)


def test_lenet5_matches_the_checkpoint_layout():
    shapes = {k: tuple(v.shape) for k, v in LeNet5().state_dict().items()}
    assert shapes == {"conv1.weight": (32, 1, 3, 3), "conv1.bias": (32,), "conv2.weight": (64, 32, 3, 3),
                      "conv2.bias": (64,), "linear1.weight": (200, 3136), "linear1.bias": (200,),
                      "linear2.weight": (10, 200), "linear2.bias": (10,)}


def test_imagenette_maps_to_the_right_imagenet_classes():
    from torchvision.models import ResNet50_Weights

    categories = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
    names = [categories[i] for i in IMAGENETTE_IMAGENET_INDICES]
    assert names == ["tench", "English springer", "cassette player", "chain saw", "church", "French horn",
                     "garbage truck", "gas pump", "golf ball", "parachute"]
    folders = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916", "n03417042",
               "n03425413", "n03445777", "n03888257"]
    assert imagenette_indices(folders) == list(IMAGENETTE_IMAGENET_INDICES)
    assert imagenette_indices(folders[:-1] + ["n03888605"])[-1] == 701  # fastai's misspelt parachute wnid
    with pytest.raises(ConfigError, match="imagenette classes"):
        imagenette_indices(["n99999999"])


# ------------------------------------------------------------------------------------------ small CNN


def test_small_cnn_trains_on_digits_and_is_accurate(digits_model):
    d = verification_set("digits")
    assert clean_accuracy(digits_model, d) >= 0.9
    module = digits_model.module
    assert not module.training and all(not p.requires_grad for p in module.parameters())
    # Normalisation is inside the model: its buffers hold the training images' statistics.
    assert 0.2 < float(module.normalize.mean) < 0.4 and float(module.normalize.std) > 0.2
    assert module(d.images[:5]).shape == (5, 10)


def test_small_cnn_is_cached_and_not_retrained(monkeypatch, digits_cache, digits_model):
    calls = []
    original = models.train_small_cnn
    monkeypatch.setattr(models, "train_small_cnn", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = load_model("small_cnn", dataset="digits", cache_dir=digits_cache, train=FAST_TRAIN, progress=False)
    assert calls == []
    assert again.fingerprint == digits_model.fingerprint
    x = load_split("digits", "test").images[:64]
    assert torch.equal(again.module(x), digits_model.module(x))
    files = list((digits_cache / "models").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temp file left behind
    # A different seed is a different model: trained (once) and cached separately.
    other = load_model("small_cnn", dataset="digits", cache_dir=digits_cache, train={**FAST_TRAIN, "epochs": 2},
                       seed=1, progress=False)
    assert calls == [1] and other.fingerprint != digits_model.fingerprint
    assert len(list((digits_cache / "models").glob("*.pt"))) == 2


def test_corrupted_cached_model_is_retrained(monkeypatch, tmp_path):
    train = {"epochs": 1, "batch_size": 128}
    first = load_model("small_cnn", dataset="digits", cache_dir=tmp_path, train=train, progress=False)
    (path,) = (tmp_path / "models").glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])
    calls = []
    original = models.train_small_cnn
    monkeypatch.setattr(models, "train_small_cnn", lambda *a, **k: calls.append(1) or original(*a, **k))
    second = load_model("small_cnn", dataset="digits", cache_dir=tmp_path, train=train, progress=False)
    assert calls == [1]
    assert second.fingerprint == first.fingerprint  # same seed, same data: the same weights again


def test_any_checkpoint_loads_and_is_fingerprinted_by_its_bytes(tmp_path, digits_model):
    path = tmp_path / "mine.pt"
    torch.save({"state_dict": digits_model.module.state_dict()}, path)
    loaded = load_model("small_cnn", dataset="digits", checkpoint=str(path), cache_dir=tmp_path / "c")
    assert loaded.fingerprint == file_sha256(path)
    x = load_split("digits", "test").images[:32]
    assert torch.equal(loaded.module(x), digits_model.module(x))
    assert not (tmp_path / "c").exists()  # nothing trained


def test_small_cnn_on_an_image_folder_is_sized_from_its_images(tmp_path, rng):
    for split, n in (("train", 6), ("test", 2)):
        for cls in ("a", "b", "c"):
            for i in range(n):
                (tmp_path / "imgs" / split / cls).mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(
                    tmp_path / "imgs" / split / cls / f"{i}.png")
    model = load_model("small_cnn", dataset="image_folder", data_dir=tmp_path, cache_dir=tmp_path / "cache",
                       train={"epochs": 1}, dataset_options={"root": "imgs", "image_size": 16}, progress=False)
    assert model.classes == ["a", "b", "c"]
    assert model.module(torch.rand(4, 3, 16, 16)).shape == (4, 3)
    assert model.module.normalize.mean.shape == (1, 3, 1, 1)


# ------------------------------------------------------------------------------------------ checkpoint errors


def test_missing_checkpoint_names_the_path(tmp_path):
    missing = tmp_path / "nope" / "weights.pt"
    with pytest.raises(DataNotFoundError, match=str(missing)):
        load_model("small_cnn", dataset="digits", checkpoint=str(missing))
    # Default checkpoint location: <data_dir>/weights/<file>.
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "weights" / "mnist_lenet5_clntrained.pt")):
        load_model("lenet5", dataset="digits", data_dir=tmp_path)


def test_checkpoint_of_another_architecture_names_the_model(tmp_path):
    path = tmp_path / "lenet_28px.pt"
    torch.save(LeNet5(image_size=28).state_dict(), path)  # digits are 8x8: linear1 has another shape
    with pytest.raises(ConfigError, match=r"model 'lenet5' .*shape mismatch for linear1\.weight"):
        load_model("lenet5", dataset="digits", checkpoint=str(path))
    torch.save(CifarResNet(20).state_dict(), path)
    with pytest.raises(ConfigError, match=r"model 'small_cnn' .*missing keys"):
        load_model("small_cnn", dataset="digits", checkpoint=str(path))


def test_resnet50_offline_asks_for_a_checkpoint(monkeypatch, tmp_path):
    from torchvision.models import ResNet50_Weights

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(type(ResNet50_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    root = tmp_path / "imagenette2-320" / "val" / "n01440764"
    root.mkdir(parents=True)
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(root / "a.png")
    with pytest.raises(DataNotFoundError, match="resnet50.*checkpoint="):
        load_model("resnet50", dataset="imagenette", data_dir=tmp_path)


def test_resnet50_checkpoint_restricts_logits_to_imagenette(tmp_path):
    from torchvision.models import resnet50

    rng = np.random.default_rng(0)
    folders = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916", "n03417042",
               "n03425413", "n03445777", "n03888257"]
    for wnid in folders:
        (tmp_path / "imagenette2-320" / "val" / wnid).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
            tmp_path / "imagenette2-320" / "val" / wnid / "x.png")
    torch.manual_seed(0)
    reference = resnet50(weights=None).eval()
    path = tmp_path / "r50.pth"
    torch.save(reference.state_dict(), path)
    options = {"image_size": 32, "resize_size": 32}
    model = load_model("resnet50", dataset="imagenette", data_dir=tmp_path, checkpoint=str(path),
                       dataset_options=options)
    x = load_split("imagenette", "val", data_dir=tmp_path, **options).images[:2]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.inference_mode():
        full = reference((x - mean) / std)
        assert torch.allclose(model.module(x), full[:, list(IMAGENETTE_IMAGENET_INDICES)], atol=1e-4)


# ------------------------------------------------------------------------------------------ helpers


def test_clean_accuracy_counts_correct_predictions():
    class Fixed(torch.nn.Module):  # predicts class 1 for every image
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.tensor([0.0, 1.0]).expand(x.shape[0], 2) + self.w

    images = torch.zeros(8, 1, 2, 2)
    labels = torch.tensor([1, 1, 1, 0, 0, 1, 0, 1])
    assert clean_accuracy(Fixed(), images, labels, batch_size=3) == 5 / 8
    with pytest.raises(ConfigError, match="labels"):
        clean_accuracy(Fixed(), images, labels[:4])
    with pytest.raises(ConfigError, match="batch_size"):
        clean_accuracy(Fixed(), images, labels, batch_size=0)


# ------------------------------------------------------------------------------------------ real data


def test_lenet5_accuracy_on_real_mnist(shared_data):
    model = load_model("lenet5", dataset="mnist", data_dir=shared_data)
    assert model.fingerprint == file_sha256(shared_data / "weights" / "mnist_lenet5_clntrained.pt")
    accuracy = clean_accuracy(model, load_split("mnist", "test", data_dir=shared_data))
    assert accuracy == pytest.approx(0.989, abs=0.003)


@pytest.mark.slow
def test_resnet20_accuracy_on_real_cifar10_subset(shared_data):
    """Full-test-set accuracy is 0.9173 (data README); one thread does 2,000 images in ~7 s.

    The subset is fixed (seed 0), so its accuracy is a fixed number, measured 0.9155; the
    binomial spread of a 2,000-image subset around 0.917 is 0.006, so +-0.003 of the measured
    value also keeps it within one standard error of the full-set figure.
    """
    model = load_model("cifar_resnet20", dataset="cifar10", data_dir=shared_data)
    d = verification_set("cifar10", data_dir=shared_data, size=2000, seed=0)
    assert clean_accuracy(model, d, batch_size=500) == pytest.approx(0.9155, abs=0.003)

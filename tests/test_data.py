"""Datasets: built from conf/dataset/*.yaml, layouts built in tmp_path, the embedded digits, D, and the clear errors."""

from __future__ import annotations

import gzip
import json
import pickle
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from distortion_reliability import data
from distortion_reliability.data import (
    CIFAR10,
    MNIST,
    DataFormatError,
    Dataset,
    Digits,
    FashionMNIST,
    ImageFolder,
    Imagenette,
    TinyImageNet,
    read_idx,
    resolve_data_dir,
)
from distortion_reliability.build import build
from distortion_reliability.config import compose_config
from distortion_reliability.errors import ConfigError, DataNotFoundError

torch.set_num_threads(1)
CONF = Path(__file__).resolve().parents[1] / "conf"
DATASET_NAMES = sorted(p.stem for p in (CONF / "dataset").glob("*.yaml"))


# ------------------------------------------------------------------------------------------ builders


def write_idx(path: Path, array: np.ndarray, compress: bool) -> Path:
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)
    return path


def build_idx_tree(root: Path, folder: str, compress: bool, rng: np.random.Generator) -> dict:
    made = {}
    for split, (img_name, lbl_name) in {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                                        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}.items():
        n = 7 if split == "train" else 5
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(root / folder / "raw" / img_name, images, compress)
        write_idx(root / folder / "raw" / lbl_name, labels, compress)
        made[split] = (images, labels)
    return made


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def build_image_folder(root: Path, classes: list[str], per_class: int, size: tuple[int, int], rng) -> dict:
    """root/<class>/<i>.png with random RGB content; returns {relative path: (array, label)}."""
    made = {}
    for label, cls in enumerate(classes):
        for i in range(per_class):
            arr = rng.integers(0, 256, size=(size[0], size[1], 3), dtype=np.uint8)
            write_png(root / cls / f"{i}.png", arr)
            made[f"{cls}/{i}.png"] = (arr, label)
    return made


def yaml_of(name: str) -> dict:
    return OmegaConf.to_container(OmegaConf.load(CONF / "dataset" / f"{name}.yaml"))


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ------------------------------------------------------------------------------------------ configs


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_every_dataset_config_composes_and_instantiates_without_reading_files(name, tmp_path, monkeypatch):
    def no_reading(self, split):
        raise AssertionError(f"{name}: constructing the dataset opened split {split}")

    monkeypatch.setattr(Dataset, "_open", no_reading)
    for cls in Dataset.__subclasses__() + [c for sub in Dataset.__subclasses__() for c in sub.__subclasses__()]:
        if "_open" in vars(cls):
            monkeypatch.setattr(cls, "_open", no_reading)
    cfg = compose_config([f"dataset={name}"])
    ds = build("dataset", cfg.dataset, data_dir=tmp_path / "absent")
    facts = yaml_of(name)
    assert ds.name == facts["name"] == name  # the class knows its name; the YAML keeps it as label
    assert ds.h == facts["h"] and 0 < ds.h < 1
    assert ds.verification_size == facts["verification_size"]
    assert ds.default_model == facts["default_model"] and (CONF / "model" / f"{ds.default_model}.yaml").is_file()
    assert ds.smote_gp_v == facts.get("smote_gp_v")
    assert ds.data_dir == tmp_path / "absent" and ds.download is False
    assert cfg.h == ds.h  # the root h follows the dataset's


def test_table_2_facts_live_in_the_yaml():
    sizes = {n: yaml_of(n)["verification_size"] for n in DATASET_NAMES}
    assert sizes == {"digits": None, "mnist": 6000, "fashion_mnist": 6000, "cifar10": 5000, "cifar100": 5000,
                     "tiny_imagenet": 10000, "imagenette": 1000, "image_folder": None}
    assert {n: yaml_of(n).get("smote_gp_v") for n in DATASET_NAMES if yaml_of(n).get("smote_gp_v")} == {"cifar10": 0.05}
    # ... and nowhere in Python: no table of facts is left in the data package.
    assert not hasattr(data, "DATASETS") and not hasattr(data, "default_verification_size")


def test_overrides_reach_the_object():
    cfg = compose_config(["dataset=mnist", "dataset.h=0.95", "dataset.verification_size=100",
                          "dataset.default_model=small_cnn", "+dataset.smote_gp_v=0.01"])
    ds = build("dataset", cfg.dataset, data_dir="/nowhere")
    assert (ds.h, ds.verification_size, ds.default_model, ds.smote_gp_v) == (0.95, 100, "small_cnn", 0.01)
    digits = build("dataset", compose_config(["dataset.verification_size=50", "dataset.split_seed=1"]).dataset)
    d = digits.verification_set(0)
    assert len(d) == 50 and d.spec["options"] == {"split_seed": 1, "test_fraction": 0.5}


def test_bad_dataset_settings_are_one_config_error():
    with pytest.raises(ConfigError, match="dataset.verification_size"):
        build("dataset", compose_config(["dataset.verification_size=0"]).dataset)
    with pytest.raises(ConfigError, match="dataset.test_fraction"):
        build("dataset", compose_config(["dataset.test_fraction=1.5"]).dataset)
    with pytest.raises(ConfigError, match="dataset.mode"):
        build("dataset", compose_config(["dataset=image_folder", "dataset.mode=CMYK"]).dataset)
    with pytest.raises(ConfigError, match="dataset.size"):
        build("dataset", compose_config(["dataset=imagenette", "dataset.size=1px"]).dataset)
    with pytest.raises(ConfigError, match="bogus"):  # a key the class does not take
        build("dataset", compose_config(["+dataset.bogus=1"]).dataset)
    with pytest.raises(ConfigError, match=r"dataset\.split"):
        Digits(split="validation")
    with pytest.raises(ConfigError, match=r"dataset\.split.*validation"):
        build("dataset", compose_config(["+dataset.split=validation"]).dataset)
    with pytest.raises(ConfigError, match=r"dataset\.digits\.split"):
        Digits().load("validation")


def test_a_user_dataset_is_a_class_and_a_yaml(tmp_path):
    """The module docstring's recipe: subclass Dataset, point a YAML's _target_ at it."""
    np.savez(tmp_path / "parts.npz", x_train=np.zeros((4, 5, 5, 1), np.uint8), y_train=np.array([0, 1, 0, 1]),
             x_test=np.full((6, 5, 5, 1), 255, np.uint8), y_test=np.array([1, 0, 1, 0, 1, 0]))
    node = {"_target_": f"{__name__}.Parts", "name": "parts", "npz": "parts.npz", "h": 0.9,
            "verification_size": 4, "default_model": "small_cnn"}
    ds = build("dataset", node, data_dir=tmp_path)
    d = ds.verification_set(seed=0)
    assert ds.name == "parts" and d.images.shape == (4, 1, 5, 5) and float(d.images.min()) == 1.0
    assert d.spec["options"] == {"npz": "parts.npz"} and ds.classes == ["ok", "scratch"]
    assert len(ds.train_set()) == 4 and (ds.channels, ds.image_size, ds.num_classes) == (1, 5, 2)


class Parts(Dataset):  # the docstring example, verbatim in substance
    name = "parts"

    def __init__(self, *, npz: str, **facts):
        super().__init__(**facts)
        self.npz = npz

    @property
    def options(self):
        return {"npz": self.npz}

    def _open(self, split):
        arrays = np.load(self.data_dir / self.npz)
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"].astype(np.int64)
        return data.SplitSource(self.name, split, y, ["ok", "scratch"], data.hash_parts([x.tobytes(), y.tobytes()]),
                                lambda idx: x[idx], str(self.data_dir / self.npz))


# ------------------------------------------------------------------------------------------ data_dir


def test_resolve_data_dir_prefers_explicit_then_env_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("DR_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir(None) == tmp_path / "env"
    assert MNIST().data_dir == tmp_path / "env"
    monkeypatch.delenv("DR_DATA_DIR")
    assert resolve_data_dir(None) == Path("data")


# ------------------------------------------------------------------------------------------ digits


def test_digits_splits_are_disjoint_stratified_and_in_unit_range(tmp_path):
    ds = Digits(data_dir=tmp_path / "does-not-exist")  # digits need no files
    train, test = ds.load("train"), ds.load("test")
    assert train.images.shape == (898, 1, 8, 8) and test.images.shape == (899, 1, 8, 8)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert 0.0 <= float(test.images.min()) and float(test.images.max()) == 1.0
    assert test.classes == [str(i) for i in range(10)] == ds.classes
    assert (ds.channels, ds.image_size, ds.num_classes) == (1, 8, 10)
    # Stratified: every class appears in both halves, 87..92 times each.
    assert set(torch.bincount(test.labels).tolist()) <= set(range(87, 93))
    # Disjoint: together they are exactly the 1,797 bundled images (compare pixel rows).
    from sklearn.datasets import load_digits

    every = np.rint(load_digits().images / 16 * 255).astype(np.uint8).reshape(-1, 64)
    both = np.rint(torch.cat([train.images, test.images]).numpy() * 255).astype(np.uint8).reshape(-1, 64)
    assert sorted(map(bytes, both)) == sorted(map(bytes, every))
    assert train.fingerprint != test.fingerprint
    assert Digits().load("test").fingerprint == test.fingerprint


# ------------------------------------------------------------------------------------------ verification set


def test_verification_set_is_seeded_and_prefix_stable():
    a = Digits(verification_size=200).verification_set(3)
    b = Digits(verification_size=200).verification_set(3)
    c = Digits(verification_size=200).verification_set(4)
    prefix = Digits(verification_size=50).verification_set(3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) and a.fingerprint == b.fingerprint
    assert not torch.equal(a.images, c.images) and a.fingerprint != c.fingerprint
    assert torch.equal(prefix.images, a.images[:50])  # a larger D starts with the smaller one
    assert a.images.shape == (200, 1, 8, 8) and len(a) == 200
    assert len(set(a.labels[:30].tolist())) >= 6  # classes mixed from the start, not sorted by label
    assert json.loads(json.dumps(a.spec)) == a.spec
    assert a.spec == {"name": "digits", "split": "test", "size": 200, "seed": 3,
                      "source_fingerprint": c.spec["source_fingerprint"],
                      "options": {"split_seed": 0, "test_fraction": 0.5}}
    assert len(Digits().verification_set(0)) == 899  # null size: the whole held-out split


def test_verification_spec_is_unchanged_by_the_move_to_configs():
    """The oracle's cache keys hold D's spec: the YAML-built digits D has the spec the name-based code gave."""
    d = build("dataset", compose_config().dataset).verification_set(0)
    assert d.spec == {"name": "digits", "split": "test", "size": 899, "seed": 0,
                      "source_fingerprint": "27672141620c1f97", "options": {"split_seed": 0, "test_fraction": 0.5}}
    assert d.fingerprint == "c0226e465b9e4596"


def test_verification_set_rejects_sizes_it_cannot_draw():
    with pytest.raises(ConfigError) as info:
        Digits(verification_size=900).verification_set(0)
    assert info.value.field == "dataset.verification_size" and info.value.value == 900 and "899" in str(info.value)
    with pytest.raises(ConfigError, match="verification_size"):
        Digits(verification_size=0)
    with pytest.raises(ConfigError, match="seed"):
        Digits().verification_set("zero")


# ------------------------------------------------------------------------------------------ training set


def test_train_set_subset_is_seeded_sorted_and_fingerprinted_without_decoding(tmp_path, rng):
    ds = Digits()
    full, part, again, other = ds.train_set(), ds.train_set(100, seed=1), ds.train_set(100, seed=1), ds.train_set(100, 2)
    assert len(full) == 898 and len(part) == 100 and torch.equal(part.images, again.images)
    assert not torch.equal(part.images, other.images)
    # The subset keeps the split's order: its rows appear in the full split in the same order.
    rows = {bytes(r): i for i, r in enumerate(full.images.reshape(898, -1).numpy())}
    positions = [rows[bytes(r)] for r in part.images.reshape(100, -1).numpy()]
    assert positions == sorted(positions)
    assert part.spec["max_images"] == 100 and part.spec["split"] == "train" and full.spec["max_images"] is None
    fp = ds.train_fingerprint(100, seed=1)
    assert fp == ds.train_fingerprint(100, seed=1) != ds.train_fingerprint(100, seed=2) != ds.train_fingerprint()
    assert ds.train_fingerprint(10_000, seed=5) == ds.train_fingerprint()  # more than the split: all of it
    # No decoding: a folder whose image is corrupt still has a fingerprint, but no training set.
    build_image_folder(tmp_path / "imgs" / "train", ["a", "b"], 2, (8, 8), rng)
    (tmp_path / "imgs" / "train" / "a" / "0.png").write_bytes(b"not a png")
    folder = ImageFolder(root="imgs", data_dir=tmp_path)
    assert len(folder.train_fingerprint()) == 16
    with pytest.raises(DataFormatError, match=r"a/0\.png"):
        folder.train_set()


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "cls, layout_words",
    [
        (MNIST, ["MNIST/raw", "t10k-images-idx3-ubyte"]),
        (FashionMNIST, ["FashionMNIST/raw", "t10k-images-idx3-ubyte"]),
        (CIFAR10, ["cifar-10-batches-py", "cifar10/test/<class>"]),
        (data.CIFAR100, ["cifar-100-python", "cifar100/test/<class>"]),
        (TinyImageNet, ["tiny-imagenet-200", "val_annotations.txt"]),
        (Imagenette, ["imagenette2-320", "<wnid>"]),
    ],
)
def test_missing_data_raises_one_clear_error(tmp_path, cls, layout_words):
    ds = cls(data_dir=tmp_path)  # building is fine offline: nothing is read yet
    with pytest.raises(DataNotFoundError) as info:
        ds.verification_set(0)
    message = str(info.value)
    assert repr(cls.name) in message and str(tmp_path) in message and "DR_DATA_DIR" in message
    assert "dataset.download=true" in message
    for word in layout_words:
        assert word in message


def test_missing_data_uses_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("DR_DATA_DIR", str(tmp_path / "from-env"))
    with pytest.raises(DataNotFoundError, match="from-env"):
        MNIST().verification_set(0)


def test_failed_download_becomes_data_not_found(monkeypatch, tmp_path):
    """Offline, torchvision's download raises; the user sees one DataNotFoundError naming the dataset."""
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(tvd, "MNIST", offline)
    with pytest.raises(DataNotFoundError, match=r"'mnist'.*MNIST/raw.*Download failed: URLError"):
        MNIST(data_dir=tmp_path, download=True).load("test")


def test_truncated_mnist_gz_is_one_error_naming_the_file(tmp_path, rng):
    build_idx_tree(tmp_path, "MNIST", compress=True, rng=rng)
    path = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(DataFormatError) as info:
        MNIST(data_dir=tmp_path).verification_set(0)
    assert info.value.path == str(path) and str(path) in str(info.value) and "truncated" in str(info.value)
    path.write_bytes(b"\x1f\x8b not really gzip")  # corrupt, not truncated
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte.gz"):
        MNIST(data_dir=tmp_path).load("test")


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((2, 3, 3)), compress=False)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataFormatError, match=r"x-idx3-ubyte: holds 17 bytes .*\[2, 3, 3\]"):
        read_idx(path)
    path.write_bytes(b"hello world")
    with pytest.raises(DataFormatError, match="not an unsigned-byte IDX file"):
        read_idx(path)


def test_idx_labels_must_match_the_images(tmp_path, rng):
    build_idx_tree(tmp_path, "MNIST", compress=False, rng=rng)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.zeros(4), compress=False)
    with pytest.raises(DataFormatError, match="t10k-labels-idx1-ubyte: must hold 5 labels"):
        MNIST(data_dir=tmp_path).load("test")


# ------------------------------------------------------------------------------------------ layouts


@pytest.mark.parametrize("cls, folder, compress", [(MNIST, "MNIST", True), (FashionMNIST, "FashionMNIST", False)])
def test_raw_idx_layout_loads_exact_pixels(tmp_path, rng, cls, folder, compress):
    made = build_idx_tree(tmp_path, folder, compress, rng)
    ds = cls(data_dir=tmp_path)
    for split in ("train", "test"):
        images, labels = made[split]
        loaded = ds.load(split)
        assert loaded.images.shape == (len(labels), 1, 28, 28)
        assert torch.equal(torch.round(loaded.images[:, 0] * 255).to(torch.uint8), torch.from_numpy(images))
        assert loaded.labels.tolist() == labels.tolist()
    assert ds.num_classes == 10 and (ds.channels, ds.image_size) == (1, 28)


def test_cifar10_image_folder_layout(tmp_path, rng):
    made = build_image_folder(tmp_path / "cifar10" / "test", CIFAR10_CLASSES, 2, (32, 32), rng)
    ds = CIFAR10(data_dir=tmp_path, verification_size=8)
    loaded = ds.load("test")
    assert loaded.classes == CIFAR10_CLASSES
    assert loaded.images.shape == (20, 3, 32, 32)
    # Files come in class order, then name order: check every image's pixels and label.
    for k, (rel, (arr, label)) in enumerate(sorted(made.items(), key=lambda kv: (kv[1][1], kv[0]))):
        assert loaded.labels[k] == label
        assert torch.equal(torch.round(loaded.images[k] * 255).to(torch.uint8).permute(1, 2, 0), torch.from_numpy(arr))
    d = ds.verification_set(1)
    assert d.images.shape == (8, 3, 32, 32) and d.spec["split"] == "test"


def test_cifar_image_folder_with_wrong_class_count_is_rejected(tmp_path, rng):
    build_image_folder(tmp_path / "cifar10" / "test", CIFAR10_CLASSES[:3], 1, (32, 32), rng)
    with pytest.raises(ConfigError, match="must number 10"):
        CIFAR10(data_dir=tmp_path).load("test")


@pytest.fixture
def cifar_pickles(tmp_path, monkeypatch, rng):
    """A tiny cifar-10-batches-py with its md5 sums registered in place of torchvision's."""
    import hashlib

    import torchvision.datasets as tvd

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    pixels = rng.integers(0, 256, size=(6, 3 * 32 * 32), dtype=np.uint8)
    labels = [3, 1, 4, 1, 5, 9]
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({"data": pixels, "labels": labels}, fh, protocol=2)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": CIFAR10_CLASSES}, fh, protocol=2)

    def md5(name):
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5("batches.meta")})
    return folder, pixels, labels


def test_cifar_pickle_layout_loads_exact_pixels(tmp_path, cifar_pickles):
    folder, pixels, labels = cifar_pickles
    loaded = CIFAR10(data_dir=tmp_path).load("test")
    assert loaded.classes == CIFAR10_CLASSES and loaded.labels.tolist() == labels
    expected = torch.from_numpy(pixels.reshape(6, 3, 32, 32))
    assert torch.equal(torch.round(loaded.images * 255).to(torch.uint8), expected)


def test_corrupt_cifar_pickle_is_named_and_never_unpickled(tmp_path, cifar_pickles, monkeypatch):
    import torchvision.datasets as tvd

    folder, _, _ = cifar_pickles
    batch = folder / "test_batch"
    batch.write_bytes(batch.read_bytes()[:100])  # truncated
    with pytest.raises(DataFormatError, match=r"test_batch: is corrupt or truncated"):
        CIFAR10(data_dir=tmp_path).load("test")

    # A crafted batch with a matching md5 is still refused, without running its payload.
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    batch.write_bytes(pickle.dumps({"data": Payload(), "labels": []}, protocol=2))
    import hashlib

    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", hashlib.md5(batch.read_bytes()).hexdigest()]])
    with pytest.raises(DataFormatError, match="not allowed"):
        CIFAR10(data_dir=tmp_path).load("test")
    assert not marker.exists()


def test_generic_image_folder_with_splits_resize_and_errors(tmp_path, rng):
    build_image_folder(tmp_path / "mine" / "train", ["cat", "dog"], 2, (20, 30), rng)
    build_image_folder(tmp_path / "mine" / "test", ["cat", "dog"], 3, (20, 30), rng)
    ds = ImageFolder(data_dir=tmp_path, root="mine", image_size=16)
    d = ds.verification_set(0)
    assert d.spec["split"] == "test" and d.images.shape == (6, 3, 16, 16) and d.classes == ["cat", "dog"]
    assert d.spec["options"] == {"image_size": 16, "mode": "RGB", "root": "mine"}
    assert ds.training_split() == "train" and len(ds.train_set()) == 4
    native = ImageFolder(data_dir=tmp_path, root=str(tmp_path / "mine"))
    assert native.load("train").images.shape == (4, 3, 20, 30)
    with pytest.raises(ConfigError, match="image size.*must be square"):
        native.image_size
    assert ImageFolder(data_dir=tmp_path, root="mine", mode="L").load("train").images.shape == (4, 1, 20, 30)
    write_png(tmp_path / "mine" / "train" / "cat" / "odd.png", np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ConfigError, match="dataset.image_size"):
        ImageFolder(data_dir=tmp_path, root="mine").load("train")
    with pytest.raises(ConfigError, match="dataset.root"):
        ImageFolder(data_dir=tmp_path).verification_set(0)
    with pytest.raises(DataNotFoundError, match="val"):
        ImageFolder(data_dir=tmp_path, root="mine").load("val")
    assert ImageFolder(data_dir=tmp_path, root="mine/train").held_out_split() == "all"
    assert ImageFolder(data_dir=tmp_path, root="mine/train").training_split() == "all"


def test_corrupt_image_file_is_one_error_naming_it(tmp_path, rng):
    build_image_folder(tmp_path / "imgs", ["a", "b"], 2, (8, 8), rng)
    bad = tmp_path / "imgs" / "b" / "1.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated PNG
    with pytest.raises(DataFormatError) as info:
        ImageFolder(data_dir=tmp_path, root="imgs").verification_set(0)
    assert info.value.path == str(bad)


def test_tiny_imagenet_layout_reads_val_annotations(tmp_path, rng):
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n02", "n01"]  # written unsorted: labels follow the sorted wnids
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for w in wnids:
        for i in range(2):
            write_png(root / "train" / w / "images" / f"{w}_{i}.JPEG", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    # Solid colours survive JPEG nearly exactly, so pixel values check which file was read.
    write_png(root / "val" / "images" / "val_0.JPEG", np.full((64, 64, 3), 250, np.uint8))
    write_png(root / "val" / "images" / "val_1.JPEG", np.full((64, 64, 3), 10, np.uint8))
    (root / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn02\t0\t0\t10\t10\nval_1.JPEG\tn01\t1\t1\t5\t5\n")
    ds = TinyImageNet(data_dir=tmp_path)
    val = ds.load("val")
    assert val.classes == ["n01", "n02"] and val.labels.tolist() == [1, 0]
    assert float(val.images[0].mean()) > 0.95 and float(val.images[1].mean()) < 0.06
    train = ds.train_set()
    assert train.images.shape == (4, 3, 64, 64) and train.labels.tolist() == [0, 0, 1, 1]
    assert ds.verification_set(0).spec["split"] == "val" and ds.image_size == 64


def test_imagenette_layout_resizes_shorter_side_then_center_crops(tmp_path):
    root = tmp_path / "imagenette2" / "val"  # the full-size variant is found too
    # 40x80 image: left half black, right half white; a center crop keeps both halves.
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, 40:] = 255
    write_png(root / "n01440764" / "a.png", arr)
    write_png(root / "n03888257" / "b.png", np.full((60, 50, 3), 128, np.uint8))
    ds = Imagenette(data_dir=tmp_path, image_size=16, resize_size=20)
    d = ds.load("val")
    assert d.images.shape == (2, 3, 16, 16) and d.classes == ["n01440764", "n03888257"]
    first = d.images[0, 0]
    assert float(first[:, :6].max()) < 0.05 and float(first[:, -6:].min()) > 0.95
    assert abs(float(d.images[1].mean()) - 128 / 255) < 0.01
    assert ds.image_size == 16


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_real_mnist_verification_set(shared_data):
    ds = build("dataset", compose_config(["dataset=mnist"]).dataset, data_dir=shared_data)
    d = ds.verification_set(0)
    assert d.images.shape == (6000, 1, 28, 28) and d.labels.min() == 0 and d.labels.max() == 9
    assert 0.12 < float(d.images.mean()) < 0.14  # MNIST's mean intensity is 0.1307
    assert d.spec["source_fingerprint"] == "423333a14484a26b"  # unchanged by the move to configs
    full = ds.load("test")
    assert len(full) == 10000 and torch.bincount(full.labels).tolist()[0] == 980


@pytest.mark.realdata
def test_real_cifar10_image_folder(shared_data):
    ds = build("dataset", compose_config(["dataset=cifar10"]).dataset, data_dir=shared_data)
    d = ds.verification_set(0)
    assert d.images.shape == (5000, 3, 32, 32) and ds.classes == CIFAR10_CLASSES
    assert d.spec["source_fingerprint"] == "b647681d876529c8" and ds.smote_gp_v == 0.05

"""Datasets: layouts built in tmp_path, the embedded digits, the verification set, and the clear errors."""

from __future__ import annotations

import gzip
import json
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from distortion_reliability import data
from distortion_reliability.data import (
    DATASETS,
    load_split,
    read_idx,
    resolve_data_dir,
    verification_set,
    verification_set_from_config,
)
from distortion_reliability.errors import ConfigError, DataNotFoundError, UnknownNameError

torch.set_num_threads(1)
CONF = Path(__file__).resolve().parents[1] / "conf"


# ------------------------------------------------------------------------------------------ builders


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path.with_name(path.name + ".gz"), "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)


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


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# ------------------------------------------------------------------------------------------ data_dir


def test_resolve_data_dir_prefers_explicit_then_env_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("DR_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("DR_DATA_DIR")
    assert resolve_data_dir(None) == Path("data")


# ------------------------------------------------------------------------------------------ digits


def test_digits_splits_are_disjoint_stratified_and_in_unit_range():
    train, test = load_split("digits", "train"), load_split("digits", "test")
    assert train.images.shape == (898, 1, 8, 8) and test.images.shape == (899, 1, 8, 8)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert 0.0 <= float(test.images.min()) and float(test.images.max()) == 1.0
    assert test.classes == [str(i) for i in range(10)]
    # Stratified: every class appears in both halves, 87..92 times each.
    assert set(torch.bincount(test.labels).tolist()) <= set(range(87, 93))
    # Disjoint: together they are exactly the 1,797 bundled images (compare pixel rows).
    from sklearn.datasets import load_digits

    every = np.rint(load_digits().images / 16 * 255).astype(np.uint8).reshape(-1, 64)
    both = np.rint(torch.cat([train.images, test.images]).numpy() * 255).astype(np.uint8).reshape(-1, 64)
    assert sorted(map(bytes, both)) == sorted(map(bytes, every))
    assert train.fingerprint != test.fingerprint
    assert load_split("digits", "test").fingerprint == test.fingerprint


def test_digits_needs_no_data_dir(tmp_path):
    assert len(load_split("digits", "test", data_dir=tmp_path / "does-not-exist")) == 899


# ------------------------------------------------------------------------------------------ verification set


def test_verification_set_is_seeded_and_prefix_stable():
    a = verification_set("digits", size=200, seed=3)
    b = verification_set("digits", size=200, seed=3)
    c = verification_set("digits", size=200, seed=4)
    prefix = verification_set("digits", size=50, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels) and a.fingerprint == b.fingerprint
    assert not torch.equal(a.images, c.images) and a.fingerprint != c.fingerprint
    assert torch.equal(prefix.images, a.images[:50])  # a larger D starts with the smaller one
    assert a.images.shape == (200, 1, 8, 8) and len(a) == 200
    # Classes are mixed from the start (random order), not sorted by label.
    assert len(set(a.labels[:30].tolist())) >= 6
    assert json.loads(json.dumps(a.spec)) == a.spec
    assert a.spec["size"] == 200 and a.spec["seed"] == 3 and a.spec["split"] == "test"
    assert a.spec["source_fingerprint"] == c.spec["source_fingerprint"]


def test_verification_set_default_sizes_follow_table_2():
    sizes = {n: DATASETS[n].verification_size for n in DATASETS}
    assert sizes == {"digits": None, "mnist": 6000, "fashion_mnist": 6000, "cifar10": 5000, "cifar100": 5000,
                     "tiny_imagenet": 10000, "imagenette": 1000, "image_folder": None}
    assert len(verification_set("digits")) == 899  # digits: the whole test half


def test_verification_set_rejects_sizes_it_cannot_draw():
    with pytest.raises(ConfigError, match=r"verification_size .*899.*got 900"):
        verification_set("digits", size=900)
    with pytest.raises(ConfigError, match="verification_size"):
        verification_set("digits", size=0)
    with pytest.raises(ConfigError, match="seed"):
        verification_set("digits", seed="zero")


def test_dataset_configs_build_their_verification_sets():
    import yaml

    names = sorted(p.stem for p in (CONF / "dataset").glob("*.yaml"))
    assert names == sorted(DATASETS)
    for name in names:
        cfg = yaml.safe_load((CONF / "dataset" / f"{name}.yaml").read_text())
        assert cfg["name"] == name and 0 < cfg["h"] < 1 and cfg["default_model"]
        assert set(data.loader_options(cfg)) <= set(DATASETS[name].options), name
    digits_cfg = yaml.safe_load((CONF / "dataset" / "digits.yaml").read_text())
    d = verification_set_from_config(digits_cfg)
    assert len(d) == 899 and d.spec["options"] == {"split_seed": 0, "test_fraction": 0.5}


# ------------------------------------------------------------------------------------------ bad input


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UnknownNameError) as info:
        load_split("mnsit", "test")
    message = str(info.value)
    assert "mnsit" in message and all(name in message for name in DATASETS)


def test_bad_split_and_unknown_option_name_the_field():
    with pytest.raises(ConfigError, match=r"digits\.split .*got 'validation'"):
        load_split("digits", "validation")
    with pytest.raises(ConfigError, match="digits option .*got 'root'"):
        load_split("digits", "test", root="x")
    with pytest.raises(ConfigError, match="test_fraction"):
        load_split("digits", "test", test_fraction=1.5)


@pytest.mark.parametrize(
    "name, split, layout_words",
    [
        ("mnist", "test", ["MNIST/raw", "t10k-images-idx3-ubyte"]),
        ("fashion_mnist", "train", ["FashionMNIST/raw", "train-images-idx3-ubyte"]),
        ("cifar10", "test", ["cifar-10-batches-py", "cifar10/test/<class>"]),
        ("cifar100", "test", ["cifar-100-python", "cifar100/test/<class>"]),
        ("tiny_imagenet", "val", ["tiny-imagenet-200", "val_annotations.txt"]),
        ("imagenette", "val", ["imagenette2-320", "<wnid>"]),
    ],
)
def test_missing_data_raises_one_clear_error(tmp_path, name, split, layout_words):
    with pytest.raises(DataNotFoundError) as info:
        load_split(name, split, data_dir=tmp_path)
    message = str(info.value)
    assert repr(name) in message and str(tmp_path) in message and "DR_DATA_DIR" in message
    for word in layout_words:
        assert word in message


def test_missing_data_uses_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("DR_DATA_DIR", str(tmp_path / "from-env"))
    with pytest.raises(DataNotFoundError, match="from-env"):
        verification_set("mnist")


def test_failed_download_becomes_data_not_found(monkeypatch, tmp_path):
    """Offline, torchvision's download raises; the user sees one DataNotFoundError naming the dataset."""
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(tvd, "MNIST", offline)
    with pytest.raises(DataNotFoundError, match=r"'mnist'.*MNIST/raw.*Download failed: URLError"):
        load_split("mnist", "test", data_dir=tmp_path, download=True)


# ------------------------------------------------------------------------------------------ layouts


@pytest.mark.parametrize("name, folder, compress", [("mnist", "MNIST", True), ("fashion_mnist", "FashionMNIST", False)])
def test_raw_idx_layout_loads_exact_pixels(tmp_path, rng, name, folder, compress):
    made = build_idx_tree(tmp_path, folder, compress, rng)
    for split in ("train", "test"):
        images, labels = made[split]
        loaded = load_split(name, split, data_dir=tmp_path)
        assert loaded.images.shape == (len(labels), 1, 28, 28)
        assert torch.equal(torch.round(loaded.images[:, 0] * 255).to(torch.uint8), torch.from_numpy(images))
        assert loaded.labels.tolist() == labels.tolist()
    assert len(load_split(name, "test", data_dir=tmp_path).classes) == 10


def test_read_idx_rejects_a_truncated_file(tmp_path):
    write_idx(tmp_path / "x-idx3-ubyte", np.zeros((2, 3, 3)), compress=False)
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ConfigError, match="idx file"):
        read_idx(path)


def test_cifar10_image_folder_layout(tmp_path, rng):
    made = build_image_folder(tmp_path / "cifar10" / "test", CIFAR10_CLASSES, 2, (32, 32), rng)
    loaded = load_split("cifar10", "test", data_dir=tmp_path)
    assert loaded.classes == CIFAR10_CLASSES
    assert loaded.images.shape == (20, 3, 32, 32)
    # Files come in class order, then name order: check every image's pixels and label.
    for k, (rel, (arr, label)) in enumerate(sorted(made.items(), key=lambda kv: (kv[1][1], kv[0]))):
        assert loaded.labels[k] == label
        assert torch.equal(torch.round(loaded.images[k] * 255).to(torch.uint8).permute(1, 2, 0), torch.from_numpy(arr))
    d = verification_set("cifar10", data_dir=tmp_path, size=8, seed=1)
    assert d.images.shape == (8, 3, 32, 32) and d.spec["split"] == "test"


def test_cifar_image_folder_with_wrong_class_count_is_rejected(tmp_path, rng):
    build_image_folder(tmp_path / "cifar10" / "test", CIFAR10_CLASSES[:3], 1, (32, 32), rng)
    with pytest.raises(ConfigError, match="must number 10, got 3"):
        load_split("cifar10", "test", data_dir=tmp_path)


def test_generic_image_folder_with_splits_resize_and_errors(tmp_path, rng):
    build_image_folder(tmp_path / "mine" / "train", ["cat", "dog"], 2, (20, 30), rng)
    build_image_folder(tmp_path / "mine" / "test", ["cat", "dog"], 3, (20, 30), rng)
    d = verification_set("image_folder", data_dir=tmp_path, root="mine", image_size=16)
    assert d.spec["split"] == "test" and d.images.shape == (6, 3, 16, 16) and d.classes == ["cat", "dog"]
    native = load_split("image_folder", "train", data_dir=tmp_path, root=tmp_path / "mine")
    assert native.images.shape == (4, 3, 20, 30)
    gray = load_split("image_folder", "train", data_dir=tmp_path, root="mine", mode="L")
    assert gray.images.shape == (4, 1, 20, 30)
    write_png(tmp_path / "mine" / "train" / "cat" / "odd.png", np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ConfigError, match="image_size"):
        load_split("image_folder", "train", data_dir=tmp_path, root="mine")
    with pytest.raises(ConfigError, match="image_folder.root"):
        load_split("image_folder", "train", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="val"):
        load_split("image_folder", "val", data_dir=tmp_path, root="mine")
    assert data.held_out_split("image_folder", tmp_path, root="mine") == "test"
    assert data.held_out_split("image_folder", tmp_path, root="mine/train") == "all"
    assert data.held_out_split("imagenette") == "val" and data.held_out_split("cifar10") == "test"


def test_tiny_imagenet_layout_reads_val_annotations(tmp_path, rng):
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n02", "n01"]  # written unsorted: labels follow the sorted wnids
    (root).mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for w in wnids:
        for i in range(2):
            write_png(root / "train" / w / "images" / f"{w}_{i}.JPEG", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    # Solid colours survive JPEG nearly exactly, so pixel values check which file was read.
    write_png(root / "val" / "images" / "val_0.JPEG", np.full((64, 64, 3), 250, np.uint8))
    write_png(root / "val" / "images" / "val_1.JPEG", np.full((64, 64, 3), 10, np.uint8))
    (root / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn02\t0\t0\t10\t10\nval_1.JPEG\tn01\t1\t1\t5\t5\n")
    val = load_split("tiny_imagenet", "val", data_dir=tmp_path)
    assert val.classes == ["n01", "n02"] and val.labels.tolist() == [1, 0]
    assert float(val.images[0].mean()) > 0.95 and float(val.images[1].mean()) < 0.06
    train = load_split("tiny_imagenet", "train", data_dir=tmp_path)
    assert train.images.shape == (4, 3, 64, 64) and train.labels.tolist() == [0, 0, 1, 1]


def test_imagenette_layout_resizes_shorter_side_then_center_crops(tmp_path):
    root = tmp_path / "imagenette2" / "val"  # the full-size variant is found too
    # 40x80 image: left half black, right half white; a center crop keeps both halves.
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, 40:] = 255
    write_png(root / "n01440764" / "a.png", arr)
    write_png(root / "n03888257" / "b.png", np.full((60, 50, 3), 128, np.uint8))
    d = load_split("imagenette", "val", data_dir=tmp_path, image_size=16, resize_size=20)
    assert d.images.shape == (2, 3, 16, 16) and d.classes == ["n01440764", "n03888257"]
    first = d.images[0, 0]
    assert float(first[:, :6].max()) < 0.05 and float(first[:, -6:].min()) > 0.95
    assert abs(float(d.images[1].mean()) - 128 / 255) < 0.01


# ------------------------------------------------------------------------------------------ real data


def test_real_mnist_verification_set(shared_data):
    d = verification_set("mnist", data_dir=shared_data)
    assert d.images.shape == (6000, 1, 28, 28) and d.labels.min() == 0 and d.labels.max() == 9
    assert 0.12 < float(d.images.mean()) < 0.14  # MNIST's mean intensity is 0.1307
    full = load_split("mnist", "test", data_dir=shared_data)
    assert len(full) == 10000 and torch.bincount(full.labels).tolist()[0] == 980

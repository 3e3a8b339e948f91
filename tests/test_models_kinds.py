"""Every model kind loads a model the test builds and predicts like the in-memory module.

Formats: a state_dict (.pt) and safetensors into a user's own class (``custom``), TorchScript,
torch.export (.pt2), ONNX (onnxruntime), a timm and a torchvision architecture with random weights,
torchvision weights from the torch hub cache (and the offline error), and a CIFAR ResNet-44 in
akamaster's checkpoint layout.
"""

from __future__ import annotations

import urllib.error
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from distortion_reliability.errors import ConfigError, DataNotFoundError
from distortion_reliability.models import CheckpointError, CifarResNet, LeNet5, predict

from test_models import FakeDataset, build_factory, compose_model

MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def randomize_batchnorm(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics and affine parameters, so eval-mode BN is not an identity a loader could fake."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net.eval()


def images(n: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def normalized(x: torch.Tensor, mean=MEAN, std=STD) -> torch.Tensor:
    return (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)


def assert_same_predictions(loaded, reference: torch.Tensor, x: torch.Tensor, atol: float = 1e-5) -> None:
    with torch.inference_mode():
        out = loaded.module(x)
    assert out.shape == reference.shape
    assert torch.allclose(out, reference, atol=atol), float((out - reference).abs().max())
    assert torch.equal(predict(loaded, x), reference.argmax(1))


def tiny_bn_net(seed: int = 0, classes: int = 3) -> nn.Module:
    """conv-BN-ReLU x2, pooling, linear: small enough to export in seconds, with BN to get wrong in train mode."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2),
                        nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, classes))
    return randomize_batchnorm(net, seed)


def lenet(seed: int = 0, channels: int = 3, classes: int = 4, size: int = 12) -> LeNet5:
    torch.manual_seed(seed)
    return LeNet5(channels, classes, size).eval()


# ------------------------------------------------------------------------------------------ custom


def test_custom_module_from_a_state_dict_and_from_safetensors(tmp_path):
    from safetensors.torch import save_file

    net = lenet()
    ds = FakeDataset(classes="abcd", channels=3, image_size=12)
    x = images(10, 3, 12)
    reference = net(normalized(x))
    torch.save(net.state_dict(), tmp_path / "mine.pt")
    save_file(net.state_dict(), str(tmp_path / "mine.safetensors"))
    fingerprints = set()
    for name in ("mine.pt", "mine.safetensors"):
        node = compose_model(tmp_path, "custom", "model.net._target_=distortion_reliability.models.LeNet5",
                             "+model.net.in_channels=3", "+model.net.num_classes=4", "+model.net.image_size=12",
                             f"model.checkpoint={tmp_path / name}", f"model.mean={MEAN}", f"model.std={STD}")
        loaded = build_factory(node)(dataset=ds)
        assert loaded.name == "custom:LeNet5" and loaded.classes == list("abcd")
        assert_same_predictions(loaded, reference, x)
        fingerprints.add(loaded.fingerprint)
    assert len(fingerprints) == 2  # keyed by the file's bytes


# ------------------------------------------------------------------------------------------ deployment formats


def test_torchscript_archive(tmp_path):
    net = randomize_batchnorm(CifarResNet(20, num_classes=3))
    x = images(6, 3, 16)
    reference = net(normalized(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates TorchScript
        torch.jit.trace(net, normalized(x)).save(str(tmp_path / "model.ts"))
    ds = FakeDataset(classes="xyz", channels=3, image_size=16)
    node = compose_model(tmp_path, "torchscript", f"model.checkpoint={tmp_path / 'model.ts'}",
                         f"model.mean={MEAN}", f"model.std={STD}")
    loaded = build_factory(node)(dataset=ds)
    assert loaded.name == "torchscript:model.ts"
    assert_same_predictions(loaded, reference, x)
    # The oracle's treatment: channels_last, bf16 autocast, eval() - still the same decisions.
    module = loaded.module.to(memory_format=torch.channels_last).eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x.contiguous(memory_format=torch.channels_last))
    assert (out.float().argmax(1) == reference.argmax(1)).float().mean() >= 0.8

    torch.save(net.state_dict(), tmp_path / "state.pt")  # a state_dict is not an archive
    node = compose_model(tmp_path, "torchscript", f"model.checkpoint={tmp_path / 'state.pt'}")
    with pytest.raises(CheckpointError, match="cannot be loaded"):
        build_factory(node)(dataset=ds)


def test_torch_export_archive_dynamic_and_static_batch(tmp_path):
    net = tiny_bn_net()
    x = images(7, 3, 16)
    reference = net(x)
    ds = FakeDataset(classes="xyz", channels=3, image_size=16)
    dynamic = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    torch.export.save(dynamic, tmp_path / "dynamic.pt2")
    static = torch.export.export(net, (x[:4],))  # batch fixed at 4: fed in chunks of 4, the last padded
    torch.export.save(static, tmp_path / "static.pt2")
    for name in ("dynamic.pt2", "static.pt2"):
        loaded = build_factory(compose_model(tmp_path, "export", f"model.checkpoint={tmp_path / name}"))(dataset=ds)
        assert loaded.name == f"export:{name}"
        assert_same_predictions(loaded, reference, x)
        module = loaded.module.to(memory_format=torch.channels_last)
        module.eval()  # exported graphs refuse eval(); the wrapper absorbs it
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            assert module(x.contiguous(memory_format=torch.channels_last)).shape == (7, 3)


def test_onnx_model_runs_in_onnxruntime(tmp_path):
    net = tiny_bn_net()
    x = images(9, 3, 16)
    reference = net(normalized(x))
    ds = FakeDataset(classes="xyz", channels=3, image_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (normalized(x[:2]),), str(tmp_path / "model.onnx"), input_names=["images"],
                          dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), dynamo=True, verbose=False)
    node = compose_model(tmp_path, "onnx", f"model.checkpoint={tmp_path / 'model.onnx'}",
                         f"model.mean={MEAN}", f"model.std={STD}")
    loaded = build_factory(node)(dataset=ds)
    assert loaded.name == "onnx:model.onnx" and loaded.module.net.providers == ["CPUExecutionProvider"]
    assert list(loaded.module.parameters()) == []
    assert_same_predictions(loaded, reference, x, atol=1e-4)
    # The oracle's treatment: .to(channels_last), eval(), bf16 autocast, inference mode.
    module = loaded.module.to("cpu", memory_format=torch.channels_last).eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x.contiguous(memory_format=torch.channels_last))
    assert out.dtype == torch.float32 and torch.allclose(out, reference, atol=1e-4)

    # An archive exported with a fixed batch of 2 is fed 9 images in chunks of 2 (the last one padded).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (normalized(x[:2]),), str(tmp_path / "static.onnx"), dynamo=True, verbose=False)
    node = compose_model(tmp_path, "onnx", f"model.checkpoint={tmp_path / 'static.onnx'}",
                         f"model.mean={MEAN}", f"model.std={STD}")
    static = build_factory(node)(dataset=ds)
    assert static.module.net.input_shape == (2, 3, 16, 16)
    assert_same_predictions(static, reference, x, atol=1e-4)

    (tmp_path / "bad.onnx").write_bytes((tmp_path / "model.onnx").read_bytes()[:300])
    node = compose_model(tmp_path, "onnx", f"model.checkpoint={tmp_path / 'bad.onnx'}")
    with pytest.raises(CheckpointError, match="cannot be loaded by onnxruntime"):
        build_factory(node)(dataset=ds)


# ------------------------------------------------------------------------------------------ architectures by name


def test_timm_architecture_with_weights_from_a_file(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = randomize_batchnorm(timm.create_model("test_resnet", pretrained=False, num_classes=3))
    save_file(net.state_dict(), str(tmp_path / "test_resnet.safetensors"))
    ds = FakeDataset(classes="xyz", channels=1, image_size=24)  # grey images, resized to 32 px for the net
    x = images(5, 1, 24)
    mean, std = net.pretrained_cfg["mean"], net.pretrained_cfg["std"]  # timm's own, the default
    resized = nn.functional.interpolate(x.expand(-1, 3, -1, -1), size=(32, 32), mode="bilinear",
                                        align_corners=False, antialias=True)
    reference = net(normalized(resized, mean, std))
    node = compose_model(tmp_path, "timm", "model.arch=test_resnet", "model.num_classes=3", "model.input_size=32",
                         f"model.checkpoint={tmp_path / 'test_resnet.safetensors'}")
    loaded = build_factory(node)(dataset=ds)
    assert loaded.name == "timm:test_resnet"
    assert_same_predictions(loaded, reference, x)


def test_torchvision_architecture_from_a_checkpoint_with_a_class_map(tmp_path):
    from torchvision.models import get_model

    torch.manual_seed(0)
    net = randomize_batchnorm(get_model("mobilenet_v3_small", weights=None, num_classes=20))
    torch.save({"model": net.state_dict()}, tmp_path / "mnv3.pth")
    ds = FakeDataset(classes=["cat", "dog", "fox"], channels=3, image_size=32)
    x = images(4, 3, 32)
    reference = net(normalized(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))[:, [7, 2, 19]]
    node = compose_model(tmp_path, "torchvision", "model.arch=mobilenet_v3_small", "model.num_classes=20",
                         f"model.checkpoint={tmp_path / 'mnv3.pth'}", "model.class_map={fox: 19, cat: 7, dog: 2}")
    loaded = build_factory(node)(dataset=ds)
    assert loaded.name == "torchvision:mobilenet_v3_small"
    assert_same_predictions(loaded, reference, x)
    # Without a class map, 20 outputs cannot be 3 classes: one error that says what to set.
    node = compose_model(tmp_path, "torchvision", "model.arch=mobilenet_v3_small", "model.num_classes=20",
                         f"model.checkpoint={tmp_path / 'mnv3.pth'}")
    with pytest.raises(ConfigError, match=r"model.class_map: None: must give one logit per class: .* outputs \(20,\)"):
        build_factory(node)(dataset=ds)


def test_torchvision_weights_enum_from_the_hub_cache_and_offline_error(monkeypatch, tmp_path):
    from torchvision.models import SqueezeNet1_1_Weights, get_model

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    downloads = []

    def offline(url, dst, *args, **kwargs):
        downloads.append(url)
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    ds = FakeDataset(classes=["a", "b"], channels=3, image_size=64)
    node = compose_model(tmp_path, "torchvision", "model.arch=squeezenet1_1", "model.weights=DEFAULT",
                         "model.class_map=[3, 5]")
    factory = build_factory(node)
    cached = tmp_path / "hub" / "checkpoints" / Path(SqueezeNet1_1_Weights.DEFAULT.url).name
    with pytest.raises(DataNotFoundError, match=f"looked for {cached}.*model.checkpoint=") as info:
        factory(dataset=ds)
    assert "SqueezeNet1_1_Weights.IMAGENET1K_V1" in str(info.value) and downloads == [SqueezeNet1_1_Weights.DEFAULT.url]

    torch.manual_seed(0)
    net = get_model("squeezenet1_1", weights=None).eval()
    cached.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), cached)
    loaded = factory(dataset=ds)
    x = images(3, 3, 64)
    assert_same_predictions(loaded, net(normalized(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))[:, [3, 5]], x)
    assert len(downloads) == 1  # read from the cache, no second download


# ------------------------------------------------------------------------------------------ CIFAR ResNets


@pytest.mark.parametrize("depth", [32, 44])
def test_cifar_resnet_of_another_depth_from_an_akamaster_checkpoint(depth, tmp_path):
    torch.manual_seed(depth)
    net = randomize_batchnorm(CifarResNet(depth), seed=depth)
    path = tmp_path / f"cifar10_resnet{depth}.th"
    # akamaster/pytorch_resnet_cifar10 saves {'state_dict': DataParallel keys, 'best_prec1': ...}.
    torch.save({"best_prec1": 92.5, "state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    assert "module.layer1.0.conv1.weight" in torch.load(path, weights_only=True)["state_dict"]
    ds = FakeDataset(classes=[f"c{i}" for i in range(10)], channels=3, image_size=32)
    node = compose_model(tmp_path, "cifar_resnet", f"model.depth={depth}", f"model.checkpoint={path}")
    loaded = build_factory(node)(dataset=ds)
    assert loaded.name == f"cifar_resnet{depth}"
    x = images(8, 3, 32)
    assert_same_predictions(loaded, net(normalized(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])), x)
    # The other depth's checkpoint does not fit: listed, not silently half-loaded.
    other = compose_model(tmp_path, "cifar_resnet", "model.depth=20", f"model.checkpoint={path}")
    with pytest.raises(CheckpointError, match=r"does not fit model 'cifar_resnet20': \d+ unexpected: layer1\.3\."):
        build_factory(other)(dataset=ds)


def test_input_adaptation_grey_to_rgb_and_resize(tmp_path):
    """A 3-channel 16 px network on 1-channel 12 px images: grey repeated, then resized."""
    net = lenet(channels=3, classes=4, size=16)
    torch.save(net.state_dict(), tmp_path / "w.pt")
    ds = FakeDataset(classes="abcd", channels=1, image_size=12)
    node = compose_model(tmp_path, "lenet5", f"model.checkpoint={tmp_path / 'w.pt'}", "model.input_channels=3",
                         "model.input_size=16")
    loaded = build_factory(node)(dataset=ds)
    x = images(5, 1, 12)
    big = nn.functional.interpolate(x.expand(-1, 3, -1, -1), size=(16, 16), mode="bilinear", align_corners=False,
                                    antialias=True)
    assert_same_predictions(loaded, net(big), x)
    assert loaded.spec["channels"] == 3 and tuple(loaded.spec["size"]) == (16, 16)

"""Every config composes and instantiates; root keys are typed and checked once.

Like lightning-hydra-template's test_configs.py: each option of each group is composed through
Hydra and built through the one gateway, ``build(group, node)``, from its ``_target_`` (no oracle,
no data read),
so a YAML key that drifted from the code fails here, the way a user would hit it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from distortion_reliability.build import build, label_of, resolve_model_config
from distortion_reliability.config import GROUPS, RootSchema, compose_config, conf_dir, validate
from distortion_reliability.errors import ConfigError
from distortion_reliability.stages import Job

REPO_ROOT = Path(__file__).resolve().parents[1]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def test_every_group_option_has_a_target():
    for group in GROUPS:
        for option in options(group):
            node = OmegaConf.load(conf_dir() / group / f"{option}.yaml")
            has_target = "_target_" in node or "defaults" in node or option == "auto"
            if group == "predictors":
                has_target = all("_target_" in v for k, v in node.items() if k not in ("name", "defaults"))
            assert has_target, f"conf/{group}/{option}.yaml has no _target_"


def test_default_config_is_the_offline_embedded_default():
    cfg = compose_config()
    assert cfg.dataset.name == "digits"
    assert resolve_model_config(cfg).name == "small_cnn"
    assert cfg.sampler.name == "gp" and cfg.imbalance.name == "smote_gp"  # the paper's method
    assert cfg.grid.points_per_dim == 4
    validate(cfg)


def test_default_components_build_without_io(tmp_path):
    comp = Job.from_config(compose_config([f"data_dir={tmp_path}", f"cache_dir={tmp_path}/cache"]))
    assert comp.labels["sampler"] == "gp" and comp.labels["model"] == "small_cnn"
    assert set(comp.predictors) == {"dt", "rf", "lr", "svm", "nn", "gp_classifier"}  # predictors=with_gp: the GP answers
    assert comp.space.box.d == 6
    assert not (tmp_path / "cache").exists()  # building is cheap: nothing written


@pytest.mark.parametrize("dataset", options("dataset"))
def test_each_dataset_instantiates_with_its_default_model(dataset, tmp_path):
    cfg = compose_config([f"dataset={dataset}"])
    ds = build("dataset", cfg.dataset, data_dir=str(tmp_path))  # reads no file yet
    assert ds.h == pytest.approx(cfg.h)
    model = resolve_model_config(cfg)
    assert model.name == cfg.dataset.default_model
    factory = build("model", cfg.model)  # model: auto resolved by the gateway
    assert callable(factory) and factory.label == cfg.dataset.default_model == label_of("model", cfg.model)


def build_model(option: str, overrides=()):
    """The option's factory, with a placeholder for each setting its YAML leaves to the user (``???``)."""
    overrides = [f"model={option}", *overrides]
    for _ in range(4):
        try:
            return build("model", compose_config(overrides).model)
        except ConfigError as err:  # the gateway names the one unset setting: set it and try again
            if err.expected != "must be set":
                raise
            overrides.append(f"{err.field}=placeholder")
    raise AssertionError(overrides)


@pytest.mark.parametrize("model", [m for m in options("model") if m != "auto"])
def test_each_model_option_instantiates_a_factory(model):
    assert callable(build_model(model))


@pytest.mark.parametrize("group", ["distortion", "sampler", "imbalance"])
def test_each_option_instantiates(group):
    for option in options(group):
        cfg = compose_config([f"{group}={option}"])
        built = build(group, cfg[group])
        assert built is not None and built.label == option, option


def test_each_predictors_option_builds():
    for option in options("predictors"):
        built = build("predictors", compose_config([f"predictors={option}"]).predictors)
        assert built and all(hasattr(p, "fit") for p in built.values()) and built.label == option


@pytest.mark.parametrize("group", [g for g in GROUPS + ("tracking",)])
def test_every_option_of_every_group_builds_through_the_gateway(group, tmp_path):
    """One function builds them all: name dropped, auto resolved, the result labelled with its option."""
    for option in options(group):
        cfg = compose_config([f"{group}={option}", f"data_dir={tmp_path}"])
        runtime = {"data_dir": tmp_path} if group == "dataset" else {}
        built = build_model(option, [f"data_dir={tmp_path}"]) if group == "model" else build(group, cfg[group], **runtime)
        expected = cfg.dataset.default_model if option == "auto" else option
        assert built.label == expected, (group, option)
        assert not (isinstance(built, dict) and "name" in built), (group, option)


@pytest.mark.parametrize("experiment", options("experiment"))
def test_each_experiment_composes_and_builds(experiment, tmp_path):
    cfg = compose_config([f"experiment={experiment}", f"data_dir={tmp_path}"])
    comp = Job.from_config(cfg)
    assert comp.labels["model"] == cfg.dataset.default_model or comp.labels["model"] == cfg.model.name


def test_sampler_label_is_the_chosen_option_not_the_parent_config():
    cfg = compose_config(["sampler=gp_sqrt"], return_hydra_config=True)
    comp = Job.from_config(cfg)
    assert comp.labels["sampler"] == "gp_sqrt"


def test_model_override_keys_survive_auto():
    cfg = compose_config(["dataset=mnist", "+model.checkpoint=/x/y.pt"])
    model = resolve_model_config(cfg)
    assert model.name == "lenet5" and model.checkpoint == "/x/y.pt"


def test_dataset_facts_come_from_the_dataset_yaml():
    expected = {"mnist": 0.90, "fashion_mnist": 0.75, "cifar10": 0.85, "cifar100": 0.65,
                "tiny_imagenet": 0.45, "imagenette": 0.70}
    for dataset, h in expected.items():
        assert compose_config([f"dataset={dataset}"]).h == pytest.approx(h)
    assert OmegaConf.to_container(compose_config(["dataset=cifar10"]).imbalance, resolve=True)["v"] == 0.05


BAD = [
    ("grid.points_per_dim=2.5", "grid.points_per_dim"),
    ("progress=maybe", "progress"),
    ("threads=0", "threads"),
    ("seed=abc", "seed"),
    ("seed=-1", "seed"),
    ("device=tpu", "device"),
    ("+oracle.bogus=1", "oracle.bogus"),
    ("+bogus=1", "bogus"),
    ("cache_dir=''", "cache_dir"),
    ("h=1.5", "h"),
    ("oracle.precision=fp8", "oracle.precision"),
    ("oracle.batch_size=0", "oracle.batch_size"),
    ("grid.points_per_dim=1", "grid.points_per_dim"),
    ("grid.kind=halton", "grid.kind"),
    ("grid.size=1", "grid.size"),
    ("grid.seed=-1", "grid.seed"),
]


@pytest.mark.parametrize(("override", "field"), BAD)
def test_bad_root_values_name_their_field(override, field):
    with pytest.raises(ConfigError) as err:
        validate(compose_config([override]))
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


@pytest.mark.parametrize("engine", ["fp32", "bf16", "fp32-nchw", "bf16-nchw", "onnxruntime"])
def test_every_engine_auto_can_choose_can_be_pinned(engine):
    from distortion_reliability.models.engines import ONNX, TORCH_ENGINES

    assert engine in (*TORCH_ENGINES, ONNX)
    assert validate(compose_config([f"oracle.precision={engine}"])).oracle.precision == engine


def test_validate_returns_typed_settings():
    settings = validate(compose_config(["threads=2", "h=0.3"]))
    assert isinstance(settings, RootSchema)
    assert settings.threads == 2 and settings.h == 0.3 and settings.oracle.precision == "auto"


@pytest.mark.parametrize("override", ["imbalance.sampler.k_neighbors=0", "sampler.budget=-5", "+predictors.dt.max_depth=-3",
                                      "+sampler.bogus=1", "+imbalance.bogus=1"])
def test_bad_group_settings_fail_when_built(override, tmp_path):
    with pytest.raises(ConfigError):
        comp = Job.from_config(compose_config([override, f"data_dir={tmp_path}"]))
        # some estimators check their parameters only when fitted
        import numpy as np

        X = np.random.default_rng(0).random((20, 6))
        y = np.r_[np.ones(8), np.zeros(12)].astype(int)
        comp.method.fit_predictors(X, y, X[:, 0], comp.predictors, 0)


@pytest.mark.parametrize(("override", "field"), [("grid.points_per_dim=2.5", "grid.points_per_dim"),
                                                 ("+oracle.bogus=1", "oracle.bogus"),
                                                 ("device=tpu", "device")])
def test_entry_point_prints_one_error_line_and_exits_2(override, field, tmp_path):
    proc = subprocess.run([sys.executable, "run.py", override, "tracking=none", f"hydra.run.dir={tmp_path}/out"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [line for line in lines if line.startswith(f"error: {field}: ")], proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("override", "message"), [
    ("grid.points_per_dim=2.5", "grid.points_per_dim: 2.5: must be an integer"),
    ("progress=maybe", "progress: maybe: must be true or false"),
    ("+oracle.bogus=1", "oracle.bogus: 1: is not a known setting"),
    ("device=tpu", "device: tpu: must be auto, cpu, cuda or cuda:<index>"),
])
def test_bad_values_read_as_a_person_would(override, message):
    with pytest.raises(ConfigError) as err:
        validate(compose_config([override]))
    assert str(err.value) == message

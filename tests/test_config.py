"""Every config composes, and every group's keys are accepted by the factory it feeds.

Constructing (not running) each sampler, imbalance method and predictor from its YAML catches a
config key that drifted from the code, the way a user would hit it: at `python run.py ...`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from distortion_reliability.errors import ConfigError
from distortion_reliability.pipeline import CONF_DIR, compose_config, resolve_model_config


def names(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_default_config_is_the_offline_embedded_default():
    cfg = compose_config()
    assert cfg.dataset.name == "digits"
    assert resolve_model_config(cfg).name == "small_cnn"
    assert cfg.grid.points_per_dim == 4
    assert 0 < cfg.h < 1


@pytest.mark.parametrize("dataset", names("dataset"))
def test_each_dataset_composes_with_its_default_model(dataset):
    cfg = compose_config([f"dataset={dataset}"])
    model = resolve_model_config(cfg)
    assert model.name == cfg.dataset.default_model
    assert (CONF_DIR / "model" / f"{model.name}.yaml").is_file()
    assert 0 <= cfg.h <= 1


def test_model_override_keys_survive_auto():
    cfg = compose_config(["dataset=mnist", "+model.checkpoint=/x/y.pt"])
    model = resolve_model_config(cfg)
    assert model.name == "lenet5" and model.checkpoint == "/x/y.pt"


def test_paper_table2_thresholds():
    expected = {"mnist": 0.90, "fashion_mnist": 0.75, "cifar10": 0.85, "cifar100": 0.65,
                "tiny_imagenet": 0.45, "imagenette": 0.70}
    for dataset, h in expected.items():
        assert compose_config([f"dataset={dataset}"]).h == pytest.approx(h)


@pytest.mark.parametrize("sampler", names("sampler"))
def test_each_sampler_config_builds(sampler):
    from distortion_reliability.sampling import make_sampler

    params = OmegaConf.to_container(compose_config([f"sampler={sampler}"]).sampler, resolve=True)
    assert make_sampler(params.pop("name"), **params) is not None


@pytest.mark.parametrize("method", [n for n in names("imbalance") if n != "sv"])
def test_each_imbalance_config_builds(method):
    from distortion_reliability.imbalance import make_method

    params = OmegaConf.to_container(compose_config([f"imbalance={method}"]).imbalance, resolve=True)
    assert params["name"] == method
    assert make_method(params.pop("name"), **params) is not None


def test_seventeen_baselines_none_and_smote_gp_are_configured():
    baselines = {"reweight", "random_under", "nearmiss", "random_over", "smote", "adasyn", "smote_borderline",
                 "smote_svm", "smote_enn", "smote_tomek", "smote_wb", "spe", "mesa", "gan", "vae", "ctgan", "tvae"}
    assert len(baselines) == 17
    assert set(names("imbalance")) == baselines | {"none", "smote_gp", "sv"}


def test_predictors_config_builds_five():
    from distortion_reliability.predictors import make_predictors

    params = OmegaConf.to_container(compose_config().predictors, resolve=True)
    assert sorted(make_predictors(params, seed=0, h=0.5)) == ["dt", "lr", "nn", "rf", "svm"]


def test_unknown_group_option_lists_valid_names():
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="cifar10"):
        compose_config(["dataset=nope"])


def test_distortion_config_matches_table1():
    from distortion_reliability.distortions import DistortionSpace

    space = DistortionSpace.from_config(OmegaConf.to_container(compose_config().distortion, resolve=True))
    assert space.names == ("scale", "rotation", "translation_x", "translation_y", "darkness", "rain")
    assert space.box.lower.tolist() == [0.7, 0.0, -0.2, -0.2, 0.7, 0.0]
    assert space.box.upper.tolist() == [1.3, 90.0, 0.2, 0.2, 1.3, 1.0]


def test_bad_threshold_is_named():
    from distortion_reliability.pipeline import build_oracle

    with pytest.raises(ConfigError, match="^h must lie in"):
        build_oracle(compose_config(["h=1.5"]))

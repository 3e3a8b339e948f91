"""Study configs (conf/study/*.yaml): each composes and its sweep expands to the documented jobs.

No oracle work: the sweep is expanded the way Hydra's basic sweeper does it, and every value that
appears in a study's sweep is composed at least once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def conf() -> Path:
    return REPO / "conf"


def _compose(conf: Path, overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _covering(jobs: list[list[str]]) -> list[list[str]]:
    """A few jobs that together use every override value of the sweep."""
    seen: set[str] = set()
    chosen = []
    for job in jobs:
        if set(job) - seen:
            chosen.append(job)
            seen |= set(job)
    return chosen


#: The paper's studies and their job counts (one dataset), as README and each conf/study/*.yaml say.
STUDY_JOBS = {"table3": 84, "table4": 42, "sampling": 15, "ablation_v": 21, "ablation_budget": 30,
              "ablation_h": 30, "ours": 24, "matched": 6}


def test_study_files_are_the_documented_ones():
    from distortion_reliability.tracking.studies import study_names

    files = {p.stem for p in (REPO / "conf" / "study").glob("*.yaml")}
    assert files == set(STUDY_JOBS) and study_names() == sorted(files)


@pytest.mark.parametrize("study", ["table3", "table4", "sampling", "ablation_v", "ablation_budget", "ablation_h", "ours"])
def test_study_expands_to_documented_jobs_that_compose(study, conf):
    from distortion_reliability.tracking import experiment_name
    from distortion_reliability.tracking.studies import sweep_jobs

    jobs = sweep_jobs([f"study={study}", "dataset=mnist"], conf)
    assert len(jobs) == STUDY_JOBS[study]
    assert len({tuple(j) for j in jobs}) == len(jobs)  # no job twice
    assert all(f"seed={s}" in sum(jobs, []) for s in (0, 1, 2))
    for job in _covering(jobs):
        cfg = _compose(conf, job)
        assert cfg.study == study and experiment_name(cfg) == f"{study}-mnist"
        assert cfg.grid.points_per_dim == 4 and cfg.dataset.name == "mnist"
        if not any(o.startswith("sampler.budget=") for o in job):
            assert cfg.sampler.budget == 600


def test_sweep_contents_follow_the_paper(conf):
    from distortion_reliability.tracking.studies import sweep_jobs

    def values(study, key, dataset="mnist"):
        jobs = sweep_jobs([f"study={study}", f"dataset={dataset}"], conf)
        return sorted({o.split("=", 1)[1] for job in jobs for o in job if o.split("=", 1)[0] == key})

    assert values("table3", "sampler") == ["gp", "random"]
    assert len(values("table3", "imbalance")) == 14 and "smote_gp" in values("table3", "imbalance")
    assert values("table4", "imbalance") == sorted(["smote", "smote_borderline", "smote_svm", "smote_enn",
                                                    "smote_tomek", "smote_wb", "smote_gp"])
    assert values("sampling", "sampler") == sorted(["random", "gp", "gp_sqrt", "gp_batch", "straddle"])
    assert values("ablation_budget", "sampler.budget") == ["1000", "200", "400", "600", "800"]
    assert values("ablation_h", "h", "cifar10") == ["0.75", "0.8", "0.85", "0.88", "0.9"]
    assert values("ablation_h", "h", "digits") == ["0.3", "0.4", "0.5", "0.6", "0.7"]
    # the h list follows the dataset and always contains the dataset's own h
    for dataset in ("digits", "mnist", "cifar10", "fashion_mnist", "cifar100", "tiny_imagenet", "imagenette"):
        h = str(_compose(conf, [f"dataset={dataset}"]).dataset.h)
        assert float(h) in [float(v) for v in values("ablation_h", "h", dataset)], dataset
    # a command-line value narrows a study's sweep, as with Hydra
    assert len(sweep_jobs(["study=table3", "dataset=mnist", "seed=0"], conf)) == 28


def test_ablation_v_arms_set_method_and_v(conf):
    arms = {}
    for arm in ("smote", "smote_gp_v0.001", "smote_gp_v0.05", "smote_gp_v0.5"):
        cfg = _compose(conf, ["study=ablation_v", f"+study/v_arm={arm}", "dataset=cifar10"])
        arms[arm] = cfg
    assert arms["smote"].imbalance.name == "smote" and "v" not in arms["smote"].imbalance
    assert arms["smote_gp_v0.001"].imbalance.name == "smote_gp" and arms["smote_gp_v0.001"].imbalance.v == 0.001
    assert arms["smote_gp_v0.5"].imbalance.v == 0.5 and arms["smote"].sampler.name == "gp"


def test_ours_adds_the_gp_classifier(conf):
    cfg = _compose(conf, ["study=ours", "dataset=mnist"])
    assert "gp_classifier" in cfg.predictors and {"dt", "rf", "lr", "svm", "nn"} <= set(cfg.predictors)


def test_unknown_study_lists_the_choices(conf):
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException) as err:
        _compose(conf, ["study=bogus"])
    assert "study/bogus" in str(err.value)
    assert "table3" in str(err.value) and "ablation_h" in str(err.value)

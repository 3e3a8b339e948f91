"""The reproduction write-up (issue 20): each run counted once, differences and trends judged by intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from distortion_reliability.reproduction import ablations, claims, document, stats, tables

ROOT = Path(__file__).resolve().parents[1]
FIVE = ("dt", "rf", "lr", "svm", "nn")


def _run(i, sampler, imbalance, seed, f1, positives=10, study="table3", **params):
    row = {"run_id": f"r{i}", "status": "FINISHED", "start_time": i, "tags.run_kind": "job",
           "tags.config_hash": f"h{i}", "tags.sampler": sampler, "tags.imbalance": imbalance, "tags.seed": seed,
           "tags.dataset": "mnist", "tags.h": params.pop("h", 0.9), "tags.model": "lenet5", "tags.study": study,
           "metrics.n_positive_sampled": positives, "metrics.n_sampled": 600,
           "metrics.grid_positive": 100, "metrics.grid_negative": 3996, "metrics.clean_accuracy": 0.99,
           "metrics.n_verification": 6000, "params.sampler.budget": 600, "params.sampler.name": sampler,
           "params.imbalance.name": imbalance}
    # f1_mean deliberately differs from the five predictors' mean: the judge must use the paper's five.
    row.update({f"metrics.f1_{p}": f1 for p in FIVE}, **{"metrics.f1_mean": 0.0})
    row.update({f"params.{k}": v for k, v in params.items()})
    return row


def _write(folder: Path, study: str, rows) -> None:
    folder.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / f"{study}_runs.csv", index=False)


def test_a_configuration_filed_under_two_studies_counts_once(tmp_path):
    f1 = [0.50, 0.60, 0.70]
    table3 = [_run(i, "gp", "smote_gp", seed, v) for i, (seed, v) in enumerate(zip(range(3), f1))]
    # the `ours` study ran the same three jobs again (other predictors: another config hash) and a GP classifier
    ours = [{**_run(10 + i, "gp", "smote_gp", seed, v, study="ours"), "metrics.f1_gp_classifier": 0.9}
            for i, (seed, v) in enumerate(zip(range(3), f1))]
    folder = tmp_path / "mnist"
    _write(folder, "table3", table3)
    _write(folder, "ours", ours)
    runs = tables.paper_runs(folder)
    cell = stats.summarize(tables.cell_values(runs, "gp", "smote_gp")["f1"])
    assert cell.n == 3 and cell.std == pytest.approx(np.std(f1, ddof=1))  # 6 rows would understate it
    assert cell.std == pytest.approx(0.1)
    assert runs["metrics.f1_gp_classifier"].notna().all()  # the ours copy's extra column survives the merge


def test_the_gp_classifier_counts_once_per_training_set(tmp_path):
    rows = [{**_run(i, "gp", method, seed, 0.5, study="ours"), "metrics.f1_gp_classifier": gpc}
            for i, (method, (seed, gpc)) in enumerate((m, s) for m in ("smote", "smote_gp")
                                                      for s in enumerate((0.2, 0.9, 0.5)))]
    folder = tmp_path / "mnist"
    _write(folder, "ours", rows)
    sets = tables.training_sets(tables.paper_runs(folder))
    assert len(sets) == 3
    assert stats.summarize(sets["metrics.f1_gp_classifier"]).std == pytest.approx(np.std((0.2, 0.9, 0.5), ddof=1))


def test_the_trend_test_uses_every_point_and_says_not_monotone():
    h = [0.3, 0.4, 0.5, 0.6, 0.7]
    digits = stats.trend(h, [0.653, 0.666, 0.598, 0.435, 0.504])  # SMOTE-GP on digits (issue 20)
    assert digits.word == "not monotone" and "Spearman" in str(digits)
    falling = stats.trend(h, [0.70, 0.62, 0.55, 0.41, 0.30])
    assert falling.word == "falling" and falling.high < 0
    # several seeds per x: means monotone but the spread swamps the slope -> no trend shown
    x = np.repeat(h, 3)
    noisy = stats.trend(x, np.repeat([0.50, 0.49, 0.48, 0.47, 0.46], 3) + np.tile([-0.3, 0.0, 0.3], 5))
    assert noisy.word == "no trend shown" and noisy.n == 15


def test_better_only_when_the_paired_interval_excludes_zero():
    seeds = pd.Index([0, 1, 2])
    base = pd.Series([0.60, 0.50, 0.70], index=seeds)
    # the audit's case: +0.020 / -0.001 / +0.009 per seed is noise
    assert stats.paired(base + [0.020, -0.001, 0.009], base).word == "no difference shown"
    assert stats.paired(base + [0.05, 0.06, 0.055], base).word == "better"
    assert stats.paired(base - [0.05, 0.06, 0.055], base).word == "worse"
    assert stats.unpaired([0.61, 0.62, 0.60], [0.50, 0.52, 0.51]).word == "better"
    assert "Welch" in stats.unpaired([0.61, 0.62, 0.60], [0.50, 0.52, 0.51]).test


def test_a_seed_without_positives_is_scored_zero_in_the_second_column(tmp_path):
    rows = [_run(i, "random", "reweight", seed, f1, positives=p) for i, (seed, f1, p) in
            enumerate(((0, 0.20, 5), (1, 0.164, 4), (2, float("nan"), 0)))]
    rows[2]["tags.skipped"] = "cannot rebalance with reweight: the training set has no positives (600 neg, 0 pos)"
    folder = tmp_path / "mnist"
    _write(folder, "table3", rows)
    runs = tables.paper_runs(folder)
    row = next(r for r in tables.paper_table(runs, "table3", "mnist") if "| reweight |" in r)
    finished, scored = row.split(" | ")[2:4]
    assert finished == "0.1820 ± 0.0255 (n = 2)"
    assert scored.startswith("0.1213 ± ") and scored.endswith("(n = 3)")
    assert "random + reweight seed 2" in tables.paper_table(runs, "table3", "mnist")[-1]


def test_claims_are_paired_and_judged_by_their_intervals(tmp_path):
    rows, i = [], 0
    for seed in range(3):
        for sampler, positives in (("random", 20 + seed), ("gp", 200 + 3 * seed)):
            base = 0.4 if sampler == "random" else 0.6
            # SMOTE-GP clearly better with GP sampling, indistinguishable with random
            deltas = {"smote": 0.0, "smote_gp": 0.03 + 0.002 * seed if sampler == "gp" else (-0.01, 0.01, 0.0)[seed]}
            for imbalance, delta in deltas.items():
                i += 1
                rows.append(_run(i, sampler, imbalance, seed, base + delta + 0.05 * seed, positives))
    _write(tmp_path / "mnist", "table3", rows)
    runs = tables.paper_runs(tmp_path / "mnist")
    verdict_a, lines_a = claims.claim_a(runs)
    assert verdict_a == "**confirmed**" and "paired t" in lines_a[0]
    verdict_b, lines_b = claims.claim_b(runs)
    assert verdict_b == "**partly confirmed**"
    assert lines_b[0].endswith("**no difference shown**") and lines_b[1].endswith("**better**")
    verdict_c, lines_c = claims.claim_c(runs)
    assert verdict_c == "**confirmed**" and "rank 1 of 4 rows" in lines_c[0] and "runner-up" in lines_c[1]


def test_a_post_hoc_best_row_is_marked_and_compared_unpaired_across_samplers(tmp_path):
    rows = [_run(i, s, m, seed, f1 + 0.01 * seed) for i, (s, m, seed, f1) in enumerate(
        (s, m, seed, f1) for seed in range(3) for s, m, f1 in
        (("gp", "smote_gp", 0.60), ("gp", "smote", 0.59), ("random", "smote", 0.61)))]
    _write(tmp_path / "mnist", "table3", rows)
    verdict, lines = claims.claim_c(tables.paper_runs(tmp_path / "mnist"))
    assert "post hoc" in lines[1] and "Welch" in lines[1]
    assert verdict.startswith("**not shown** (rank 2")


def test_ablation_claims_from_the_runs(tmp_path):
    rows, i = [], 0
    for seed in range(3):
        for budget in (200, 600, 1000):
            for imbalance, lift in (("smote", 0.0), ("smote_gp", 0.05 + 0.001 * seed)):
                i += 1
                rows.append(_run(i, "gp", imbalance, seed, 0.3 + budget / 5000 + lift + 0.01 * seed,
                                 **{"sampler.budget": budget}))
    folder = tmp_path / "digits"
    _write(folder, "ablation_budget", rows)
    text = "\n".join(ablations.ablation_section(folder, "digits"))
    assert "Figure 8" in text
    assert "SMOTE-GP beats SMOTE at every I (paired 95 % interval above 0): **confirmed** — of 3 values: better at 3" in text
    assert "both improve as I grows (rising: monotone means and a slope whose 95 % interval excludes 0): **confirmed**" in text

    runs = pd.DataFrame(rows)
    worse = (runs["params.sampler.budget"] == 600) & (runs["tags.imbalance"] == "smote_gp")
    for p in FIVE:
        runs.loc[worse, f"metrics.f1_{p}"] -= 0.2
    runs.to_csv(folder / "ablation_budget_runs.csv", index=False)
    text = "\n".join(ablations.ablation_section(folder, "digits"))
    assert "**not shown** — of 3 values: better at 2, worse at 1" in text
    assert "- SMOTE-GP: not monotone" in text.replace("  - ", "- ")


def test_a_dataset_without_ablations_says_so(tmp_path):
    assert ablations.ablation_section(tmp_path, "cifar10")[0] == "Not run for this dataset."


def test_commands_are_read_from_the_runs_overrides(tmp_path):
    folder = tmp_path / "cifar10_h0.73"
    rows = []
    for i, (sampler, seed) in enumerate((("random", 0), ("gp", 1))):
        row = _run(i, sampler, "smote", seed, 0.5)
        row["tags.overrides"] = (f"sampler={sampler} imbalance=smote seed={seed} study=table3 dataset=cifar10 "
                                 "data_dir=../shared/data progress=False dataset.verification_size=2000 h=0.73 "
                                 'study_sweep.h.cifar10="0.7,0.73"')
        row["params.tracking.uri"] = f"sqlite:///{ROOT}/mlflow_cifar10_h073.db"
        rows.append(row)
    _write(folder, "table3", rows)
    lines = document.commands_section(folder)
    assert ("MLFLOW_TRACKING_URI=sqlite:///mlflow_cifar10_h073.db experiments/study.sh table3 cifar10 "
            "dataset.verification_size=2000 h=0.73 'study_sweep.h.cifar10=\"0.7,0.73\"'") in lines  # quoted for the shell
    assert any(line.endswith("study=table3 dataset=cifar10 out=results/cifar10_h0.73") for line in lines)


def test_the_positive_share_of_r_is_reported_beside_the_papers(tmp_path):
    rows = [_run(i, s, "smote", seed, 0.5, positives=p) for i, (s, seed, p) in
            enumerate((("random", 0, 30), ("random", 1, 24), ("gp", 0, 300), ("gp", 1, 360)))]
    _write(tmp_path / "cifar10", "table3", rows)
    share = tables.positive_share_rows(tables.paper_runs(tmp_path / "cifar10"), "cifar10")
    assert "| random | 27 (24-30) | 4.5 % | 27 of 600 (4.5 %) | 2 |" in share
    assert "| gp | 330 (300-360) | 55.0 % | 130 of 600 (21.7 %) | 2 |" in share


def test_the_matched_sampler_sits_beside_the_papers_gp_count_it_targets(tmp_path):
    rows = [_run(i, "gp_matched", m, seed, 0.5, positives=130, study="matched")
            for i, (m, seed) in enumerate((("smote", 0), ("smote_gp", 0), ("smote", 1)))]
    for dataset in ("cifar10", "mnist"):
        _write(tmp_path / dataset, "matched", rows)
        share = tables.positive_share_rows(tables.paper_runs(tmp_path / dataset, ("matched",)), dataset)
        assert "| gp_matched | 130 (130-130) | 21.7 % | the target: 130 of 600 (21.7 %), " in share[2]
    assert "its GP sampler's here" in tables.positive_share_rows(
        tables.paper_runs(tmp_path / "cifar10", ("matched",)), "cifar10")[2]


def test_the_commands_name_a_sqlite_store_by_its_file_not_by_a_machines_folder():
    from distortion_reliability.reproduction.document import _relative_sqlite

    assert _relative_sqlite("sqlite:////work/main/mlflow_mnist_h074.db") == "sqlite:///mlflow_mnist_h074.db"
    assert _relative_sqlite("sqlite:///mlflow.db") == "sqlite:///mlflow.db"
    assert _relative_sqlite("http://host:5000") == "http://host:5000"


def test_a_folder_name_says_its_dataset_h_and_verification_size(tmp_path):
    assert tables.folder_setting("cifar10") == ("cifar10", None, None)
    assert tables.folder_setting("cifar10_h0.73") == ("cifar10", 0.73, None)
    assert tables.folder_setting("cifar10_n5000") == ("cifar10", None, 5000)
    assert tables.folder_setting("fashion_mnist_h0.54_n6000") == ("fashion_mnist", 0.54, 6000)
    assert tables.dataset_name("fashion_mnist_h0.54") == "fashion_mnist"
    assert document.folder_title("cifar10_n5000") == "cifar10 at N = 5,000 (the paper's)"
    assert document.folder_title("mnist_h0.74").startswith("mnist at h = 0.74 ")
    assert document.folder_title("digits") == "digits"
    # a folder at another N sorts beside its dataset, not after every dataset as an unknown name
    # and the paper's N after ours, each with the paper's h before the Appendix-A one
    for name in ("cifar10_n5000", "zzz", "mnist_h0.74", "fashion_mnist_h0.54_n6000", "fashion_mnist_n6000",
                 "fashion_mnist_h0.54"):
        _write(tmp_path / name, "table3", [_run(0, "gp", "smote", 0, 0.5)])
    assert document.result_folders(tmp_path) == ["digits", "mnist", "mnist_h0.74", "fashion_mnist", "fashion_mnist_h0.54",
                                                  "fashion_mnist_n6000", "fashion_mnist_h0.54_n6000", "cifar10",
                                                  "cifar10_n5000", "zzz"]


def test_stage_times_name_the_precision_the_oracle_ran_in():
    # `auto` chose bf16 at CIFAR-10 N = 2,000 and onnxruntime at 5,000: times scaled across them mislead
    rows = [_run(i, "gp", "smote", i, 0.5, **{"oracle.precision": "auto"}) for i in range(2)]
    runs = pd.DataFrame(rows)
    assert tables.oracle_precision(runs) == "not recorded"
    runs["tags.oracle_precision"] = ["bf16", "bf16"]
    assert tables.oracle_precision(runs) == "bf16"
    assert "oracle precision bf16 (pin it: `oracle.precision=bf16`)" in tables.setting_lines(runs)[0]
    runs["tags.oracle_precision"] = ["bf16", "onnxruntime"]  # no one engine to pin
    assert tables.setting_lines(runs)[0].endswith("oracle precision bf16 / onnxruntime")
    runs["tags.oracle_precision"] = ["bf16", "bf16"]
    explicit = pd.DataFrame([_run(0, "gp", "smote", 0, 0.5, **{"oracle.precision": "fp32"})])
    assert tables.oracle_precision(explicit) == "fp32"
    timed = runs.assign(**{"metrics.n_verification": 2000, "metrics.seconds_sampling": 700.0,
                           "metrics.seconds_gp_overhead": 50.0, "metrics.seconds_grid_labelling": 600.0,
                           "metrics.seconds_rebalancing": 1.0, "metrics.seconds_predictors": 2.0})
    (line,) = tables.cost_at_paper_n(timed, "cifar10")
    assert "grid 25 min" in line and "in the same precision (bf16)" in line


def test_a_study_run_in_another_precision_says_so_beside_its_section(tmp_path):
    # MNIST h = 0.74: `matched` ran with auto -> onnxruntime, the other studies with bf16
    folder = tmp_path / "mnist_h0.74"
    _write(folder, "table3", [_run(i, "gp", m, 0, 0.5, **{"oracle.precision": "bf16"})
                              for i, m in enumerate(("smote", "smote_gp"))])
    matched = [_run(10 + i, "gp_matched", m, 0, 0.5, study="matched", **{"oracle.precision": "auto"})
               for i, m in enumerate(("smote", "smote_gp"))]
    for row in matched:
        row.update({"tags.oracle_precision": "onnxruntime", "metrics.clean_accuracy": 0.9885})
    _write(folder, "matched", matched)
    text = "\n".join(document.folder_section(tmp_path, "mnist_h0.74"))
    assert ("another precision than the studies above (onnxruntime: clean accuracy 0.9885, 100 reliable grid "
            "levels; above, bf16: clean accuracy 0.9900") in text
    _write(folder, "matched", [dict(r, **{"tags.oracle_precision": "bf16"}) for r in matched])
    assert "another precision" not in "\n".join(document.folder_section(tmp_path, "mnist_h0.74"))

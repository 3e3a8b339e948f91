"""The study report from a synthetic study logged to a temporary MLflow store (known values)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_synthetic import BASE, log_ablation, log_table3, make_client

from distortion_reliability import report as report_cli
from distortion_reliability.reporting.cells import expected_cells, study_sweep
from distortion_reliability.reporting.runs import norm_value
from distortion_reliability.reporting.study import report_study

STUDY_YAML = """# @package _global_
hydra:
  sweeper:
    params:
      sampler: random,gp
      imbalance: none,smote,smote_gp
      seed: 0,1,2
"""


def png_ok(path: Path, min_bytes: int = 10_000) -> None:
    from PIL import Image

    assert path.is_file(), path
    assert path.stat().st_size > min_bytes, (path, path.stat().st_size)
    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert pixels.std() > 5, f"{path} looks blank"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    client, art = make_client(root)
    log_table3(client, art, dataset="mnist")
    log_ablation(client, art, "ablation_v", "v", [0.001, 0.01, 0.1])
    log_ablation(client, art, "ablation_budget", "budget", [200, 400, 600])
    log_ablation(client, art, "ablation_h", "h", [0.4, 0.5, 0.6])
    conf = root / "conf" / "study"
    conf.mkdir(parents=True)
    (conf / "table3.yaml").write_text(STUDY_YAML)
    return {"uri": f"sqlite:///{root / 'mlflow.db'}", "conf": root / "conf", "root": root}


@pytest.fixture(scope="module")
def table3(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "mnist"
    rep = report_study("table3", "mnist", out, uri=store["uri"], conf_dir=store["conf"], tsne_iter=250)
    return rep


def test_runs_csv_is_written_first_with_params_tags_metrics(table3):
    runs = pd.read_csv(table3.runs_csv)
    # 6 cells x 3 seeds = 18 jobs, one never logged; the sweep's parent run is left out
    assert len(runs) == 17
    for col in ("tags.sampler", "tags.imbalance", "tags.seed", "params.sampler.budget", "metrics.f1_dt", "status"):
        assert col in runs
    assert set(runs["status"]) == {"FINISHED", "FAILED"}


def test_table3_means_stds_seeds_and_paper_values(table3):
    t = pd.read_csv(table3.out_dir / "table3.csv", dtype={"sampler": str, "imbalance": str, "missing_seeds": str})
    assert len(t) == 6
    row = {(r.sampler, r.imbalance): r for r in t.itertuples()}
    # three seeds: mean over seeds of (BASE + 0.01 seed) and std 0.01 (ddof=1)
    for key in [("random", "smote"), ("random", "smote_gp"), ("gp", "smote_gp")]:
        assert row[key].f1_mean == pytest.approx(BASE[key] + 0.01)
        assert row[key].f1_std == pytest.approx(0.01)
        assert row[key].n_seeds == 3
    # seed 1 skipped: seeds 0 and 2 only, not silently padded
    r = row[("random", "none")]
    assert r.n_seeds == 2 and r.f1_mean == pytest.approx(BASE[("random", "none")] + 0.01)
    assert r.f1_std == pytest.approx(np.std([0.0, 0.02], ddof=1))
    assert str(r.missing_seeds) == "1"
    # the five predictors' mean is the paper's number; per predictor keeps its offset
    assert row[("gp", "smote_gp")].f1_rf == pytest.approx(BASE[("gp", "smote_gp")] + 0.01 + 0.03)
    # the paper's value beside ours (Table 3, MNIST column)
    assert row[("random", "smote")].paper_f1 == pytest.approx(0.6157)
    assert row[("gp", "smote_gp")].paper_f1 == pytest.approx(0.6635)
    assert np.isnan(row[("gp", "none")].paper_f1)  # the paper has no GP-based/None row
    # best cell marked
    assert t.loc[t["best"], ["sampler", "imbalance"]].values.tolist() == [["gp", "smote_gp"]]
    md = (table3.out_dir / "table3.md").read_text()
    assert "**0.7100 ± 0.0100**" in md and "**0.6635**" in md
    # the heading names the setting, so tables at two h of one dataset never read alike
    assert md.splitlines()[0].startswith("# Table 3 — MNIST (mnist, lenet5, h = 0.9")
    assert (table3.out_dir / "table3_predictors.md").read_text().splitlines()[0] == \
        "# Table 3 per distortion-classifier — MNIST (mnist, lenet5, h = 0.9)"
    tex = (table3.out_dir / "table3.tex").read_text()
    assert r"\textbf{0.7100 $\pm$ 0.0100}" in tex and r"\toprule" in tex


def test_missing_skipped_and_failed_cells_are_listed_with_overrides(table3):
    miss = pd.read_csv(table3.out_dir / "table3_missing.csv", dtype=str)
    rows = {(r.sampler, r.imbalance, r.seed): r for r in miss.itertuples()}
    assert set(rows) == {("gp", "none", "2"), ("random", "none", "1"), ("gp", "smote", "2")}
    assert rows[("gp", "none", "2")].status == "no run"
    assert rows[("gp", "none", "2")].overrides == "study=table3 dataset=mnist sampler=gp imbalance=none seed=2"
    assert rows[("random", "none", "1")].status.startswith("skipped: no positives")
    assert rows[("gp", "smote", "2")].status == "failed"
    index = (table3.out_dir / "table3_report.md").read_text()
    assert "sampler=gp imbalance=none seed=2" in index and "3 expected job(s)" in index


def test_per_predictor_breakdown(table3):
    p = pd.read_csv(table3.out_dir / "table3_predictors.csv")
    assert set(p["predictor"]) == {"dt", "rf", "lr", "svm", "nn"}
    assert set(p["metric"]) == {"f1", "precision", "recall", "balanced_accuracy"}
    one = p[(p.sampler == "gp") & (p.imbalance == "smote_gp") & (p.predictor == "dt") & (p.metric == "recall")]
    assert one["mean"].item() == pytest.approx(BASE[("gp", "smote_gp")] + 0.01 - 0.1)
    md = (table3.out_dir / "table3_predictors.md").read_text()
    assert "F1 DT" in md and "precision" in md and "recall" in md


def test_figures_6_and_10_exist_and_are_not_blank(table3):
    for name in ("table3_fig6_positives.png", "table3_fig10_tsne.png", "table3_fig10_projections.png"):
        png_ok(table3.out_dir / name)
    pos = pd.read_csv(table3.out_dir / "table3_fig6_positives.csv")
    # one R per (sampler, seed): gp finds 0.3 B + seed positives
    gp300 = pos[(pos.sampler == "gp") & (pos.budget == 300)]["positives"]
    assert sorted(gp300) == [90, 91, 92]


@pytest.mark.parametrize("study,figure", [("ablation_v", "fig7_f1_vs_v"), ("ablation_budget", "fig8_f1_vs_budget"),
                                          ("ablation_h", "fig9_f1_vs_h")])
def test_ablation_figures(store, tmp_path, study, figure):
    rep = report_study(study, "digits", tmp_path, uri=store["uri"], tsne=False)
    png_ok(tmp_path / f"{study}_{figure}.png")
    numbers = pd.read_csv(tmp_path / f"{study}_{figure}.csv")
    gp = numbers[numbers.curve == "smote_gp"].sort_values("x")
    assert gp["mean"].to_numpy() == pytest.approx([0.505, 0.555, 0.605])
    if study == "ablation_v":  # SMOTE has no v: one cell, drawn flat
        cells = pd.read_csv(tmp_path / "ablation_v_table.csv", dtype=str)
        assert cells[cells.imbalance == "smote"]["v"].isna().all()
        assert len(cells[cells.imbalance == "smote"]) == 1
    assert rep.table is not None


def test_rebuild_from_csv_without_the_store(table3, tmp_path):
    src = tmp_path / "copy"
    src.mkdir()
    shutil.copy(table3.runs_csv, src / "table3_runs.csv")
    shutil.copytree(table3.out_dir / "table3_artifacts", src / "table3_artifacts")
    out = tmp_path / "rebuilt"
    rep = report_study("table3", "mnist", out, from_csv=src / "table3_runs.csv", uri="sqlite:////nonexistent/x.db",
                       conf_dir=table3.out_dir / "no-conf", tsne_iter=250)  # the project's table3 sweep: 28 cells
    a = pd.read_csv(table3.out_dir / "table3.csv")
    b = pd.read_csv(out / "table3.csv")
    merged = a.merge(b, on=["sampler", "imbalance"], suffixes=("", "_b"))
    assert len(merged) == 6 and np.allclose(merged["f1_mean"], merged["f1_mean_b"])
    assert len(b) == 2 * len(study_sweep("table3").factors["imbalance"]) == 28  # every configured cell is listed
    assert (out / "table3_fig10_tsne.png").is_file()
    assert rep.table is not None and (b["n_seeds"] == 0).sum() == len(b) - 6


def test_sweep_from_study_config_and_fallback(store):
    s = study_sweep("table3", store["conf"])
    assert s.factors == {"sampler": ["random", "gp"], "imbalance": ["none", "smote", "smote_gp"]}
    assert s.seeds == ["0", "1", "2"]
    s = study_sweep("ablation_v", store["conf"])  # no YAML there: the project's conf/study/ablation_v.yaml
    assert [a["v"] for a in s.arms if "v" in a] == [norm_value(v) for v in (0.001, 0.005, 0.01, 0.05, 0.1, 0.5)]
    assert norm_value("5e-3") == norm_value(0.005) == "0.005" and norm_value(600.0) == "600"


def test_cli_unknown_experiment_is_one_error_line(store, capsys, tmp_path):
    rc = report_cli.main(["study=nope", "dataset=mnist", f"uri={store['uri']}", f"out={tmp_path}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: no MLflow experiment 'nope-mnist'")
    rc = report_cli.main(["study=table3", "dataset=mnist", "uri=sqlite:////nonexistent/mlflow.db"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: no MLflow store")
    rc = report_cli.main(["study=table3"])
    assert rc == 2 and capsys.readouterr().err.startswith("error: dataset= is required")


def test_sweep_arms_and_per_dataset_values(tmp_path):
    study = tmp_path / "study"
    (study / "v_arm").mkdir(parents=True)
    (study / "v_arm" / "smote.yaml").write_text("# @package _global_\ndefaults:\n  - override /imbalance: smote\n")
    (study / "v_arm" / "smote_gp_v0.01.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /imbalance: smote_gp\nimbalance:\n  v: 0.01\n")
    (study / "abl.yaml").write_text(
        "# @package _global_\nstudy_sweep:\n  h:\n    digits: 0.4,0.5\n    mnist: 0.85,0.9\n"
        "hydra:\n  sweeper:\n    params:\n      +study/v_arm: smote,smote_gp_v0.01\n"
        "      h: ${study_sweep.h.${dataset.name}}\n      seed: 0,1\n")
    s = study_sweep("abl", tmp_path, dataset="mnist")
    assert s.arms == [{"imbalance": "smote"}, {"imbalance": "smote_gp", "v": "0.01"}]
    assert s.factors == {"h": ["0.85", "0.9"]} and s.seeds == ["0", "1"]
    factors, cells = expected_cells(pd.DataFrame(), s)
    assert factors == ["h", "imbalance", "v"]
    assert cells == [("0.85", "smote", ""), ("0.85", "smote_gp", "0.01"), ("0.9", "smote", ""),
                     ("0.9", "smote_gp", "0.01")]


@pytest.mark.parametrize("study,jobs", [("table3", 84), ("table4", 42), ("sampling", 15), ("ablation_v", 21),
                                        ("ablation_budget", 30), ("ablation_h", 30), ("ours", 24)])
def test_report_expects_every_job_of_the_shipped_studies(study, jobs):
    conf = Path(__file__).resolve().parents[1] / "conf"
    if not (conf / "study" / f"{study}.yaml").is_file():
        pytest.skip(f"conf/study/{study}.yaml not present")
    s = study_sweep(study, conf, dataset="cifar10")
    assert s.source.endswith(f"{study}.yaml")
    _, cells = expected_cells(pd.DataFrame(), s)
    assert len(cells) * len(s.seeds) == jobs


def test_studies_sharing_a_folder_keep_their_own_figures(store, tmp_path):
    """Every study of a dataset reports into results/<dataset>/: one must not overwrite another's figures."""
    report_study("table3", "mnist", tmp_path, uri=store["uri"], conf_dir=store["conf"], tsne=False)
    before = (tmp_path / "table3_fig6_positives.csv").read_bytes()
    report_study("ablation_budget", "digits", tmp_path, uri=store["uri"], tsne=False)
    assert (tmp_path / "table3_fig6_positives.csv").read_bytes() == before
    assert (tmp_path / "ablation_budget_fig8_f1_vs_budget.png").is_file()
    assert not list(tmp_path.glob("fig*.png"))  # no unprefixed, shared names


def test_figure6_counts_a_training_set_whose_jobs_were_all_skipped_at_rebalancing():
    # CIFAR-10 at N = 5,000: random seed 0 found no positive, so every method skipped it; its R still
    # counts as 0 positives (dropping it would show random's mean over the seeds that found some)
    from distortion_reliability.reporting.figures import positives_table

    def run(i, seed, skipped, found, method="smote"):
        row = {"run_id": f"r{i}", "status": "FINISHED", "start_time": i, "tags.sampler": "random",
               "tags.imbalance": method, "tags.seed": seed, "params.sampler.budget": 200,
               "tags.skipped": "no positives to rebalance" if skipped else None}
        if found is not None:
            row.update({"metrics.n_positive_at_100": found[0], "metrics.n_positive_at_200": found[1]})
        return row

    runs = pd.DataFrame([run(0, 0, True, (0, 0)), run(1, 1, False, (1, 2)),
                         run(2, 1, True, None, "none")])  # skipped before sampling: no counts, not a 0
    table = positives_table(runs)
    at200 = table[table.budget == 200].set_index("seed")["positives"]
    assert at200.to_dict() == {"0": 0.0, "1": 2.0}

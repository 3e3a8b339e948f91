"""The Figure-6 report: positives per sampler and budget, drawn with mean +- std over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from distortion_reliability.errors import ConfigError
from distortion_reliability.reporting.sampling_figure import plot_positives_vs_budget, positives_table
from distortion_reliability.sampling import SampleResult


def result_with_labels(labels) -> SampleResult:
    labels = np.asarray(labels, dtype=bool)
    values = np.where(labels, 0.9, 0.1)
    return SampleResult(levels=np.zeros((len(labels), 2)), values=values, labels=labels, h=0.5,
                        oracle_seconds=0.0, sampler_seconds=0.0)


def test_positives_table_counts_cumulative_positives_per_seed():
    # seed 0: a positive every other level; seed 1: positives only in the second half.
    runs = [result_with_labels(np.arange(8) % 2 == 0), result_with_labels(np.arange(8) >= 4)]
    table = positives_table({"gp": runs}, budgets=(2, 4, 8))
    np.testing.assert_array_equal(table["gp"], [[1, 2, 4], [0, 0, 4]])


def test_plot_writes_a_png(tmp_path):
    runs = {"random": [result_with_labels(np.arange(10) % 5 == 0)] * 2,
            "gp": [result_with_labels(np.arange(10) % 2 == 0), result_with_labels(np.ones(10))]}
    path = plot_positives_vs_budget(runs, budgets=(5, 10), path=tmp_path / "sub" / "fig.png", title="t")
    assert path == tmp_path / "sub" / "fig.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def test_budgets_beyond_a_run_and_empty_input_are_rejected(tmp_path):
    runs = {"gp": [result_with_labels(np.ones(10)), result_with_labels(np.ones(6))]}
    with pytest.raises(ConfigError, match="budgets"):
        plot_positives_vs_budget(runs, budgets=(5, 10), path=tmp_path / "x.png")
    with pytest.raises(ConfigError, match="results"):
        plot_positives_vs_budget({}, budgets=(5,), path=tmp_path / "x.png")
    with pytest.raises(ConfigError, match="budgets"):
        plot_positives_vs_budget(runs, budgets=(0,), path=tmp_path / "x.png")


def test_shipped_samplers_keep_their_colour_and_others_get_free_ones():
    from distortion_reliability.reporting.sampling_figure import SAMPLER_COLORS, sampler_colors

    alone = sampler_colors(["gp_sqrt"])
    assert alone == {"gp_sqrt": SAMPLER_COLORS["gp_sqrt"]}
    mixed = sampler_colors(["mine", "gp", "other"])
    assert mixed["gp"] == SAMPLER_COLORS["gp"]
    assert len(set(mixed.values())) == 3 and not {mixed["mine"], mixed["other"]} & set(SAMPLER_COLORS.values())


def test_csv_holds_the_numbers_behind_the_figure(tmp_path):
    import pandas as pd

    from distortion_reliability.reporting.sampling_figure import write_positives_csv

    runs = {"gp": [result_with_labels(np.arange(8) % 2 == 0), result_with_labels(np.arange(8) >= 4)]}
    frame = pd.read_csv(write_positives_csv(runs, (2, 4, 8), tmp_path / "p.csv"))
    assert list(frame.columns) == ["sampler", "seed_index", "budget", "positives"]
    pivot = frame.pivot(index="seed_index", columns="budget", values="positives").to_numpy()
    np.testing.assert_array_equal(pivot, positives_table(runs, (2, 4, 8))["gp"])

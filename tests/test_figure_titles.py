"""Figure titles carry dataset, model, h and N; Figure 10 shows the minority class whichever it is (issue 20)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from distortion_reliability.reporting import figures

NAMES = ["rotation", "rain"]
SPACE = '{"names": ["rotation", "rain"], "lower": [0.0, 0.0], "upper": [90.0, 1.0]}'


def _runs(**extra) -> pd.DataFrame:
    rows = [{"run_id": f"r{i}", "status": "FINISHED", "start_time": i, "tags.sampler": "gp", "tags.imbalance": m,
             "tags.seed": "0", "tags.model": "small_cnn", "tags.h": "0.5", "metrics.n_positive_sampled": 40, **extra}
            for i, m in enumerate(("smote", "smote_gp"))]
    return pd.DataFrame(rows)


def test_the_setting_label_names_dataset_model_h_and_n():
    assert figures.setting_label(_runs(**{"metrics.n_verification": 899}), "digits") == \
        "digits, small_cnn, h = 0.5, N = 899"
    runs = _runs(**{"params.dataset.verification_size": 2000})
    runs.loc[1, "tags.h"] = "0.85"
    assert figures.setting_label(runs, "cifar10") == "cifar10, small_cnn, h = 0.5-0.85, N = 2000"


def test_figure10_shows_synthetic_negatives_when_positives_are_the_majority(tmp_path: Path):
    rng = np.random.default_rng(0)
    real = rng.random((60, 2)) * [90, 1]
    labels = (np.arange(60) < 40).astype(int)  # 40 positive, 20 negative: negatives are the minority
    training = pd.DataFrame(real, columns=NAMES).assign(label=labels)
    synthetic = pd.DataFrame(rng.random((20, 2)) * [90, 1], columns=NAMES).assign(label=0, origin="synthetic")
    rebalanced = pd.concat([training.assign(origin="real"), synthetic], ignore_index=True)
    (tmp_path / "training_set.csv").write_text(training.to_csv(index=False))
    (tmp_path / "rebalanced.csv").write_text(rebalanced.to_csv(index=False))
    (tmp_path / "space.json").write_text(SPACE)

    def fetch(row, name):
        return tmp_path / name if name != "smote_gp_proposals.csv" else None

    paths = figures.figure10(_runs(), fetch, tmp_path, "digits, small_cnn, h = 0.5, N = 899", tsne_iter=250)
    assert len(paths) == 2
    kinds = pd.read_csv(tmp_path / "fig10_tsne.csv")["kind"].to_numpy()
    # both panels' 20 synthetic negatives are drawn (kind 2); before, "0 synthetic shown"
    assert int(np.sum(kinds == 2)) == 40

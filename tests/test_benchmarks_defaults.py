"""Smoke test of ``python -m benchmarks.defaults``: the protocol that chose the defaults."""

import inspect

import pandas as pd
import pytest

from benchmarks import defaults


@pytest.mark.slow
def test_command_line_writes_the_table(tmp_path):
    candidates = ["no L2", "TabM k=8 (no L2)"]
    rows = defaults.main(
        ["--datasets", "tiny", "--candidates", *candidates, "--out", str(tmp_path)]
    )
    frame = pd.read_csv(tmp_path / "defaults.csv")
    assert len(frame) == len(rows) == 2 * 3  # two candidates, three folds
    assert set(frame["candidate"]) == set(candidates)
    assert frame["hamming"].between(0, 1).all() and frame["macro_f1"].between(0, 1).all()
    table = (tmp_path / "defaults.md").read_text()
    assert all(f"| {name} |" in table for name in candidates)
    assert "mean rank" in table


def test_every_candidate_is_a_valid_estimator_setting():
    from skml import KerasMultiLabelClassifier

    settings = defaults._candidates(n_features=10)
    assert list(settings) == list(defaults.CANDIDATES)
    for params in settings.values():
        KerasMultiLabelClassifier(**params)._validate_params()


def test_shrinkage_study_retunes_the_estimators_own_tuning_data(tmp_path):
    from sklearn.metrics import hamming_loss

    from skml.model_selection import MultilabelStratifiedKFold
    from skml.thresholds import tune_thresholds

    rows = defaults.main(["--quick", "--datasets", "tiny", "--shrinkage", "--out", str(tmp_path)])
    frame = pd.read_csv(tmp_path / "shrinkage.csv")
    assert len(frame) == len(rows) == 2 * len(defaults.SHRINKAGES)  # tiny, synthetic
    assert set(frame["shrinkage"]) == set(defaults.SHRINKAGES)
    assert "| 3 |" in (tmp_path / "shrinkage.md").read_text()
    # At the default pseudo-count the study predicts exactly what the estimator predicts.
    default = inspect.signature(tune_thresholds).parameters["shrinkage"].default
    X, y = defaults.load_training_split("tiny")
    splitter = MultilabelStratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    train, test = next(splitter.split(X, y))
    model = defaults._pipeline("standard", {"threshold": "f1"}).fit(X[train], y[train])
    study = frame[(frame["dataset"] == "tiny") & (frame["shrinkage"] == default)]
    assert study["hamming"].item() == pytest.approx(hamming_loss(y[test], model.predict(X[test])))
    # A suite set without a scaler is a bare estimator, not a pipeline.
    (row,) = defaults.shrinkage_study(["unscaled"], shrinkages=(default,), max_folds=1)
    assert 0 < row["hamming"] < 1
    # and the pseudo-counts do change the rule
    assert frame.loc[frame["dataset"] == "tiny", "hamming"].nunique() > 1

"""Smoke test of ``python -m benchmarks.defaults``: the protocol that chose the defaults."""

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

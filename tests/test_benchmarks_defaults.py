"""Smoke test of ``python -m benchmarks.defaults``: the protocol that chose the defaults."""

import inspect

import pandas as pd
import pytest

from benchmarks import defaults
from skml.networks import MLP


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


@pytest.mark.slow
def test_seeds_refit_the_same_folds_and_seed_0_is_the_one_seed_run():
    one = defaults.run(["tiny"], ["no L2"], max_folds=1, log=lambda line: None)
    two = defaults.run(["tiny"], ["no L2"], max_folds=1, seeds=[0, 1], log=lambda line: None)
    assert [row["seed"] for row in two] == [0, 1] and [row["fold"] for row in two] == [0, 0]
    assert (two[0]["hamming"], two[0]["macro_f1"]) == (one[0]["hamming"], one[0]["macro_f1"])
    assert (two[1]["hamming"], two[1]["macro_f1"]) != (two[0]["hamming"], two[0]["macro_f1"])


def test_summary_over_seeds_gives_the_spread_of_the_seeds_fold_means():
    # Seed 0's folds average to hamming 0.2 / macro-F1 0.5, seed 1's to 0.3 / 0.7.
    rows = [
        {"dataset": "tiny", "candidate": name, "seed": seed, "fold": fold, **scores}
        for name in ("a", "b")
        for seed, folds in enumerate(
            [
                [{"hamming": 0.1, "macro_f1": 0.4}, {"hamming": 0.3, "macro_f1": 0.6}],
                [{"hamming": 0.3, "macro_f1": 0.7}, {"hamming": 0.3, "macro_f1": 0.7}],
            ]
        )
        for fold, scores in enumerate(folds)
    ]
    rows[-1] = {**rows[-1], "hamming": 0.5}  # candidate b, seed 1: hamming 0.4
    table = defaults.summarise(rows)
    assert "| a | 0.2500 ± 0.0707 / 0.600 ± 0.141 |" in table
    assert "| b | 0.3000 ± 0.1414 / 0.600 ± 0.141 |" in table
    one_seed = defaults.summarise([row for row in rows if row["seed"] == 0])
    assert "| a | 0.2000 / 0.500 | 1.50 |" in one_seed and "±" not in one_seed


def test_every_candidate_is_a_valid_estimator_setting():
    from skml import KerasMultiLabelClassifier

    settings = defaults._candidates(n_features=10)
    assert list(settings) == list(defaults.CANDIDATES)
    for params in settings.values():
        KerasMultiLabelClassifier(**params)._validate_params()
    # The threshold="f1" candidates measured before its default network became an ensemble
    # pin the network they ran; only the last, the default, follows network=None.
    tuned = [name for name, params in settings.items() if params.get("threshold") == "f1"]
    assert [name for name in tuned if "network" not in settings[name]] == [tuned[-1]]
    assert tuned[-1].endswith("(the default)")


def test_rule_study_retunes_the_estimators_own_tuning_data(tmp_path):
    from sklearn.metrics import hamming_loss

    from skml.model_selection import MultilabelStratifiedKFold
    from skml.thresholds import tune_thresholds

    rows = defaults.main(["--quick", "--datasets", "tiny", "--rules", "--out", str(tmp_path)])
    frame = pd.read_csv(tmp_path / "rules.csv")
    rules = [*defaults.RULES, defaults.HEADROOM]
    assert len(frame) == len(rows) == 2 * len(rules)  # tiny, synthetic
    assert list(dict.fromkeys(frame["rule"])) == rules
    assert "| shrinkage 3 |" in (tmp_path / "rules.md").read_text()
    # At the default pseudo-count the study predicts exactly what the estimator predicts with
    # the single MLP the study runs on.
    default = inspect.signature(tune_thresholds).parameters["shrinkage"].default
    X, y = defaults.load_training_split("tiny")
    splitter = MultilabelStratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    train, test = next(splitter.split(X, y))
    params = {"network": MLP(), "threshold": "f1"}
    model = defaults._pipeline("standard", params).fit(X[train], y[train])
    tiny = frame[frame["dataset"] == "tiny"].set_index("rule")
    expected = hamming_loss(y[test], model.predict(X[test]))
    assert tiny.loc[f"shrinkage {default:g}", "hamming"] == pytest.approx(expected)
    # The rules do differ, and none beats thresholds tuned on the test rows themselves.
    assert tiny["hamming"].nunique() > 1
    assert tiny["macro_f1"].max() == tiny.loc[defaults.HEADROOM, "macro_f1"]
    # A suite set without a scaler is a bare estimator, not a pipeline.
    (row, headroom) = defaults.rule_study(["unscaled"], rules=["shrinkage 3"], max_folds=1)
    assert 0 < row["hamming"] < 1 and headroom["rule"] == defaults.HEADROOM


def test_rule_study_over_seeds_refits_the_estimator_per_seed():
    from sklearn.metrics import f1_score

    from skml.model_selection import MultilabelStratifiedKFold
    from skml.thresholds import DEFAULT_SHRINKAGE

    default = f"shrinkage {DEFAULT_SHRINKAGE:g}"  # the rule the estimator applies
    rows = defaults.rule_study(["tiny"], rules=[default], max_folds=1, seeds=(0, 1))
    frame = pd.DataFrame(rows)
    assert list(frame["seed"]) == [0, 0, 1, 1]  # the rule and the headroom, per seed
    X, y = defaults.load_training_split("tiny")
    train, test = next(MultilabelStratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    params = {"network": MLP(), "threshold": "f1"}
    model = defaults._pipeline("standard", params, 1).fit(X[train], y[train])
    expected = f1_score(y[test], model.predict(X[test]), average="macro", zero_division=0)
    assert frame.loc[2, "macro_f1"] == pytest.approx(expected)
    table = defaults.summarise_rules(rows)
    assert f"| {default} | " in table and " ± " in table and "mean macro-F1" in table


@pytest.mark.parametrize("rule", list(defaults.RULES))
def test_every_rule_gives_one_threshold_in_range_per_label(rule):
    import numpy as np

    rng = np.random.default_rng(0)
    y = (rng.random((200, 4)) < [0.5, 0.2, 0.05, 0.01]).astype(int)
    s = np.clip(0.6 * y + 0.5 * rng.random((200, 4)), 0, 1)
    thresholds = np.asarray(defaults.RULES[rule](y, s))
    assert thresholds.shape == (4,)
    assert ((thresholds >= 0) & (thresholds <= 1)).all()
    if rule != "shrinkage 0":
        # every rule but the unshrunk one keeps the label with 2 positives nearer 0.5 than
        # its exact optimum
        from skml.thresholds import tune_thresholds

        exact = tune_thresholds(y, s, shrinkage=0, max_positive_ratio=None)
        assert abs(thresholds[3] - 0.5) < abs(exact[3] - 0.5)

"""Tests of skml.thresholds: tuning against brute force, min-labels and top-k rules."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
    precision_score,
    recall_score,
)

from skml.thresholds import RULES, apply_thresholds, top_k, tune_thresholds

# The exact optimum on the data: the rare-label safeguards off.
EXACT = {"shrinkage": 0, "max_positive_ratio": None}


def random_data(seed, n_samples=30, n_labels=5, decimals=None):
    """Labels and scores that are informative but noisy; rounding the scores makes ties."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n_samples, n_labels)) < rng.uniform(0.1, 0.7, n_labels)).astype(int)
    score = np.clip(0.3 * y + rng.random((n_samples, n_labels)) * 0.7, 0, 1)
    if decimals is not None:
        score = np.round(score, decimals)
    y[:, -1] = 1  # a label whose best rule may be "predict all"
    return y, score


def best_by_brute_force(y, s, metric):
    """Best metric over every cut: each distinct score, and above the highest."""
    candidates = np.append(np.unique(s), np.inf)
    if metric == "f1":
        return max(f1_score(y, s >= t, zero_division=0) for t in candidates)
    return max(accuracy_score(y, s >= t) for t in candidates)


@pytest.mark.parametrize("decimals", [None, 1, 2])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("metric", ["f1", "accuracy"])
def test_tuned_thresholds_reach_brute_force_optimum(seed, decimals, metric):
    y, s = random_data(seed, decimals=decimals)
    thresholds = tune_thresholds(y, s, metric=metric, **EXACT)
    assert thresholds.shape == (y.shape[1],)
    assert thresholds.dtype == float
    score = f1_score if metric == "f1" else accuracy_score
    for j in range(y.shape[1]):
        achieved = score(y[:, j], s[:, j] >= thresholds[j])
        assert_allclose(achieved, best_by_brute_force(y[:, j], s[:, j], metric), rtol=1e-12)


@pytest.mark.parametrize("metric", ["f1", "accuracy"])
def test_thresholds_lie_between_distinct_scores(metric):
    y, s = random_data(7, decimals=1)
    thresholds = tune_thresholds(y, s, metric=metric, **EXACT)
    for j, t in enumerate(thresholds):
        values = np.unique(s[:, j])
        above, below = values[values >= t], values[values < t]
        if above.size and below.size:
            assert_allclose(t, (above.min() + below.max()) / 2)


def test_threshold_is_midpoint_to_next_lower_score():
    y = np.array([[1], [1], [0], [0]])
    s = np.array([[0.9], [0.4], [0.3], [0.1]])
    assert_allclose(tune_thresholds(y, s, **EXACT), [0.35])


def test_extreme_cuts():
    s = np.array([[0.9, 0.9], [0.6, 0.6], [0.4, 0.4]])
    y = np.array([[1, 0], [1, 0], [1, 0]])
    # Predict all: midpoint of the lowest score and 0. Predict none: midpoint with 1.
    assert_allclose(tune_thresholds(y, s, metric="accuracy", **EXACT), [0.2, 0.95])
    assert_allclose(tune_thresholds(y, s, **EXACT)[0], 0.2)
    # Scores outside [0, 1]: the extreme score itself, or just above it.
    t = tune_thresholds(y, s * 10 - 5, metric="accuracy", **EXACT)
    assert t[0] == -1.0
    assert t[1] > 4.0
    assert_array_equal(s * 10 - 5 >= t, [[1, 0], [1, 0], [1, 0]])


def test_adjacent_floats_still_separate():
    a = 0.5
    b = np.nextafter(a, 0)
    y = np.array([[1], [0]])
    t = tune_thresholds(y, np.array([[a], [b]]), **EXACT)
    assert b < t[0] <= a


def test_ties_go_to_threshold_nearest_half():
    y = np.array([[1], [0], [1], [0]])
    # Accuracy 3/4 both when predicting only the first sample and the first three.
    assert_allclose(tune_thresholds(y, [[0.9], [0.7], [0.2], [0.1]], "accuracy", **EXACT), [0.8])
    assert_allclose(
        tune_thresholds(y, [[0.9], [0.8], [0.45], [0.1]], "accuracy", **EXACT), [0.275]
    )
    # Equally near 0.5 (exact binary fractions): the higher threshold.
    s = [[0.875], [0.625], [0.375], [0.125]]
    assert_allclose(tune_thresholds(y, s, "accuracy", **EXACT), [0.75])


def test_label_without_positives_gets_default():
    y = np.array([[0, 1], [0, 0], [0, 1]])
    s = np.array([[0.2, 0.8], [0.3, 0.1], [0.1, 0.7]])
    assert tune_thresholds(y, s, **EXACT)[0] == 0.5
    assert tune_thresholds(y, s, default=0.3, **EXACT)[0] == 0.3
    # Accuracy is defined: predict none.
    assert_allclose(tune_thresholds(y, s, "accuracy", **EXACT)[0], 0.65)


def test_default_per_label_is_what_each_label_shrinks_toward():
    rng = np.random.default_rng(0)
    y = (rng.random((60, 2)) < 0.1).astype(int)
    s = np.clip(0.2 * y + rng.random((60, 2)) * 0.5, 0, 1)
    exact = tune_thresholds(y, s, max_positive_ratio=None, shrinkage=0)
    shrunk = tune_thresholds(y, s, default=[0.5, 0.9], max_positive_ratio=None, shrinkage=3)
    m = y.sum(axis=0)
    weight = m / (m + 3)
    assert_allclose(shrunk, weight * exact + (1 - weight) * np.array([0.5, 0.9]))
    # A label without positives gets its own default.
    y[:, 1] = 0
    assert tune_thresholds(y, s, default=[0.5, 0.9])[1] == 0.9
    with pytest.raises(ValueError, match=r"default has shape \(3,\) but y_true has 2 labels"):
        tune_thresholds(y, s, default=[0.5, 0.5, 0.5])


def test_tune_accepts_sparse_and_boolean():
    sparse = pytest.importorskip("scipy.sparse")
    y, s = random_data(3)
    expected = tune_thresholds(y, s)
    assert_array_equal(tune_thresholds(sparse.csr_matrix(y), s), expected)
    assert_array_equal(tune_thresholds(y.astype(bool), s), expected)


def test_tune_scales_to_many_samples():
    y, s = random_data(0, n_samples=200_000, n_labels=2)
    assert tune_thresholds(y, s).shape == (2,)


@pytest.mark.parametrize(
    ("y_true", "y_score", "kwargs", "match"),
    [
        ([[1, 0]], [[0.5, 0.5]], {"metric": "bogus"}, r"metric must be one of \['f1'.*'bogus'"),
        (
            [[1, 0]],
            [[0.5, 0.5]],
            {"default": "half"},
            "default must be a number, 2 numbers.*'half'",
        ),
        ([1, 0], [0.5, 0.5], {}, r"y_score must have shape \(n_samples, n_labels\)"),
        ([1, 0], [[0.5, 0.5]], {}, r"y_true must be a 2-D label indicator matrix.*\(2,\)"),
        ([[1, 0]], [[0.5, 0.5, 0.1]], {}, r"y_true and y_score have different shapes: \(1, 2\)"),
        (np.zeros((0, 2)), np.zeros((0, 2)), {}, "y_true must have at least one sample"),
        ([[2, 0]], [[0.5, 0.5]], {}, "y_true must be a 0/1 label indicator matrix; values other"),
        ([[1, 0]], [[np.nan, 0.5]], {}, "y_score contains NaN or infinity"),
        ([[1, 0]], [[np.inf, 0.5]], {}, "y_score contains NaN or infinity"),
    ],
)
def test_tune_rejects_bad_input(y_true, y_score, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tune_thresholds(y_true, y_score, **kwargs)


# ----------------------------------------------------------------------- apply_thresholds


def reference_apply(s, t, k):
    y = (s >= t).astype(int)
    for row in range(s.shape[0]):
        for j in sorted(range(s.shape[1]), key=lambda j: (-s[row, j], j)):
            if y[row].sum() >= k:
                break
            y[row, j] = 1
    return y


def test_apply_thresholds_is_greater_equal():
    s = np.array([[0.2, 0.5, 0.7], [0.5, 0.1, 0.9]])
    y = apply_thresholds(s, 0.5)
    assert_array_equal(y, [[0, 1, 1], [1, 0, 1]])
    assert y.dtype.kind == "i"
    assert_array_equal(apply_thresholds(s, [0.1, 0.6, 0.95]), [[1, 0, 0], [1, 0, 0]])


def test_min_labels():
    s = np.array(
        [
            [0.1, 0.3, 0.2, 0.0],  # nothing predicted: gets its top label
            [0.3, 0.1, 0.3, 0.0],  # tie: the lower index wins
            [0.9, 0.8, 0.1, 0.0],  # already two labels: unchanged
            [0.6, 0.2, 0.9, 0.1],  # label 0 predicted by its low threshold; 2 is not
        ]
    )
    t = np.array([0.5, 0.5, 0.95, 0.5])
    assert_array_equal(
        apply_thresholds(s, t, min_labels=1),
        [[0, 1, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]],
    )
    assert_array_equal(
        apply_thresholds(s, t, min_labels=2),
        [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0]],
    )
    assert_array_equal(apply_thresholds(s, t, min_labels=4), np.ones((4, 4)))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("min_labels", [0, 1, 2, 3])
def test_min_labels_matches_reference(seed, min_labels):
    rng = np.random.default_rng(seed)
    s = np.round(rng.random((50, 5)), 1)
    t = rng.uniform(0.3, 1.0, 5)
    y = apply_thresholds(s, t, min_labels=min_labels)
    assert_array_equal(y, reference_apply(s, t, min_labels))
    assert (y.sum(axis=1) >= min_labels).all()


@pytest.mark.parametrize(
    ("thresholds", "kwargs", "match"),
    [
        (0.5, {"min_labels": -1}, r"min_labels must be an integer in \[0, 3\]; got -1"),
        (0.5, {"min_labels": 4}, r"min_labels must be an integer in \[0, 3\]; got 4"),
        (0.5, {"min_labels": 1.5}, "min_labels must be an integer"),
        (0.5, {"min_labels": True}, "min_labels must be an integer"),
        ([0.5, 0.5], {}, r"thresholds has shape \(2,\) but y_score has 3 labels"),
        ([[0.5, 0.5, 0.5]], {}, r"thresholds has shape \(1, 3\)"),
        ([0.5, np.nan, 0.5], {}, "thresholds must hold finite values.*1: nan"),
    ],
)
def test_apply_rejects_bad_input(thresholds, kwargs, match):
    with pytest.raises(ValueError, match=match):
        apply_thresholds([[0.1, 0.2, 0.3]], thresholds, **kwargs)
    with pytest.raises(ValueError, match="y_score contains NaN"):
        apply_thresholds([[np.nan, 0.2, 0.3]], 0.5)


# ----------------------------------------------------------------------- top_k


def test_top_k():
    s = np.array([[0.1, 0.7, 0.7, 0.2], [0.4, 0.3, 0.2, 0.1], [0.5, 0.5, 0.5, 0.5]])
    indices, scores = top_k(s, 2)
    assert indices.shape == scores.shape == (3, 2)
    assert indices.dtype.kind == "i"
    assert_array_equal(indices, [[1, 2], [0, 1], [0, 1]])
    assert_array_equal(scores, [[0.7, 0.7], [0.4, 0.3], [0.5, 0.5]])
    indices, scores = top_k(s, 4)
    assert_array_equal(indices[2], [0, 1, 2, 3])
    assert (np.diff(scores, axis=1) <= 0).all()


@pytest.mark.parametrize(
    ("k", "match"),
    [
        (0, r"k must be an integer in \[1, 3\]; got 0"),
        (4, r"k must be an integer in \[1, 3\]; got 4"),
        (1.0, "k must be an integer"),
    ],
)
def test_top_k_rejects_bad_k(k, match):
    with pytest.raises(ValueError, match=match):
        top_k([[0.1, 0.2, 0.3]], k)


# ------------------------------------------------------------ more objectives and constraints


def _fbeta2(t, p):
    return fbeta_score(t, p, beta=2.0, zero_division=0)


def _balanced(t, p):
    return (np.mean(p[t == 1]) + np.mean(1 - p[t == 0])) / 2


def _recall_at_precision(t, p):
    return recall_score(t, p) if precision_score(t, p, zero_division=1) >= 0.6 else -1.0


def _precision_at_recall(t, p):
    return precision_score(t, p, zero_division=0) if recall_score(t, p) >= 0.7 else -1.0


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize(
    "kwargs, score",
    [
        ({"metric": "fbeta", "beta": 2.0}, _fbeta2),
        ({"metric": "balanced_accuracy"}, _balanced),
        ({"metric": "recall", "min_precision": 0.6}, _recall_at_precision),
        ({"metric": "precision", "min_recall": 0.7}, _precision_at_recall),
        ({"metric": lambda t, p: f1_score(t, p) - 0.2 * p.mean()}, None),
    ],
)
def test_other_objectives_reach_brute_force_optimum(seed, kwargs, score):
    y, s = random_data(seed, n_samples=40, decimals=2)
    y[:, -1] = (s[:, -1] > 0.6).astype(int)  # not constant: balanced accuracy is defined
    score = score or kwargs["metric"]
    thresholds = tune_thresholds(y, s, **kwargs, **EXACT)
    for j in range(y.shape[1]):
        pred = (s[:, j] >= thresholds[j]).astype(int)
        candidates = np.append(np.unique(s[:, j]), np.inf)
        best = max(score(y[:, j], (s[:, j] >= t).astype(int)) for t in candidates)
        assert_allclose(score(y[:, j], pred), best, atol=1e-12)


def test_per_label_beta_and_constraints():
    y, s = random_data(4, n_samples=60, decimals=2)
    both = tune_thresholds(y, s, "fbeta", beta=[0.5, 0.5, 4, 4, 4], **EXACT)
    assert_array_equal(both[:2], tune_thresholds(y, s, "fbeta", beta=0.5, **EXACT)[:2])
    assert_array_equal(both[2:], tune_thresholds(y, s, "fbeta", beta=4, **EXACT)[2:])
    # min_precision works with any metric and holds on the data (safeguards off).
    t = tune_thresholds(y, s, "f1", min_precision=0.8, **EXACT)
    precision = precision_score(y, (s >= t).astype(int), average=None, zero_division=1)
    assert (precision >= 0.8).all()


# ------------------------------------------------------------------------ rare-label safeguards


def test_shrinkage_is_a_pseudo_count_toward_the_default():
    y, s = random_data(5, n_samples=50, decimals=2)
    exact = tune_thresholds(y, s, max_positive_ratio=None, shrinkage=0)
    shrunk = tune_thresholds(y, s, max_positive_ratio=None, shrinkage=7)
    minority = np.minimum(y.sum(0), len(y) - y.sum(0))
    weight = minority / (minority + 7)
    assert_allclose(shrunk, weight * exact + (1 - weight) * 0.5)
    assert shrunk[-1] == 0.5  # the constant label


def test_rare_label_is_not_predicted_for_most_rows():
    # The failure behind the safeguards: a label with 3 positives among 400, scored by an
    # uninformative model. F1 on the tuning data prefers a very low cut that catches one
    # positive among hundreds of negatives.
    rng = np.random.default_rng(0)
    y = np.zeros((400, 1), dtype=int)
    y[rng.choice(400, 3, replace=False)] = 1
    s = rng.uniform(0, 0.3, size=(400, 1))
    exact = tune_thresholds(y, s, **EXACT)
    assert (s >= exact).mean() > 0.1  # the failure: predicted for many rows
    safe = tune_thresholds(y, s)
    assert (s >= safe).sum() <= 3 * 3  # the cap: at most 3 x the positives
    new_rows = rng.uniform(0, 0.3, size=(10_000, 1))
    assert (new_rows >= safe).mean() < 0.03


def test_cap_limits_predicted_rows_and_gives_way_to_min_recall():
    y, s = random_data(6, n_samples=200, decimals=3)
    y[:, 0] = 0
    y[:5, 0] = 1
    s[:, 0] = np.linspace(0.01, 0.4, 200)  # positives score lowest: a useless model
    t = tune_thresholds(y, s, shrinkage=0)
    assert ((s >= t).sum(axis=0) <= 3 * y.sum(axis=0)).all()
    t = tune_thresholds(y, s, "precision", min_recall=1.0, shrinkage=0)
    assert (s[:, 0] >= t[0]).all()  # every positive kept: the cap gave way


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "recall"}, "metric='recall' needs min_precision"),
        ({"metric": "precision"}, "metric='precision' needs min_recall"),
        ({"shrinkage": -1}, r"shrinkage must be a finite number in \[0, inf\); got -1"),
        (
            {"max_positive_ratio": 0.5},
            r"max_positive_ratio must be None or a finite number in \[1",
        ),
        ({"beta": [1, 2, 3]}, r"beta has shape \(3,\) but y has 5 labels"),
        ({"beta": 0}, r"beta must hold finite values in \(0, inf\); got 0"),
        ({"min_precision": 1.5}, r"min_precision must hold finite values in \[0, 1\]; got 1.5"),
    ],
)
def test_new_parameters_are_checked(kwargs, match):
    y, s = random_data(0)
    with pytest.raises(ValueError, match=match):
        tune_thresholds(y, s, **kwargs)


# ------------------------------------------------------------------------ the RULES registry


def test_rules_is_the_one_read_only_registry_of_objectives():
    from skml.tuning import TunedThresholdMultiLabelClassifier

    names = {"f1", "fbeta", "accuracy", "balanced_accuracy", "recall", "precision"}
    assert set(RULES) == names
    with pytest.raises(TypeError):
        RULES["hamming"] = RULES["f1"]
    # tune_thresholds accepts exactly these names, and so does the meta-estimator.
    y, s = random_data(0)
    for name, rule in RULES.items():
        assert rule.name == name
        constraint = {rule.requires: 0.5} if rule.requires else {}
        assert tune_thresholds(y, s, name, **constraint).shape == (5,)
    with pytest.raises(ValueError, match=r"metric must be one of \['f1', 'fbeta'"):
        tune_thresholds(y, s, "hamming")
    constraints = TunedThresholdMultiLabelClassifier._parameter_constraints["scoring"]
    (options,) = [c for c in constraints if hasattr(c, "options")]
    assert options.options == set(RULES)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "name, reference",
    [
        ("f1", lambda t, p: f1_score(t, p, zero_division=0)),
        ("fbeta", lambda t, p: fbeta_score(t, p, beta=2.0, zero_division=0)),
        ("accuracy", accuracy_score),
        ("balanced_accuracy", balanced_accuracy_score),
        ("recall", lambda t, p: recall_score(t, p, zero_division=0)),
        ("precision", lambda t, p: precision_score(t, p, zero_division=0)),
    ],
)
def test_rules_score_predictions_as_scikit_learn_does(seed, name, reference):
    rng = np.random.default_rng(seed)
    y_true = (rng.random(40) < 0.3).astype(int)
    for y_pred in [(rng.random(40) < 0.4).astype(int), np.zeros(40, int), y_true]:
        assert_allclose(RULES[name](y_true, y_pred, beta=2.0), reference(y_true, y_pred))

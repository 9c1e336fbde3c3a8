"""skml._validation: label matrices, scores, per-label values and one message per problem."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skml._validation import (
    as_numeric_labels,
    check_consistent_shape,
    check_label_matrix,
    check_number,
    check_per_label,
    check_scores,
    check_thresholds,
)
from skml.calibration import CalibratedMultiLabelClassifier
from skml.metrics import (
    brier_score_per_label,
    expected_calibration_error,
    macro_roc_auc_score,
    multilabel_report,
    subset_accuracy_score,
)
from skml.model_selection import (
    MultilabelStratifiedKFold,
    MultilabelStratifiedShuffleSplit,
    RepeatedMultilabelStratifiedKFold,
    multilabel_train_test_split,
)
from skml.resampling import MLROS, MLSMOTE, mean_imbalance_ratio
from skml.thresholds import check_rule, tune_thresholds
from skml.tuning import TunedThresholdMultiLabelClassifier

LABELS = np.array(["a", "b", "c"])


@pytest.mark.parametrize(
    "value",
    [
        [0.1, 0.5, 0.9],
        np.array([0.1, 0.5, 0.9]),
        {"c": 0.9, "a": 0.1, "b": 0.5},
        pd.Series({"c": 0.9, "a": 0.1, "b": 0.5}),
        pd.Series([0.9, 0.1], index=["c", "a"]).reindex(["b", "c", "a"]).fillna(0.5),
    ],
)
def test_per_label_values_are_matched_by_name(value):
    got = check_per_label(value, LABELS, name="threshold", default=0.5, low=0, high=1)
    np.testing.assert_array_equal(got, [0.1, 0.5, 0.9])


def test_keyed_values_leave_other_labels_at_the_default():
    got = check_per_label({"c": 2.0}, LABELS, name="class_weight", default=1.0, low=0)
    np.testing.assert_array_equal(got, [1.0, 1.0, 2.0])


def test_integer_labels_match_numpy_and_python_keys():
    got = check_per_label({np.int64(2): 0.7}, np.arange(3), name="threshold", default=0.5)
    np.testing.assert_array_equal(got, [0.5, 0.5, 0.7])


def test_scalar_applies_to_every_label():
    np.testing.assert_array_equal(
        check_per_label(0.3, LABELS, name="threshold", default=0.5), [0.3] * 3
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ({"z": 0.1, "a": 0.2}, r"threshold names unknown label\(s\) \['z'\]"),
        (pd.Series({"y": 0.1}), r"unknown label\(s\) \['y'\]"),
        ([0.1, 0.2], r"threshold has shape \(2,\) but y has 3 labels"),
        ([0.1, np.nan, 0.2], r"threshold must hold finite values in \[0, 1\]; got 'b': nan"),
        ([0.1, 1.5, 0.2], r"got 'b': 1.5"),
        ({"a": "high"}, r"threshold\['a'\] must be a number"),
        ("high", r"threshold must be a number, 3 numbers in label order"),
    ],
)
def test_bad_per_label_values_name_the_parameter(value, message):
    with pytest.raises(ValueError, match=message):
        check_per_label(value, LABELS, name="threshold", default=0.5, low=0, high=1)


@pytest.mark.parametrize("dtype", ["Int64", "boolean", "category", "int8", "float32"])
def test_label_matrix_accepts_nullable_and_category_columns(dtype):
    frame = pd.DataFrame({"a": [0, 1, 1], "b": [1, 0, 1]}).astype(dtype)
    np.testing.assert_array_equal(check_label_matrix(frame), [[0, 1], [1, 0], [1, 1]])


def test_label_matrix_from_object_array_and_sparse():
    y = np.array([[0, 1], [1, 0]], dtype=object)
    np.testing.assert_array_equal(check_label_matrix(y), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(check_label_matrix(sp.csr_matrix(y.astype(int))), y)


@pytest.mark.parametrize(
    "y",
    [
        [{"a", "b"}, {"c"}],
        [["a", "b"], ["c"]],
        [[0, 1], [1]],
        np.array([("a",), ("b", "c")], dtype=object),
    ],
)
def test_label_sets_and_ragged_lists_point_to_multilabelbinarizer(y):
    with pytest.raises(ValueError, match="MultiLabelBinarizer"):
        as_numeric_labels(y)


def test_label_matrix_errors():
    with pytest.raises(ValueError, match="y must be a 0/1 .* other than 0/1 found: 2, 3.$"):
        check_label_matrix([[0, 2], [3, 0], [2, 1]])
    with pytest.raises(ValueError, match=r"found: 2, 3, 4, 5, 6 \(and others\).$"):
        check_label_matrix([[2, 3, 4, 5, 6, 7]])
    with pytest.raises(ValueError, match="y must be a 2-D label indicator matrix"):
        check_label_matrix([0, 1, 1])
    with pytest.raises(ValueError, match=r"y contains NaN, infinity .* \(label 'a'\)"):
        check_label_matrix(pd.DataFrame({"a": pd.array([0, None], dtype="Int64")}))
    with pytest.raises(ValueError, match=r"y contains NaN, infinity .* \(label 1\)"):
        check_label_matrix([[0, 1], [1, np.inf]])
    with pytest.raises(ValueError, match=r"at least one sample and one label; .* \(0, 2\)"):
        check_label_matrix(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="found: 'a', 'b'"):
        check_label_matrix([["a", "b"]])


def test_label_matrix_dtype_and_sparse():
    y = [[0, 1], [1, 0]]
    assert check_label_matrix(y).dtype == np.int8
    assert check_label_matrix(y, dtype=bool).dtype == bool
    assert check_label_matrix(np.array(y, dtype=np.float32), dtype=None).dtype == np.float32
    kept = check_label_matrix(sp.coo_matrix(y), accept_sparse=True)
    assert sp.issparse(kept) and kept.format == "csr" and kept.dtype == np.int8
    np.testing.assert_array_equal(kept.toarray(), y)
    with pytest.raises(ValueError, match="y must be a 0/1 .* found: 2"):
        check_label_matrix(sp.csr_matrix([[0, 2]]), accept_sparse=True)


def test_per_label_accepts_a_number_of_labels():
    np.testing.assert_array_equal(
        check_per_label({2: 0.7}, 3, name="threshold", default=0.5), [0.5, 0.5, 0.7]
    )


# ------------------------------------------------------- every helper names its parameter

NAME = "my_param"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check_label_matrix([[0, 7]], NAME), f"{NAME} must be a 0/1 .* found: 7"),
        (lambda: check_label_matrix(None, NAME), f"requires {NAME} to be passed"),
        (lambda: as_numeric_labels([["a"], ["b", "c"]], NAME), f"fit_transform\\({NAME}\\)"),
        (lambda: check_scores([[np.nan]], NAME), f"{NAME} contains NaN or infinity"),
        (lambda: check_scores([[1.5]], NAME, proba=True), f"{NAME} must hold .* got 1.5"),
        (lambda: check_scores([0.5], NAME), rf"{NAME} must have shape .* \(1,\)"),
        (
            lambda: check_consistent_shape(np.zeros((2, 1)), np.zeros((2, 2)), (NAME, "other")),
            rf"{NAME} and other have different shapes: \(2, 1\) and \(2, 2\)",
        ),
        (
            lambda: check_per_label([1, -4], 2, name=NAME, default=1, low=0),
            f"{NAME} must hold finite values in .* got 1: -4.0",
        ),
        (
            lambda: check_per_label({"z": 1}, ["a"], name=NAME, default=1),
            rf"{NAME} names unknown label\(s\) \['z'\]",
        ),
        (
            lambda: check_thresholds([0.5, 2.0], ["a", "b"], name=NAME, low=0, high=1),
            f"{NAME} must hold finite values in \\[0, 1\\]; got 'b': 2.0",
        ),
        (
            lambda: check_number(2.5, NAME, low=0, high=2, integer=True),
            rf"{NAME} must be an integer in \[0, 2\]; got 2.5",
        ),
        (lambda: check_rule("f3", NAME), f"{NAME} must be one of .* got 'f3'"),
        (lambda: check_rule("recall", NAME), f"{NAME}='recall' needs min_precision"),
    ],
)
def test_every_helper_names_the_parameter_and_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------- one message per problem, in every module of skml

N_SAMPLES = 24
_GOOD = (np.arange(N_SAMPLES)[:, None] % np.array([2, 3, 4]) == 0).astype(int)
_X = np.random.default_rng(0).normal(size=(N_SAMPLES, 3))
_SCORES = np.linspace(0.05, 0.95, _GOOD.size).reshape(_GOOD.shape)


def _with_a_two():
    y = _GOOD.copy()
    y[3, 1] = 2
    return y


def _with_nan():
    y = _GOOD.astype(float)
    y[5, 2] = np.nan
    return y


#: Bad label matrices and the one message each gets, for a parameter called ``{name}``.
PROBLEMS = {
    "value 2": (
        _with_a_two,
        "{name} must be a 0/1 label indicator matrix; values other than 0/1 found: 2.",
    ),
    "NaN": (_with_nan, "{name} contains NaN, infinity or missing values (label 2)."),
    "1-D": (
        lambda: _GOOD[:, 0],
        "{name} must be a 2-D label indicator matrix of shape (n_samples, n_labels); got an "
        "array of shape (24,). For a single binary label, pass one column of shape "
        "(n_samples, 1).",
    ),
    "None": (
        lambda: None,
        "skml requires {name} to be passed, but the target {name} is None: pass a 0/1 label "
        "indicator matrix of shape (n_samples, n_labels).",
    ),
}


def _forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=3, random_state=0)


def _plot(function):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skml import plotting

    return getattr(plotting, function)


def _splits(cv, y):
    return next(cv.split(_X, y))


#: Every public entry point that takes a label matrix: (name of its parameter, call on y).
ENTRY_POINTS = {
    "metrics.subset_accuracy_score": ("y_true", lambda y: subset_accuracy_score(y, _GOOD)),
    "metrics.subset_accuracy_score/y_pred": (
        "y_pred",
        lambda y: subset_accuracy_score(_GOOD, y),
    ),
    "metrics.macro_roc_auc_score": ("y_true", lambda y: macro_roc_auc_score(y, _SCORES)),
    "metrics.brier_score_per_label": ("y_true", lambda y: brier_score_per_label(y, _SCORES)),
    "metrics.expected_calibration_error": (
        "y_true",
        lambda y: expected_calibration_error(y, _SCORES),
    ),
    "metrics.multilabel_report": ("y_pred", lambda y: multilabel_report(_GOOD, y)),
    "model_selection.MultilabelStratifiedKFold": (
        "y",
        lambda y: _splits(MultilabelStratifiedKFold(2), y),
    ),
    "model_selection.RepeatedMultilabelStratifiedKFold": (
        "y",
        lambda y: _splits(RepeatedMultilabelStratifiedKFold(n_splits=2, n_repeats=2), y),
    ),
    "model_selection.MultilabelStratifiedShuffleSplit": (
        "y",
        lambda y: _splits(MultilabelStratifiedShuffleSplit(2, test_size=0.25), y),
    ),
    "model_selection.multilabel_train_test_split": (
        "y (the last array, used as stratify)",
        lambda y: multilabel_train_test_split(_X, y),
    ),
    "model_selection.multilabel_train_test_split/stratify": (
        "stratify",
        lambda y: multilabel_train_test_split(_X, _GOOD, stratify=y),
    ),
    "resampling.MLROS": ("y", lambda y: MLROS().fit_resample(_X, y)),
    "resampling.MLSMOTE": ("y", lambda y: MLSMOTE().fit_resample(_X, y)),
    "resampling.mean_imbalance_ratio": ("y", lambda y: mean_imbalance_ratio(y)),
    "thresholds.tune_thresholds": ("y_true", lambda y: tune_thresholds(y, _SCORES)),
    "losses.compute_pos_weight": ("y", lambda y: _losses().compute_pos_weight(y, "balanced")),
    "tuning.TunedThresholdMultiLabelClassifier": (
        "y",
        lambda y: TunedThresholdMultiLabelClassifier(_forest(), cv=2).fit(_X, y),
    ),
    "calibration.CalibratedMultiLabelClassifier": (
        "y",
        lambda y: CalibratedMultiLabelClassifier(_forest(), cv=2).fit(_X, y),
    ),
    "plotting.plot_threshold_curve": (
        "y_true",
        lambda y: _plot("plot_threshold_curve")(y, _SCORES),
    ),
    "plotting.plot_calibration": ("y_true", lambda y: _plot("plot_calibration")(y, _SCORES)),
}


def _losses():
    import skml.losses

    return skml.losses


@pytest.mark.parametrize(
    "entry_point, problem",
    [
        (entry_point, problem)
        for entry_point in ENTRY_POINTS
        for problem in PROBLEMS
        # stratify=None means "stratify on the last array", not a missing matrix.
        if not (entry_point.endswith("/stratify") and problem == "None")
    ],
)
def test_every_module_gives_the_same_message_for_a_bad_label_matrix(entry_point, problem):
    name, call = ENTRY_POINTS[entry_point]
    make_y, template = PROBLEMS[problem]
    with pytest.raises(ValueError) as excinfo:
        call(make_y())
    assert str(excinfo.value) == template.format(name=name)


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_the_shared_messages_are_those_of_check_label_matrix(problem):
    make_y, template = PROBLEMS[problem]
    with pytest.raises(ValueError) as excinfo:
        check_label_matrix(make_y(), "y_true")
    assert str(excinfo.value) == template.format(name="y_true")


def test_good_label_matrices_pass_every_entry_point():
    # The bad-input test above would pass vacuously if an entry point rejected any y.
    for entry_point, (_, call) in ENTRY_POINTS.items():
        if entry_point.startswith("plotting."):
            continue
        call(_GOOD)

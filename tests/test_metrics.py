import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    jaccard_score,
    label_ranking_average_precision_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier

from skml.metrics import (
    SCORING,
    format_report,
    get_scorer,
    hamming_scorer,
    lrap_scorer,
    macro_roc_auc_score,
    multilabel_report,
    multilabel_scoring,
    roc_auc_macro_scorer,
    subset_accuracy_score,
)

KEYS = [
    "hamming",
    "f1_macro",
    "f1_micro",
    "f1_samples",
    "subset_accuracy",
    "jaccard",
    "jaccard_macro",
    "lrap",
    "roc_auc_macro",
]


@pytest.fixture(scope="module")
def data():
    X, y = make_multilabel_classification(
        n_samples=150, n_features=10, n_classes=4, random_state=0
    )
    return X, y


def positive_scores(estimator, X):
    """Positive-class scores, computed independently of skml's conversion."""
    proba = estimator.predict_proba(X)
    if isinstance(proba, list):
        return np.column_stack(
            [p[:, list(c).index(1)] for p, c in zip(proba, estimator.classes_, strict=True)]
        )
    return proba


def expected_scores(estimator, X, y):
    y_pred = estimator.predict(X)
    y_score = positive_scores(estimator, X)
    varying = (y.sum(0) > 0) & (y.sum(0) < len(y))
    return {
        "hamming": -hamming_loss(y, y_pred),
        "f1_macro": f1_score(y, y_pred, average="macro", zero_division=0),
        "f1_micro": f1_score(y, y_pred, average="micro", zero_division=0),
        "f1_samples": f1_score(y, y_pred, average="samples", zero_division=0),
        "subset_accuracy": accuracy_score(y, y_pred),
        "jaccard": jaccard_score(y, y_pred, average="samples", zero_division=0),
        "jaccard_macro": jaccard_score(y, y_pred, average="macro", zero_division=0),
        "lrap": label_ranking_average_precision_score(y, y_score),
        "roc_auc_macro": roc_auc_score(y[:, varying], y_score[:, varying], average="macro"),
    }


@pytest.mark.parametrize(
    "estimator",
    [
        MultiOutputClassifier(LogisticRegression()),  # predict_proba: list of (n, 2)
        KNeighborsClassifier(),  # predict_proba: list of (n, 2)
        OneVsRestClassifier(LogisticRegression()),  # predict_proba: (n, n_labels)
    ],
    ids=["multioutput", "knn", "one-vs-rest"],
)
def test_scoring_matches_sklearn_metrics(data, estimator):
    X, y = data
    result = cross_validate(
        estimator,
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=SCORING,
        return_estimator=True,
        return_indices=True,
    )
    assert set(KEYS) <= {key[len("test_") :] for key in result if key.startswith("test_")}
    for fold, fitted in enumerate(result["estimator"]):
        test = result["indices"]["test"][fold]
        expected = expected_scores(fitted, X[test], y[test])
        for key in KEYS:
            assert_allclose(result[f"test_{key}"][fold], expected[key], rtol=1e-10, err_msg=key)
    assert (result["test_hamming"] < 0).all()


def test_two_label_2d_proba_uses_every_column(data):
    # With two labels, OneVsRestClassifier.classes_ is [0, 1]: scikit-learn's own response
    # handling would take that for a binary problem and keep only the second column.
    X, y = data
    clf = OneVsRestClassifier(LogisticRegression()).fit(X, y[:, :2])
    y_score = clf.predict_proba(X)
    assert y_score.shape == (len(X), 2)
    assert_allclose(
        roc_auc_macro_scorer(clf, X, y[:, :2]), roc_auc_score(y[:, :2], y_score, average="macro")
    )
    assert_allclose(
        lrap_scorer(clf, X, y[:, :2]), label_ranking_average_precision_score(y[:, :2], y_score)
    )


def test_label_constant_in_training_fold(data):
    X, y = data
    y = y.copy()
    y[:100, 2] = 0  # label 2 is never positive in the training rows
    clf = KNeighborsClassifier().fit(X[:100], y[:100])
    assert_array_equal(clf.classes_[2], [0])
    X_test, y_test = X[100:], y[100:]
    expected = np.column_stack(
        [p[:, -1] if p.shape[1] == 2 else np.zeros(len(X_test)) for p in clf.predict_proba(X_test)]
    )
    assert_allclose(
        lrap_scorer(clf, X_test, y_test), label_ranking_average_precision_score(y_test, expected)
    )
    assert_allclose(
        roc_auc_macro_scorer(clf, X_test, y_test), macro_roc_auc_score(y_test, expected)
    )


def test_scorers_in_grid_search(data):
    X, y = data
    search = GridSearchCV(
        KNeighborsClassifier(),
        {"n_neighbors": [3, 7]},
        scoring=SCORING,
        refit="roc_auc_macro",
        cv=3,
    ).fit(X, y)
    assert search.best_params_["n_neighbors"] in (3, 7)
    assert np.isfinite(search.cv_results_["mean_test_lrap"]).all()


def test_get_scorer_and_multilabel_scoring():
    assert set(SCORING) == set(KEYS)
    assert repr(get_scorer("hamming")) == repr(hamming_scorer)
    assert get_scorer("hamming") is not hamming_scorer
    assert "macro_roc_auc_score" in repr(get_scorer("roc_auc_macro"))
    assert callable(get_scorer("accuracy"))  # scikit-learn's names still work
    assert list(multilabel_scoring(["lrap", "f1_micro"])) == ["lrap", "f1_micro"]
    assert multilabel_scoring() is not SCORING
    with pytest.raises(ValueError, match="Unknown scorer 'f2'"):
        get_scorer("f2")
    with pytest.raises(ValueError, match="Unknown scorer 'nope'"):
        multilabel_scoring(["f1_macro", "nope"])


def test_estimator_without_scores():
    class PredictOnly:
        def predict(self, X):
            return np.zeros((len(X), 2))

    with pytest.raises(TypeError, match="neither predict_proba nor decision_function"):
        lrap_scorer(PredictOnly(), np.zeros((3, 1)), np.zeros((3, 2)))


# Plain metric functions


def test_macro_roc_auc_skips_constant_labels():
    y_true = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])
    y_score = np.array([[0.9, 0.2, 0.5], [0.1, 0.3, 0.4], [0.6, 0.1, 0.3], [0.7, 0.5, 0.2]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = macro_roc_auc_score(y_true, y_score)
    assert_allclose(score, roc_auc_score(y_true[:, 0], y_score[:, 0]))
    # A label constant in y_true makes scikit-learn's macro average NaN.
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(roc_auc_score(y_true, y_score, average="macro"))


def test_macro_roc_auc_all_constant_is_nan():
    with pytest.warns(UndefinedMetricWarning, match="No label has both"):
        score = macro_roc_auc_score([[1, 0], [1, 0]], [[0.2, 0.3], [0.4, 0.1]])
    assert np.isnan(score)


def test_macro_roc_auc_input_conventions(data):
    X, y = data
    clf = MultiOutputClassifier(LogisticRegression()).fit(X, y)
    as_list = clf.predict_proba(X)
    as_array = np.column_stack([p[:, 1] for p in as_list])
    expected = roc_auc_score(y, as_array, average="macro")
    assert_allclose(macro_roc_auc_score(y, as_list), expected)
    assert_allclose(macro_roc_auc_score(pd.DataFrame(y), as_array.tolist()), expected)
    assert_allclose(macro_roc_auc_score(sp.csr_matrix(y), as_array), expected)


@pytest.mark.parametrize(
    "y_true, y_score, match",
    [
        ([[1, 0], [0, 1]], [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], "different shapes"),
        ([1, 0, 1], [0.2, 0.3, 0.4], "2-D label indicator"),
        ([[2, 0], [0, 1]], [[0.1, 0.2], [0.1, 0.2]], "y_true .* values other than 0/1 found: 2"),
        ([[1, 0], [0, 1]], [[np.nan, 0.2], [0.1, 0.2]], "NaN"),
    ],
)
def test_macro_roc_auc_rejects_bad_input(y_true, y_score, match):
    with pytest.raises(ValueError, match=match):
        macro_roc_auc_score(y_true, y_score)


def test_subset_accuracy_score():
    y_true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    y_pred = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    assert subset_accuracy_score(y_true, y_pred) == pytest.approx(2 / 3)
    assert subset_accuracy_score(y_true, y_pred, sample_weight=[1, 2, 1]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="different shapes"):
        subset_accuracy_score(y_true, y_pred[:, :2])
    with pytest.raises(ValueError, match="2-D label indicator"):
        subset_accuracy_score([0, 1], [0, 1])


# multilabel_report


@pytest.fixture(scope="module")
def predictions(data):
    X, y = data
    clf = MultiOutputClassifier(LogisticRegression()).fit(X[:100], y[:100])
    return y[100:], clf.predict(X[100:]), clf.predict_proba(X[100:])


def test_report_matches_precision_recall_fscore_support(predictions):
    y_true, y_pred, _ = predictions
    report = multilabel_report(y_true, y_pred)
    labels = ["0", "1", "2", "3"]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    assert_allclose(report.loc[labels, "precision"], p)
    assert_allclose(report.loc[labels, "recall"], r)
    assert_allclose(report.loc[labels, "f1-score"], f)
    assert_array_equal(report.loc[labels, "support"], s)
    for average in ("micro", "macro", "weighted", "samples"):
        expected = precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )[:3]
        row = report.loc[f"{average} avg", ["precision", "recall", "f1-score"]]
        assert_allclose(row, expected)
        assert report.loc[f"{average} avg", "support"] == s.sum()
    assert_allclose(report.loc["hamming loss", "f1-score"], hamming_loss(y_true, y_pred))
    assert_allclose(report.loc["subset accuracy", "f1-score"], accuracy_score(y_true, y_pred))
    assert report.loc["hamming loss", "support"] == len(y_true)
    assert "roc_auc" not in report


def test_report_roc_auc(predictions):
    y_true, y_pred, y_score = predictions
    report = multilabel_report(y_true, y_pred, y_score=y_score)
    scores = np.column_stack([p[:, 1] for p in y_score])
    assert_allclose(report["roc_auc"].iloc[:4], roc_auc_score(y_true, scores, average=None))
    assert_allclose(
        report.loc["micro avg", "roc_auc"], roc_auc_score(y_true, scores, average="micro")
    )
    assert_allclose(report.loc["macro avg", "roc_auc"], roc_auc_score(y_true, scores))
    assert_allclose(
        report.loc["weighted avg", "roc_auc"], roc_auc_score(y_true, scores, average="weighted")
    )
    columns = ["precision", "recall", "f1-score", "roc_auc", "brier", "ece", "support"]
    assert list(report.columns) == columns
    # Scores that are not probabilities get ROC AUC but no calibration columns.
    report = multilabel_report(y_true, y_pred, y_score=scores * 4 - 2)
    assert list(report.columns) == ["precision", "recall", "f1-score", "roc_auc", "support"]


def test_report_constant_label_roc_auc_is_nan(predictions):
    y_true, y_pred, y_score = predictions
    y_true = y_true.copy()
    y_true[:, 1] = 0
    scores = np.column_stack([p[:, 1] for p in y_score])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        report = multilabel_report(y_true, y_pred, y_score=scores)
    assert np.isnan(report.loc["1", "roc_auc"])
    keep = [0, 2, 3]
    assert_allclose(
        report.loc["macro avg", "roc_auc"], roc_auc_score(y_true[:, keep], scores[:, keep])
    )


def test_report_names_and_text(predictions):
    y_true, y_pred, y_score = predictions
    names = ["sports", "politics", "science", "arts"]
    report = multilabel_report(pd.DataFrame(y_true, columns=names), y_pred, y_score)
    assert list(report.index[:4]) == names
    report = multilabel_report(y_true, sp.csr_matrix(y_pred), target_names=names)
    assert list(report.index[:4]) == names
    text = format_report(report, digits=2)
    assert "nan" not in text.lower()
    assert text.splitlines()[1].split()[0] == "sports"
    assert "hamming loss" in text and "samples avg" in text


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y_pred": np.zeros((3, 4))}, "different shapes"),
        ({"y_true": np.full((50, 4), 2)}, "y_true .* values other than 0/1 found: 2"),
        ({"y_true": np.zeros(50)}, "2-D label indicator"),
        ({"target_names": ["a", "b"]}, "target_names has 2 names"),
        ({"target_names": ["a", "a", "b", "c"]}, "must be unique"),
        ({"y_score": np.zeros((50, 3))}, "y_true and y_score have different shapes"),
    ],
)
def test_report_rejects_bad_input(predictions, kwargs, match):
    y_true, y_pred, _ = predictions
    arguments = {"y_true": y_true, "y_pred": y_pred, **kwargs}
    with pytest.raises(ValueError, match=match):
        multilabel_report(**arguments)


# ----------------------------------------------------------------------------- calibration


def test_brier_score_per_label_matches_scikit_learn(predictions):
    from sklearn.metrics import brier_score_loss

    from skml.metrics import brier_score_per_label

    y_true, _, y_score = predictions
    scores = np.column_stack([p[:, 1] for p in y_score])
    expected = [brier_score_loss(y_true[:, j], scores[:, j]) for j in range(y_true.shape[1])]
    assert_allclose(brier_score_per_label(y_true, scores), expected)
    assert_allclose(brier_score_per_label(y_true, y_score), expected)  # per-label list


def test_expected_calibration_error_by_hand():
    from skml.metrics import expected_calibration_error

    y_true = np.array([[1, 1], [0, 1], [1, 0], [0, 0], [1, 1]])
    y_score = np.array([[0.95, 0.2], [0.85, 0.2], [0.15, 0.7], [0.05, 0.7], [1.0, 0.7]])
    # Label 0, bins [0.9, 1] (0.95, 1.0; both positive), [0.8, 0.9) (0.85; negative),
    # [0.1, 0.2) (0.15; positive), [0, 0.1) (0.05; negative).
    label0 = (2 * abs(1 - 0.975) + abs(0 - 0.85) + abs(1 - 0.15) + abs(0 - 0.05)) / 5
    # Label 1: [0.2, 0.3) holds 2 samples, both positive; [0.7, 0.8) holds 3, 1 positive.
    label1 = (2 * abs(1 - 0.2) + 3 * abs(1 / 3 - 0.7)) / 5
    assert_allclose(expected_calibration_error(y_true, y_score), [label0, label1])
    assert_allclose(
        expected_calibration_error(y_true, y_score, average="macro"), (label0 + label1) / 2
    )
    pooled = expected_calibration_error(y_true.reshape(-1, 1), y_score.reshape(-1, 1))[0]
    assert_allclose(expected_calibration_error(y_true, y_score, average="micro"), pooled)
    assert_allclose(expected_calibration_error(y_true, y_true.astype(float)), [0, 0])


@pytest.mark.parametrize(
    ("kwargs", "y_score", "match"),
    [
        ({"n_bins": 0}, [[0.5]], r"n_bins must be an integer in \[1, inf\); got 0"),
        ({"average": "weighted"}, [[0.5]], "average must be None"),
        ({}, [[1.5]], r"probabilities in \[0, 1\]"),
        ({}, [[0.5, 0.5]], "different shapes"),
    ],
)
def test_calibration_metrics_reject_bad_input(kwargs, y_score, match):
    from skml.metrics import brier_score_per_label, expected_calibration_error

    with pytest.raises(ValueError, match=match):
        expected_calibration_error([[1]], y_score, **kwargs)
    if not kwargs:
        with pytest.raises(ValueError, match=match):
            brier_score_per_label([[1]], y_score)


def test_report_calibration_columns(predictions):
    from skml.metrics import brier_score_per_label, expected_calibration_error

    y_true, y_pred, y_score = predictions
    scores = np.column_stack([p[:, 1] for p in y_score])
    report = multilabel_report(y_true, y_pred, y_score=scores)
    brier = brier_score_per_label(y_true, scores)
    ece = expected_calibration_error(y_true, scores)
    assert_allclose(report["brier"].iloc[:4], brier)
    assert_allclose(report["ece"].iloc[:4], ece)
    assert_allclose(report.loc["macro avg", ["brier", "ece"]], [brier.mean(), ece.mean()])
    assert_allclose(
        report.loc["weighted avg", "brier"], np.average(brier, weights=y_true.sum(axis=0))
    )
    assert_allclose(
        report.loc["micro avg", "ece"],
        expected_calibration_error(y_true, scores, average="micro"),
    )
    assert report.loc[["samples avg", "hamming loss"], "brier"].isna().all()

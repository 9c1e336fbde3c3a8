"""Tests of skml.calibration.CalibratedMultiLabelClassifier."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_multilabel_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.multioutput import MultiOutputClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from skml._validation import as_label_scores
from skml.calibration import CalibratedMultiLabelClassifier
from skml.metrics import brier_score_per_label, expected_calibration_error
from skml.tuning import TunedThresholdMultiLabelClassifier


def forest(n_estimators=10):
    return RandomForestClassifier(n_estimators=n_estimators, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_multilabel_classification(
        n_samples=600, n_features=20, n_classes=4, random_state=0
    )
    return X[:400], y[:400], X[400:], y[400:]


_ONE_D_TARGET = "a 1-D y is rejected on purpose: multi-label estimators need a 2-D 0/1 y"
_ONE_TWO_TARGET = "y of 1s and 2s is not a 0/1 label indicator matrix"
EXPECTED_FAILED_CHECKS = {
    "check_estimators_dtypes": _ONE_TWO_TARGET,
    "check_fit2d_1feature": _ONE_TWO_TARGET,
    "check_complex_data": _ONE_D_TARGET + " (y is checked before X reaches the estimator)",
    "check_estimator_sparse_array": _ONE_D_TARGET,
    "check_estimator_sparse_matrix": _ONE_D_TARGET,
    "check_classifier_data_not_an_array": _ONE_TWO_TARGET,
    "check_classifiers_one_label": _ONE_D_TARGET,
    "check_classifiers_one_label_sample_weights": _ONE_D_TARGET,
    "check_classifiers_classes": _ONE_D_TARGET,
    "check_classifiers_train": _ONE_D_TARGET,
    "check_classifiers_regression_target": _ONE_D_TARGET,
    "check_classifier_not_supporting_multiclass": _ONE_D_TARGET,
}


@parametrize_with_checks(
    [CalibratedMultiLabelClassifier(forest(3), cv=2, random_state=0)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


@pytest.fixture(scope="module")
def redundant_data():
    """Ten noisy copies of each label's latent signal: naive Bayes counts it ten times."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1000, 4))
    y = (z + rng.normal(size=z.shape) > 0.5).astype(int)
    X = np.repeat(z, 10, axis=1) + 0.3 * rng.normal(size=(1000, 40))
    return X[:600], y[:600], X[600:], y[600:]


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_improves_brier_and_ece_of_naive_bayes(redundant_data, method):
    X, y, X_test, y_test = redundant_data
    raw = MultiOutputClassifier(GaussianNB()).fit(X, y)
    raw_proba = as_label_scores(raw.predict_proba(X_test), raw.classes_)
    calibrated = CalibratedMultiLabelClassifier(
        MultiOutputClassifier(GaussianNB()), method=method, cv=5, random_state=0
    ).fit(X, y)
    proba = calibrated.predict_proba(X_test)
    assert proba.shape == y_test.shape
    assert np.mean(brier_score_per_label(y_test, proba)) < 0.9 * np.mean(
        brier_score_per_label(y_test, raw_proba)
    )
    ece = expected_calibration_error(y_test, proba, average="macro")
    assert ece < 0.7 * expected_calibration_error(y_test, raw_proba, average="macro")
    assert_array_equal(calibrated.predict(X_test), (proba >= 0.5).astype(int))


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_prefit_matches_scikit_learn_per_label(data, method):
    X, y, X_test, y_test = data
    model = MultiOutputClassifier(GaussianNB()).fit(X[:200], y[:200])
    ours = CalibratedMultiLabelClassifier(model, method=method, cv="prefit").fit(X[200:], y[200:])
    assert ours.estimator_ is model
    proba = ours.predict_proba(X_test)
    for j, nb in enumerate(model.estimators_):
        theirs = CalibratedClassifierCV(FrozenEstimator(nb), method=method)
        theirs.fit(X[200:], y[200:, j])
        assert_allclose(proba[:, j], theirs.predict_proba(X_test)[:, 1], atol=2e-4)


def test_out_of_fold_calibrators_and_refit(data):
    X, y, X_test, _ = data
    clf = CalibratedMultiLabelClassifier(forest(), cv=3, random_state=0).fit(X, y)
    assert len(clf.calibrators_) == 4
    full = forest().fit(X, y)
    raw = as_label_scores(full.predict_proba(X_test), full.classes_)
    expected = np.column_stack([c.predict(raw[:, j]) for j, c in enumerate(clf.calibrators_)])
    assert_allclose(clf.predict_proba(X_test), expected)
    assert clf.n_features_in_ == X.shape[1]
    labels, values = clf.predict_top_k(X_test[:3], k=2)
    assert labels.shape == values.shape == (3, 2)


def test_constant_labels_do_not_crash(data):
    X, y, X_test, _ = data
    y = y.copy()
    y[:, 0] = 0
    y[:, 1] = 0
    y[5, 1] = 1
    for method in ("sigmoid", "isotonic"):
        clf = CalibratedMultiLabelClassifier(forest(), method=method, cv=3, random_state=0)
        proba = clf.fit(X, y).predict_proba(X_test)
        assert np.isfinite(proba).all()
        assert proba[:, 0].max() < 0.05


def test_tuned_thresholds_on_calibrated_probabilities(data):
    X, y, X_test, _ = data
    inner = CalibratedMultiLabelClassifier(forest(), cv=3, random_state=0)
    clf = TunedThresholdMultiLabelClassifier(inner, cv=3, random_state=0).fit(X, y)
    assert_array_equal(
        clf.predict(X_test), (clf.predict_proba(X_test) >= clf.thresholds_).astype(int)
    )


@pytest.mark.parametrize(
    "kwargs, y_kind, match",
    [
        ({"estimator": LinearSVC()}, "2d", "'estimator' parameter.*predict_proba"),
        ({}, "1d", "y must be a 2-D label indicator matrix"),
        ({"method": "beta"}, "2d", "'method' parameter"),
        ({"cv": 1}, "2d", "'cv' parameter"),
    ],
)
def test_errors_name_the_parameter(data, kwargs, y_kind, match):
    X, y, _, _ = data
    kwargs = {"estimator": forest(), "cv": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        CalibratedMultiLabelClassifier(**kwargs).fit(X, y[:, 0] if y_kind == "1d" else y)
    with pytest.raises(NotFittedError, match="must be fitted"):
        CalibratedMultiLabelClassifier(forest(), cv="prefit").fit(X, y)


@pytest.mark.slow
def test_clone_and_fresh_process_pickle(data, tmp_path):
    X, y, X_test, _ = data
    clf = CalibratedMultiLabelClassifier(forest(), method="isotonic", cv=3).fit(X, y)
    assert not hasattr(clone(clf), "calibrators_")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X_test)
    code = (
        "import pickle, sys, numpy as np\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'skml']\n"
        "model = pickle.load(open('model.pkl', 'rb'))\n"
        "np.save('proba.npy', model.predict_proba(np.load('X.npy')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert_allclose(np.load(tmp_path / "proba.npy"), clf.predict_proba(X_test))

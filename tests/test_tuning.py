"""Tests of skml.tuning.TunedThresholdMultiLabelClassifier."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score, make_scorer, precision_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from skml._validation import as_label_scores
from skml.model_selection import MultilabelStratifiedKFold
from skml.networks import MLP
from skml.thresholds import tune_thresholds
from skml.tuning import TunedThresholdMultiLabelClassifier

EXACT = {"shrinkage": 0, "max_positive_ratio": None}


def forest(n_estimators=10):
    return RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=3, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_multilabel_classification(n_samples=120, n_features=8, n_classes=4, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return TunedThresholdMultiLabelClassifier(forest(), cv=3, random_state=0).fit(X, y)


def brute_force_best(y, s, score):
    return max(score(y, (s >= t).astype(int)) for t in np.append(np.unique(s), np.inf))


# ------------------------------------------------------------------------------ the contract


# Checks that feed a 1-D target, or a target of 1s and 2s: a 1-D y is rejected on purpose
# (TunedThresholdClassifierCV covers binary targets) and only 0/1 label matrices are accepted.
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
    "check_classifier_multioutput": "predict applies the tuned thresholds, not 0.5: that is "
    "the point of the estimator",
    "check_classifiers_multilabel_output_format_predict_proba": "a random forest's "
    "probabilities include exact 0, the check wants them strictly positive",
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [TunedThresholdMultiLabelClassifier(forest(3), cv=2, random_state=0)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_out_of_fold_thresholds_match_a_manual_computation(data):
    X, y = data
    clf = TunedThresholdMultiLabelClassifier(forest(), cv=4, random_state=3).fit(X, y)
    oof = np.empty(y.shape)
    for train, test in MultilabelStratifiedKFold(4, shuffle=True, random_state=3).split(X, y):
        model = clone(forest()).fit(X[train], y[train])
        oof[test] = as_label_scores(model.predict_proba(X[test]), model.classes_)
    assert_allclose(clf.best_thresholds_, tune_thresholds(y, oof))
    assert clf.thresholds_ is clf.best_thresholds_
    # Refitted on all the data.
    full = clone(forest()).fit(X, y)
    assert_allclose(clf.predict_proba(X), as_label_scores(full.predict_proba(X), full.classes_))
    assert_allclose(
        clf.best_scores_,
        [f1_score(y[:, j], oof[:, j] >= clf.thresholds_[j]) for j in range(y.shape[1])],
    )
    assert clf.n_features_in_ == X.shape[1]
    assert_array_equal(clf.classes_, np.arange(4))
    assert clf.n_labels_ == 4


def test_prefit_tunes_on_the_given_data_to_the_brute_force_optimum(data):
    X, y = data
    model = forest().fit(X[:60], y[:60])
    clf = TunedThresholdMultiLabelClassifier(model, cv="prefit", **EXACT).fit(X[60:], y[60:])
    assert clf.estimator_ is model
    proba = clf.predict_proba(X[60:])
    for j in range(y.shape[1]):
        achieved = f1_score(y[60:, j], proba[:, j] >= clf.thresholds_[j])
        assert_allclose(achieved, brute_force_best(y[60:, j], proba[:, j], f1_score))
    with pytest.raises(NotFittedError, match="cv='prefit', estimator must be fitted"):
        TunedThresholdMultiLabelClassifier(forest(), cv="prefit").fit(X, y)
    with pytest.raises(ValueError, match="refit cannot be True"):
        TunedThresholdMultiLabelClassifier(model, cv="prefit", refit=True).fit(X, y)


def test_predict_uses_the_tuned_thresholds_not_half():
    # A rare-ish label that the forest scores well below 0.5: F1 wants a low threshold.
    X, y = make_multilabel_classification(
        n_samples=300, n_features=10, n_classes=5, n_labels=1, random_state=1
    )
    clf = TunedThresholdMultiLabelClassifier(forest(30), cv=3, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert_array_equal(clf.predict(X), (proba >= clf.thresholds_).astype(int))
    assert (clf.thresholds_ < 0.45).any()
    assert (clf.predict(X) != (proba >= 0.5)).any()
    raw = f1_score(y, forest(30).fit(X, y).predict(X), average="macro")
    assert f1_score(y, clf.predict(X), average="macro") != raw


def test_min_labels_and_top_k(fitted, data):
    X, _ = data
    clf = clone(fitted).set_params(min_labels=2).fit(*data)
    assert (clf.predict(X).sum(axis=1) >= 2).all()
    labels, proba = fitted.predict_top_k(X[:5], k=2)
    assert labels.shape == proba.shape == (5, 2)
    full = fitted.predict_proba(X[:5])
    assert_allclose(proba[:, 0], full.max(axis=1))
    assert_array_equal(labels[:, 0], full.argmax(axis=1))


# ------------------------------------------------------------------ estimators and conventions


def _estimators():
    import catboost
    import xgboost

    return {
        "forest": forest(),
        "extra_trees": ExtraTreesClassifier(n_estimators=5, random_state=0),
        "knn": KNeighborsClassifier(n_neighbors=5),
        "mlp": MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
        "multi_output": MultiOutputClassifier(forest(5)),
        "chain": ClassifierChain(forest(5), random_state=0),
        "xgboost": xgboost.XGBClassifier(n_estimators=5, tree_method="hist", n_jobs=1),
        "catboost": catboost.CatBoostClassifier(
            iterations=5, loss_function="MultiLogloss", verbose=0, thread_count=1
        ),
    }


# These two raise on a label with one class in a training fold themselves.
_NO_CONSTANT_LABELS = {"chain", "catboost"}


@pytest.mark.parametrize("name", list(_estimators()))
def test_any_multilabel_estimator(name, data):
    X, y = data
    y = y.copy()
    if name not in _NO_CONSTANT_LABELS:
        # One positive: the label is all-negative in the training part of one fold.
        y[:, 3] = 0
        y[7, 3] = 1
    estimator = _estimators()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence of the tiny MLP
        clf = TunedThresholdMultiLabelClassifier(estimator, cv=3, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == y.shape
    assert ((proba >= 0) & (proba <= 1)).all()
    assert_array_equal(clf.predict(X), (proba >= clf.thresholds_).astype(int))
    assert np.isfinite(clf.thresholds_).all()
    if name not in _NO_CONSTANT_LABELS:
        # One positive among 120: the cap lets the rule predict at most 3 rows of the
        # tuning data, whatever the estimator's scale.
        assert clf.predict(X)[:, 3].sum() <= 10


@pytest.mark.slow
def test_keras_estimator(data):
    from skml import KerasMultiLabelClassifier

    X, y = data
    keras_clf = KerasMultiLabelClassifier(
        network=MLP(hidden_layer_sizes=(8,)), epochs=3, batch_size=32, random_state=0
    )
    clf = TunedThresholdMultiLabelClassifier(keras_clf, cv=2, random_state=0).fit(X, y)
    assert clf.predict(X).shape == y.shape
    assert_array_equal(clf.predict(X), (clf.predict_proba(X) >= clf.thresholds_).astype(int))


def test_label_constant_everywhere_keeps_the_safe_threshold(data):
    X, y = data
    y = y.copy()
    y[:, 1] = 0
    y[:, 2] = 1
    clf = TunedThresholdMultiLabelClassifier(forest(), cv=3, random_state=0).fit(X, y)
    assert_array_equal(clf.thresholds_[1:3], [0.5, 0.5])
    assert_array_equal(clf.predict(X)[:, 1:3], np.column_stack([np.zeros(120), np.ones(120)]))


# --------------------------------------------------------------------------------- objectives


def _counts(t, p):
    t, p = np.asarray(t, bool), np.asarray(p, bool)
    return (t & p).sum(), (~t & p).sum(), (t & ~p).sum()


def _fbeta(t, p, beta=1.0):
    tp, fp, fn = _counts(t, p)
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denominator if denominator else 0.0


def _precision(t, p, empty):
    tp, fp, _ = _counts(t, p)
    return tp / (tp + fp) if tp + fp else empty


def _recall(t, p):
    tp, _, fn = _counts(t, p)
    return tp / (tp + fn)


@pytest.mark.parametrize(
    "kwargs, score",
    [
        ({"scoring": "f1"}, _fbeta),
        ({"scoring": "fbeta", "beta": 2.0}, lambda t, p: _fbeta(t, p, 2.0)),
        ({"scoring": "accuracy"}, lambda t, p: np.mean(t == p)),
        (
            {"scoring": "balanced_accuracy"},
            lambda t, p: (np.mean(p[t == 1]) + np.mean(1 - p[t == 0])) / 2,
        ),
        (
            {"scoring": "recall", "min_precision": 0.7},
            lambda t, p: _recall(t, p) if _precision(t, p, 1.0) >= 0.7 else -1,
        ),
        (
            {"scoring": "precision", "min_recall": 0.8},
            lambda t, p: _precision(t, p, 0.0) if _recall(t, p) >= 0.8 else -1,
        ),
        ({"scoring": lambda t, p: _fbeta(t, p) - 0.1 * p.mean()}, None),
    ],
)
def test_objectives_reach_the_brute_force_optimum(data, kwargs, score):
    X, y = data
    score = score or kwargs["scoring"]
    model = forest().fit(X[:60], y[:60])
    clf = TunedThresholdMultiLabelClassifier(model, cv="prefit", **kwargs, **EXACT)
    clf.fit(X[60:], y[60:])
    proba = clf.predict_proba(X[60:])
    for j in range(y.shape[1]):
        yj, sj = y[60:, j], proba[:, j]
        achieved = score(yj, (sj >= clf.thresholds_[j]).astype(int))
        assert_allclose(achieved, brute_force_best(yj, sj, score), atol=1e-12)


def test_per_label_parameters_by_name(data):
    X, y = data
    frame = pd.DataFrame(y, columns=["a", "b", "c", "d"])
    model = forest().fit(X[:60], y[:60])
    kwargs = {"cv": "prefit", "scoring": "recall", **EXACT}
    by_name = TunedThresholdMultiLabelClassifier(
        model, min_precision={"d": 0.9, "a": 0.6}, **kwargs
    ).fit(X[60:], frame.iloc[60:])
    by_series = TunedThresholdMultiLabelClassifier(
        model, min_precision=pd.Series([0.9, 0.6], index=["d", "a"]), **kwargs
    ).fit(X[60:], frame.iloc[60:])
    in_order = TunedThresholdMultiLabelClassifier(
        model, min_precision=[0.6, 0.0, 0.0, 0.9], **kwargs
    ).fit(X[60:], y[60:])
    assert_array_equal(by_name.classes_, ["a", "b", "c", "d"])
    assert_array_equal(by_name.thresholds_, in_order.thresholds_)
    assert_array_equal(by_series.thresholds_, in_order.thresholds_)
    labels, _ = by_name.predict_top_k(X[:3], k=1)
    assert set(labels.ravel()) <= {"a", "b", "c", "d"}
    precision = precision_score(y[60:], by_name.predict(X[60:]), average=None, zero_division=1)
    assert precision[0] >= 0.6
    assert precision[3] >= 0.9


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "kwargs, y_kind, error, match",
    [
        ({"estimator": LinearSVC()}, "2d", ValueError, "'estimator' parameter.*predict_proba"),
        ({}, "1d", ValueError, "y must be a 2-D label indicator matrix"),
        ({"scoring": "hamming"}, "2d", ValueError, "'scoring' parameter"),
        ({"scoring": "recall"}, "2d", ValueError, "scoring='recall' needs min_precision"),
        ({"scoring": "precision"}, "2d", ValueError, "scoring='precision' needs min_recall"),
        ({"min_precision": [0.5, 0.5]}, "2d", ValueError, "min_precision has shape \\(2,\\)"),
        ({"min_recall": {"zz": 0.5}}, "2d", ValueError, "min_recall names unknown label"),
        ({"beta": [1, 1, 1, -1]}, "2d", ValueError, "beta must hold finite values"),
        ({"min_precision": 1.5}, "2d", ValueError, "min_precision must hold finite values"),
        ({"cv": 1}, "2d", ValueError, "'cv' parameter"),
        ({"refit": False}, "2d", ValueError, "refit=False needs a single train/test split"),
        ({"min_labels": 5}, "2d", ValueError, r"min_labels must be an integer in \[0, 4\]; got"),
        ({"shrinkage": -1}, "2d", ValueError, "'shrinkage' parameter"),
    ],
)
def test_errors_name_the_parameter(data, kwargs, y_kind, error, match):
    X, y = data
    kwargs = {"estimator": forest(), "cv": 2, **kwargs}
    target = y[:, 0] if y_kind == "1d" else y
    with pytest.raises(error, match=match):
        TunedThresholdMultiLabelClassifier(**kwargs).fit(X, target)


def test_not_fitted(data):
    with pytest.raises(NotFittedError):
        TunedThresholdMultiLabelClassifier(forest()).predict(data[0])


# --------------------------------------------------------------- cv, refit and sample weights


def test_single_split_without_refit_keeps_the_split_model(data):
    X, y = data
    clf = TunedThresholdMultiLabelClassifier(forest(), cv=0.3, random_state=0).fit(X, y)
    # "auto": a single split is not refitted; its training part is 70 % of the data.
    assert clf.estimator_.n_features_in_ == X.shape[1]
    assert sum(t.tree_.weighted_n_node_samples[0] for t in clf.estimator_.estimators_[:1]) < 90
    refit = clone(clf).set_params(refit=True).fit(X, y)
    assert refit.estimator_.estimators_[0].tree_.weighted_n_node_samples[0] == len(X)


def test_splitter_and_iterable_cv(data):
    X, y = data
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    a = TunedThresholdMultiLabelClassifier(forest(), cv=KFold(3, shuffle=True, random_state=0))
    b = TunedThresholdMultiLabelClassifier(forest(), cv=splits)
    assert_array_equal(a.fit(X, y).thresholds_, b.fit(X, y).thresholds_)


def test_sample_weight_reaches_the_estimator(data):
    X, y = data
    weight = np.where(np.arange(len(X)) % 2 == 0, 1.0, 5.0)
    plain = TunedThresholdMultiLabelClassifier(forest(), cv=3, random_state=0).fit(X, y)
    weighted = clone(plain).fit(X, y, sample_weight=weight)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))


# ------------------------------------------------------- Pipeline, GridSearchCV, clone, pickle


def test_pipeline_and_grid_search_retune_in_every_fold(data):
    X, y = data
    seen = []

    def record(estimator, X_test, y_test):
        seen.append(estimator[-1].thresholds_.copy())
        return f1_score(y_test, estimator.predict(X_test), average="macro", zero_division=0)

    pipe = make_pipeline(
        StandardScaler(), TunedThresholdMultiLabelClassifier(forest(), cv=3, random_state=0)
    )
    search = GridSearchCV(
        pipe,
        {"tunedthresholdmultilabelclassifier__estimator__max_depth": [2, None]},
        cv=KFold(3),
        scoring=record,
    ).fit(X, y)
    assert len(seen) == 6
    assert len({tuple(t) for t in seen}) == 6  # tuned anew in each fold and candidate
    assert search.best_estimator_[-1].thresholds_.shape == (4,)
    scorer = make_scorer(f1_score, average="macro", zero_division=0)
    assert 0 <= scorer(search.best_estimator_, X, y) <= 1


def test_clone_keeps_parameters_and_drops_fit(fitted):
    copy = clone(fitted)
    assert copy.get_params()["cv"] == 3
    assert not hasattr(copy, "thresholds_")


@pytest.mark.slow
def test_pickle_loads_in_a_fresh_process(fitted, data, tmp_path):
    X, _ = data
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(fitted))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, sys, numpy as np\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'skml']\n"
        "model = pickle.load(open('model.pkl', 'rb'))\n"
        "np.save('pred.npy', model.predict(np.load('X.npy')))\n"
        "print(type(model).__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "skml.tuning"
    assert_array_equal(np.load(tmp_path / "pred.npy"), fitted.predict(X))

"""The classifier inside scikit-learn's tools: Pipeline, GridSearchCV, cross_validate."""

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import f1_score, hamming_loss
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skml import KerasMultiLabelClassifier
from skml.losses import FocalLoss
from skml.metrics import SCORING
from skml.model_selection import MultilabelStratifiedKFold
from tests.conftest import FAST


@pytest.fixture(scope="module")
def data():
    # random_state=1 would take scikit-learn's generator seven seconds of rejection sampling.
    return make_multilabel_classification(
        n_samples=150, n_features=10, n_classes=3, n_labels=2, random_state=0
    )


def test_pipeline_with_scaler(data):
    X, y = data
    # Ten epochs at 0.05 reach a hamming loss of 0.28 to 0.38 of the majority's (seeds 0 to 2).
    clf = KerasMultiLabelClassifier(
        **{**FAST, "epochs": 10, "learning_rate_init": 0.05, "early_stopping": False}
    )
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    assert pipe.predict(X).shape == y.shape
    majority = np.tile(y.mean(axis=0) >= 0.5, (len(y), 1)).astype(int)
    assert hamming_loss(y, pipe.predict(X)) < 0.8 * hamming_loss(y, majority)


def _grid_search(X, y, n_jobs):
    grid = GridSearchCV(
        KerasMultiLabelClassifier(**FAST),
        {"network__hidden_layer_sizes": [(4,), (8,)], "network__dropout": [0.2]},
        cv=MultilabelStratifiedKFold(n_splits=2, shuffle=True, random_state=0),
        scoring={"f1_macro": SCORING["f1_macro"], "hamming": SCORING["hamming"]},
        refit="f1_macro",
        n_jobs=n_jobs,
    )
    return grid.fit(X, y)


def _check_grid(grid, X, y):
    results = grid.cv_results_
    assert [p["network__hidden_layer_sizes"] for p in results["params"]] == [(4,), (8,)]
    assert grid.best_estimator_.network.dropout == 0.2
    assert np.all(results["mean_test_hamming"] <= 0)  # negated loss
    f1 = results["mean_test_f1_macro"]
    assert np.all((f1 >= 0) & (f1 <= 1))
    assert grid.best_estimator_.predict(X).shape == y.shape


@pytest.fixture(scope="module")
def grid_one_job(data):
    return _grid_search(*data, n_jobs=1)


def test_grid_search_stratified_cv(grid_one_job, data):
    _check_grid(grid_one_job, *data)


@pytest.mark.slow  # two loky worker processes, each importing TensorFlow
def test_grid_search_two_jobs_matches_one(grid_one_job, data):
    X, y = data
    two = _grid_search(X, y, n_jobs=2)
    _check_grid(two, X, y)
    for key in ("mean_test_f1_macro", "mean_test_hamming"):
        np.testing.assert_allclose(grid_one_job.cv_results_[key], two.cv_results_[key], atol=1e-6)


@pytest.mark.slow  # five fits, each tracing its own loss
def test_grid_search_reaches_loss_parameters(data):
    X, y = data
    grid = GridSearchCV(
        KerasMultiLabelClassifier(**FAST, loss=FocalLoss()),
        {"loss__gamma": [0.0, 2.0]},
        cv=MultilabelStratifiedKFold(n_splits=2, random_state=0),
        scoring=SCORING["hamming"],
    ).fit(X, y)
    assert [p["loss__gamma"] for p in grid.cv_results_["params"]] == [0.0, 2.0]


def test_cross_validate_with_scoring_dict(data):
    X, y = data
    scores = cross_validate(
        KerasMultiLabelClassifier(**FAST),
        X,
        y,
        cv=MultilabelStratifiedKFold(n_splits=3, random_state=0),
        scoring=SCORING,
    )
    assert len(scores["test_f1_macro"]) == 3
    assert np.all(scores["test_hamming"] <= 0)


def test_scores_match_sklearn_metrics(data):
    X, y = data
    clf = KerasMultiLabelClassifier(**FAST).fit(X, y)
    pred = clf.predict(X)
    assert SCORING["hamming"](clf, X, y) == pytest.approx(-hamming_loss(y, pred))
    assert SCORING["f1_macro"](clf, X, y) == pytest.approx(
        f1_score(y, pred, average="macro", zero_division=0)
    )

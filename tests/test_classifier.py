"""KerasMultiLabelClassifier: targets, decision rules, persistence and bad input."""

import functools
import os
import pickle
import random
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError

from skml import KerasMultiLabelClassifier
from skml.networks import MLP
from tests.conftest import FAST


def make(**params):
    return KerasMultiLabelClassifier(**{**FAST, **params})


# ------------------------------------------------------------------ targets


def test_is_classifier_with_multilabel_tags():
    clf = KerasMultiLabelClassifier()
    assert is_classifier(clf)
    tags = clf.__sklearn_tags__()
    assert tags.classifier_tags.multi_label
    assert tags.target_tags.multi_output


def test_multilabel_proba_shape_and_range(fitted, multilabel_data):
    X, y = multilabel_data
    proba = fitted.predict_proba(X)
    assert proba.shape == y.shape
    assert proba.dtype == np.float64
    assert np.all((proba > 0) & (proba < 1))
    one = fitted.predict_proba(X[:1])
    assert one.shape == (1, y.shape[1])
    assert_allclose(one, proba[:1], rtol=1e-6)


def test_predict_is_proba_against_threshold(fitted, multilabel_data):
    X, y = multilabel_data
    pred = fitted.predict(X)
    assert pred.shape == y.shape
    assert set(np.unique(pred)) <= {0, 1}
    assert_array_equal(pred, (fitted.predict_proba(X) >= 0.5).astype(int))
    assert_array_equal(fitted.classes_, np.arange(y.shape[1]))
    assert fitted.n_labels_ == y.shape[1]


def test_network_ends_in_one_sigmoid_per_label(fitted, multilabel_data):
    _, y = multilabel_data
    out = fitted.model_.layers[-1]
    assert out.units == y.shape[1]
    assert out.activation.__name__ == "sigmoid"
    assert "loss" in fitted.history_ and len(fitted.history_["loss"]) >= 1


def test_one_label_per_row_stays_multilabel(multilabel_data):
    X, _ = multilabel_data
    # Four labels, as in multilabel_data: the network's shape is traced already.
    y = np.eye(4, dtype=int)[np.arange(len(X)) % 4]  # exactly one label per row
    clf = make().fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 4)
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent sigmoids, not a softmax
    assert clf.predict(X).shape == (len(X), 4)


def test_dataframe_and_sparse_targets(multilabel_data):
    X, y = multilabel_data
    names = ["drama", "thriller", "comedy", "horror"]
    clf = make().fit(X, pd.DataFrame(y, columns=names))
    assert list(clf.classes_) == names
    labels, proba = clf.predict_top_k(X[:5], k=2)
    assert labels.shape == (5, 2) and set(labels.ravel()) <= set(names)
    clf_sparse = make().fit(X, sp.csr_matrix(y))
    assert_allclose(clf_sparse.predict_proba(X), make().fit(X, y).predict_proba(X), rtol=1e-6)


def test_binary_and_multiclass_targets(multilabel_data):
    X, y = multilabel_data
    binary = make().fit(X, np.where(y[:, 0] == 1, "yes", "no"))
    proba = binary.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert set(binary.predict(X)) <= {"yes", "no"}
    assert binary.model_.layers[-1].units == 1

    multiclass = make().fit(X, y.sum(axis=1))
    proba = multiclass.predict_proba(X)
    assert proba.shape == (len(X), len(np.unique(y.sum(axis=1))))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert multiclass.model_.layers[-1].activation.__name__ == "softmax"


def test_constant_label_warns_and_is_predicted_consistently(multilabel_data):
    X, y = multilabel_data
    y = y.copy()
    y[:, 1] = 0
    y[:, 2] = 1
    with pytest.warns(UserWarning, match=r"Label\(s\) 1, 2 are constant"):
        clf = make().fit(X, y)
    assert_array_equal(clf.constant_labels_, [1, 2])
    pred = clf.predict(X)
    assert np.all(pred[:, 1] == 0) and np.all(pred[:, 2] == 1)
    proba = clf.predict_proba(X)
    assert np.all((proba > 0) & (proba < 1))


def test_all_labels_constant(multilabel_data):
    X, _ = multilabel_data
    y = np.zeros((len(X), 3), dtype=int)
    with pytest.warns(UserWarning, match="constant"):
        clf = make().fit(X, y)
    assert clf.model_ is None
    assert_array_equal(clf.predict(X), y)


# ----------------------------------------------------------- decision rules


def test_threshold_per_label(multilabel_data):
    X, y = multilabel_data
    thresholds = [0.1, 0.9, 0.5, 0.3]
    clf = make(threshold=thresholds).fit(X, y)
    assert_array_equal(clf.thresholds_, thresholds)
    assert_array_equal(clf.predict(X), (clf.predict_proba(X) >= thresholds).astype(int))
    with pytest.raises(ValueError, match="one value per label"):
        make(threshold=[0.5, 0.5]).fit(X, y)


def test_threshold_f1_is_tuned_on_validation(multilabel_data):
    from sklearn.metrics import f1_score

    X, y = multilabel_data
    clf = make(threshold="f1", threshold_cv="validation", epochs=5, validation_fraction=0.3)
    clf.fit(X, y)
    assert clf.thresholds_.shape == (y.shape[1],)
    assert not np.allclose(clf.thresholds_, 0.5)
    default = make(epochs=5, validation_fraction=0.3).fit(X, y)
    f1_tuned = f1_score(y, clf.predict(X), average="macro", zero_division=0)
    f1_default = f1_score(y, default.predict(X), average="macro", zero_division=0)
    assert f1_tuned >= f1_default


def test_threshold_shrinkage_sets_the_rules_pseudo_count(multilabel_data, monkeypatch):
    from skml import thresholds

    X, y = multilabel_data
    tune, pseudo_counts = thresholds.tune_thresholds, []

    def record(*args, **kwargs):
        pseudo_counts.append(kwargs["shrinkage"])
        return tune(*args, **kwargs)

    monkeypatch.setattr(thresholds, "tune_thresholds", record)
    params = dict(threshold="f1", threshold_cv="validation", epochs=3, validation_fraction=0.3)
    exact = make(threshold_shrinkage=0.0, **params).fit(X, y)
    default = make(**params).fit(X, y)
    huge = make(threshold_shrinkage=1e9, **params).fit(X, y)
    assert pseudo_counts == [0.0, thresholds.DEFAULT_SHRINKAGE, 1e9]
    # The same network each time: the pseudo-count moves the thresholds only, from the exact
    # optimum on the validation rows toward 0.5.
    assert_array_equal(exact.predict_proba(X), huge.predict_proba(X))
    assert not np.allclose(exact.thresholds_, 0.5)
    assert_allclose(huge.thresholds_, 0.5, atol=1e-6)
    distance = np.abs(default.thresholds_ - 0.5)
    assert (distance <= np.abs(exact.thresholds_ - 0.5) + 1e-12).all() and distance.max() > 0


def test_weighted_loss_shrinks_rare_thresholds_toward_its_own_safe_value(
    multilabel_data, monkeypatch
):
    """With class_weight, 0.5 in true probability is w / (1 + w) in the network's output; other
    losses than binary cross-entropy have their own (see skml.losses.bayes_thresholds)."""
    from skml import thresholds

    X, y = multilabel_data
    tune, defaults = thresholds.tune_thresholds, []

    def record(*args, **kwargs):
        defaults.append(np.asarray(kwargs["default"], dtype=float))
        return tune(*args, **kwargs)

    monkeypatch.setattr(thresholds, "tune_thresholds", record)
    params = dict(threshold="f1", threshold_cv="validation", epochs=2, validation_fraction=0.3)
    make(class_weight={1: 3.0}, **params).fit(X, y)
    assert_allclose(defaults[-1], [0.5, 0.75, 0.5, 0.5])  # by label: only label 1 weighs 3
    clf = make(class_weight="balanced", **params).fit(X, y)
    weight = clf.model_.loss.pos_weight
    assert_allclose(defaults[-1], np.divide(weight, np.add(weight, 1)))
    assert not np.allclose(defaults[-1], 0.5)
    make(**params).fit(X, y)  # unweighted: 0.5
    assert_allclose(defaults[-1], 0.5)
    # Losses that are not calibrated have their own: 0.68 for the asymmetric loss's defaults.
    make(loss="asymmetric", **params).fit(X, y)
    assert_allclose(defaults[-1], 0.6837, atol=2e-4)
    make(loss="focal", class_weight={1: 3.0}, **params).fit(X, y)
    assert defaults[-1][1] > defaults[-1][0] and 0.39 < defaults[-1][0] < 0.41
    # A binary target's class weights are sample weights: w1 / (w0 + w1).
    y_binary = np.where(y[:, 0] == 1, "yes", "no")
    make(class_weight={"no": 1.0, "yes": 4.0}, **params).fit(X, y_binary)
    assert_allclose(defaults[-1], [0.8])
    make(class_weight="balanced", **params).fit(X, y_binary)
    assert_allclose(defaults[-1], [np.mean(y_binary == "no")])  # w1 / (w0 + w1) = n0 / n
    # A binary target with the focal loss: its own safe value, moved up by the class weights.
    make(loss="focal", **params).fit(X, y_binary)
    assert_allclose(defaults[-1], [0.3988], atol=2e-4)
    make(loss="focal", class_weight={"no": 1.0, "yes": 4.0}, **params).fit(X, y_binary)
    assert 0.5 < defaults[-1][0] < 0.6  # FocalLoss(pos_weight=4)'s, 0.527


@pytest.mark.slow  # fourteen fits; test_tuning also tunes thresholds out of fold
def test_threshold_cv_tunes_on_out_of_fold_predictions(multilabel_data):
    from skml.model_selection import MultilabelStratifiedKFold
    from skml.thresholds import tune_thresholds

    X, y = multilabel_data
    clf = make(threshold="f1", threshold_cv=3, early_stopping=False).fit(X, y)
    again = make(threshold="f1", threshold_cv=3, early_stopping=False).fit(X, y)
    assert_array_equal(clf.thresholds_, again.thresholds_)
    # Recompute the out-of-fold probabilities by hand: same folds, same inner estimator.
    seed = int(np.random.RandomState(0).randint(2**31 - 1, size=3)[2])
    oof = np.empty(y.shape)
    inner = make(early_stopping=False, random_state=seed)
    cv = MultilabelStratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    for train, test in cv.split(X, y):
        oof[test] = clone(inner).fit(X[train], y[train]).predict_proba(X[test])
    assert_allclose(clf.thresholds_, tune_thresholds(y, oof), atol=1e-6)
    binary = make(threshold="f1", threshold_cv=2).fit(X, y[:, 0])
    assert binary.thresholds_.shape == (1,)


@pytest.mark.slow  # eight fits
def test_threshold_rules_tune_out_of_fold_by_default(multilabel_data):
    X, y = multilabel_data
    default = make(threshold="f1", early_stopping=False).fit(X, y)
    three_folds = make(threshold="f1", threshold_cv=3, early_stopping=False).fit(X, y)
    assert_array_equal(default.thresholds_, three_folds.thresholds_)
    # A validation split is held out only when asked for.
    with pytest.raises(ValueError, match="validation_fraction=0.2 sizes the split"):
        make(threshold="f1", early_stopping=False, validation_fraction=0.2).fit(X, y)
    make(
        threshold="f1", threshold_cv="validation", early_stopping=False, validation_fraction=0.2
    ).fit(X, y)
    # Under two rows per fold, the default falls back to the validation split.
    few = make(threshold="f1", early_stopping=False).fit(X[:5], y[:5])
    split = make(threshold="f1", threshold_cv="validation", early_stopping=False).fit(X[:5], y[:5])
    assert_array_equal(few.thresholds_, split.thresholds_)


def test_min_labels(multilabel_data):
    X, y = multilabel_data
    clf = make(threshold=0.99, min_labels=1).fit(X, y)
    pred = clf.predict(X)
    assert np.all(pred.sum(axis=1) >= 1)
    top = clf.predict_proba(X).argmax(axis=1)
    assert np.all(pred[np.arange(len(X)), top] == 1)


def test_predict_top_k(fitted, multilabel_data):
    X, _ = multilabel_data
    labels, proba = fitted.predict_top_k(X[:7], k=3)
    assert labels.shape == proba.shape == (7, 3)
    assert np.all(np.diff(proba, axis=1) <= 0)
    full = fitted.predict_proba(X[:7])
    assert_allclose(proba[:, 0], full.max(axis=1))
    with pytest.raises(ValueError, match="k"):
        fitted.predict_top_k(X[:2], k=10)


def test_class_weight_balanced_weights_positives(multilabel_data):
    X, y = multilabel_data
    plain = make(epochs=5).fit(X, y)
    balanced = make(epochs=5, class_weight="balanced").fit(X, y)
    assert balanced.model_.loss.pos_weight is not None
    rare = np.argmin(y.sum(axis=0))
    assert balanced.predict_proba(X)[:, rare].mean() > plain.predict_proba(X)[:, rare].mean()
    by_name = make(class_weight={0: 3.0}).fit(X, y)
    assert_allclose(by_name.model_.loss.pos_weight, [3.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    "loss",
    # focal and asymmetric each trace a network of their own; test_losses trains both quickly.
    [
        "binary_crossentropy",
        pytest.param("focal", marks=pytest.mark.slow),
        pytest.param("asymmetric", marks=pytest.mark.slow),
    ],
)
def test_losses_train(loss, multilabel_data):
    X, y = multilabel_data
    clf = make(loss=loss, epochs=5, early_stopping=False).fit(X, y)
    assert clf.history_["loss"][-1] < clf.history_["loss"][0]


# --------------------------------------------------------------- user models


def test_user_model_instance_is_not_mutated(multilabel_data):
    import keras

    X, y = multilabel_data
    user = keras.Sequential(
        [keras.Input((X.shape[1],)), keras.layers.Dense(y.shape[1], activation="sigmoid")]
    )
    before = [w.copy() for w in user.get_weights()]
    clf = make(network=user).fit(X, y)
    assert clf.predict_proba(X).shape == y.shape
    for a, b in zip(before, user.get_weights()):
        assert_array_equal(a, b)


def test_user_build_function_gets_meta(multilabel_data):
    import keras

    X, y = multilabel_data
    seen = {}

    def build(meta, units=4):
        seen.update(meta=meta, units=units)
        return keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(meta["n_outputs_expected_"], activation="sigmoid"),
            ]
        )

    clf = make(network=functools.partial(build, units=6)).fit(X, y)
    assert seen["units"] == 6 and seen["meta"]["n_features_in_"] == X.shape[1]
    assert clf.model_.layers[0].units == 6

    def wrong(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(2)])

    with pytest.raises(ValueError, match="must output 4 probabilities"):
        make(network=wrong).fit(X, y)


# -------------------------------------------- persistence, reproducibility


def test_pickle_and_joblib_round_trip(fitted, multilabel_data, tmp_path):
    X, _ = multilabel_data
    expected = fitted.predict_proba(X)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_allclose(restored.predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    joblib.dump(fitted, tmp_path / "clf.joblib")
    assert_allclose(
        joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected, rtol=1e-6, atol=1e-7
    )
    assert_array_equal(restored.predict(X), fitted.predict(X))


def test_clone_gives_unfitted_copy(fitted):
    copy = clone(fitted)
    params, original = copy.get_params(deep=True), fitted.get_params(deep=True)
    assert copy.network is not fitted.network  # the spec is cloned with the estimator
    assert {k: v for k, v in params.items() if k != "network"} == {
        k: v for k, v in original.items() if k != "network"
    }
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((1, 10)))


def test_same_random_state_same_proba(multilabel_data, fitted):
    X, y = multilabel_data
    again = make().fit(X, y)
    assert_allclose(again.predict_proba(X), fitted.predict_proba(X), rtol=0, atol=1e-6)
    other = make(random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), fitted.predict_proba(X), atol=1e-4)


_SUBPROCESS_FIT = """
import numpy as np, sys
from sklearn.datasets import make_multilabel_classification
from skml import KerasMultiLabelClassifier
from skml.networks import MLP
X, y = make_multilabel_classification(n_samples=100, n_features=10, n_classes=4,
                                      random_state=0)
clf = KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(8,)), epochs=3,
                                batch_size=32, random_state=0).fit(X, y)
np.save(sys.argv[1], clf.predict_proba(X))
"""


@pytest.mark.slow  # a fresh interpreter imports TensorFlow
def test_same_random_state_across_processes(fitted, multilabel_data, tmp_path):
    X, _ = multilabel_data
    out = tmp_path / "proba.npy"
    subprocess.run([sys.executable, "-c", _SUBPROCESS_FIT, str(out)], check=True)
    assert_allclose(np.load(out), fitted.predict_proba(X), rtol=0, atol=1e-6)


def test_fit_leaves_global_random_state_alone(multilabel_data):
    import os

    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    X, y = multilabel_data
    np.random.seed(123)  # noqa: NPY002 - the legacy global state is what is checked
    random.seed(123)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    determinism = tf_config.is_op_determinism_enabled()
    environ = {k: v for k, v in os.environ.items() if k.startswith(("TF_", "KERAS", "PYTHON"))}
    tf.random.set_seed(7)
    expected = tf.random.uniform((3,)).numpy()
    tf.random.set_seed(7)
    make().fit(X, y)
    assert_array_equal(tf.random.uniform((3,)).numpy(), expected)  # TF's global seed untouched
    assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert random.getstate() == py_state
    assert tf_config.is_op_determinism_enabled() == determinism
    assert {k: v for k, v in os.environ.items() if k.startswith(("TF_", "KERAS", "PYTHON"))} == (
        environ
    )


# ------------------------------------------------------------------ bad input


def test_input_not_modified(multilabel_data):
    X, y = multilabel_data
    X_copy, y_copy = X.copy(), y.copy()
    clf = make(class_weight="balanced", threshold="f1").fit(X, y)
    clf.predict(X)
    assert_array_equal(X, X_copy)
    assert_array_equal(y, y_copy)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_X(bad, multilabel_data):
    X, y = multilabel_data
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        make().fit(X, y)


def test_non_binary_2d_y(multilabel_data):
    X, y = multilabel_data
    y = y.copy()
    y[0, 0] = 2
    with pytest.raises(ValueError, match=r"values other than 0/1 found: 2"):
        make().fit(X, y)


def test_nan_in_y(multilabel_data):
    X, y = multilabel_data
    y = y.astype(float)
    y[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN|0/1"):
        make().fit(X, y)


def test_length_mismatch(multilabel_data):
    X, y = multilabel_data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        make().fit(X, y[:-1])


def test_wrong_feature_count_at_predict(fitted, multilabel_data):
    X, _ = multilabel_data
    with pytest.raises(ValueError, match="has 9 features, but KerasMultiLabelClassifier"):
        fitted.predict(X[:, :9])


def test_predict_before_fit(multilabel_data):
    X, _ = multilabel_data
    for method in ("predict", "predict_proba", "predict_top_k"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(KerasMultiLabelClassifier(), method)(X)


def test_empty_X():
    with pytest.raises(ValueError, match="0 sample"):
        make().fit(np.empty((0, 4)), np.empty((0, 3)))


def test_3d_X_for_mlp(multilabel_data):
    X, y = multilabel_data
    with pytest.raises(ValueError, match="Found array with dim 3"):
        make().fit(X.reshape(len(X), 5, 2), y)


def test_bad_parameter_named():
    X, y = np.zeros((10, 2)), np.zeros((10, 2))
    with pytest.raises(ValueError, match="'dropout' parameter of MLP"):
        KerasMultiLabelClassifier(network=MLP(dropout=1.5)).fit(X, y)


def test_verbose_zero_is_silent(multilabel_data, capfd):
    X, y = multilabel_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(verbose=0).fit(X, y)
    captured = capfd.readouterr()
    assert captured.out == ""


# ------------------------------------------------- per-label parameters, targets, parameters


@pytest.fixture(scope="module")
def frame_data(multilabel_data):
    X, y = multilabel_data
    return X, pd.DataFrame(y[:, :3], columns=["a", "b", "c"])


@pytest.mark.parametrize(
    "threshold",
    [
        pd.Series({"c": 0.9, "a": 0.1, "b": 0.5}),
        {"c": 0.9, "a": 0.1},
        [0.1, 0.5, 0.9],
    ],
)
def test_threshold_per_label_is_matched_by_name(frame_data, threshold):
    X, Y = frame_data
    clf = KerasMultiLabelClassifier(threshold=threshold, **FAST).fit(X, Y)
    np.testing.assert_array_equal(clf.thresholds_, [0.1, 0.5, 0.9])
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), (proba >= [0.1, 0.5, 0.9]).astype(int))


def test_class_weight_series_is_matched_by_name(frame_data):
    X, Y = frame_data
    by_name = KerasMultiLabelClassifier(class_weight=pd.Series({"c": 3.0, "a": 2.0}), **FAST)
    in_order = KerasMultiLabelClassifier(class_weight=[2.0, 1.0, 3.0], **FAST)
    np.testing.assert_allclose(
        by_name.fit(X, Y).predict_proba(X), in_order.fit(X, Y).predict_proba(X), atol=1e-6
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"threshold": [0.1, np.nan, 0.3]}, r"threshold must hold finite values"),
        ({"threshold": {"z": 0.3}}, r"threshold names unknown label\(s\) \['z'\]"),
        ({"threshold": [0.1, 0.2]}, r"threshold has shape \(2,\) but y has 3 labels"),
        ({"class_weight": pd.Series({"z": 2.0})}, r"class_weight names unknown label"),
        ({"class_weight": {"a": -1.0}}, r"class_weight must hold finite values in \[0,"),
        ({"network": MLP((0,))}, r"hidden_layer_sizes must be a tuple of positive"),
        ({"network": MLP((-3,))}, r"hidden_layer_sizes must be a tuple of positive"),
        ({"network": MLP((2.5,))}, r"hidden_layer_sizes must be a tuple of positive"),
        ({"network": MLP(activation="no_such")}, r"activation must be the name of a Keras"),
    ],
)
def test_bad_parameters_fail_at_fit_naming_the_parameter(frame_data, params, message):
    X, Y = frame_data
    with pytest.raises(ValueError, match=message):
        KerasMultiLabelClassifier(**{**FAST, **params}).fit(X, Y)


def test_negative_sample_weight_is_rejected(multilabel_data):
    X, y = multilabel_data
    weights = np.ones(len(X))
    weights[3] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        KerasMultiLabelClassifier(**FAST).fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("dtype", ["Int64", "boolean", "category", "object"])
def test_nullable_category_and_object_targets(frame_data, dtype):
    X, Y = frame_data
    expected = KerasMultiLabelClassifier(**FAST).fit(X, Y).predict_proba(X)
    clf = KerasMultiLabelClassifier(**FAST).fit(X, Y.astype(dtype))
    assert clf.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6)


def test_object_array_of_ints_is_a_label_matrix(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**FAST).fit(X, y.astype(object))
    assert clf.n_labels_ == y.shape[1]


@pytest.mark.parametrize(
    "y",
    [
        lambda n: [{"drama", "thriller"} if i % 2 else {"comedy"} for i in range(n)],
        lambda n: [["drama", "thriller"] if i % 2 else ["comedy"] for i in range(n)],
    ],
)
def test_label_sets_point_to_multilabelbinarizer(multilabel_data, y):
    X, _ = multilabel_data
    with pytest.raises(ValueError, match="MultiLabelBinarizer"):
        KerasMultiLabelClassifier(**FAST).fit(X, y(len(X)))


@pytest.mark.slow
def test_training_is_float32_whatever_the_keras_floatx(tmp_path, multilabel_data):
    """A user's ``~/.keras/keras.json`` with float16 or float64 neither breaks nor changes."""
    # One fresh process: float16 comes from its keras.json, then float64 is set as a user's
    # code would; each fit must train float32 and leave the setting alone.
    script = """
import numpy as np, keras
from sklearn.datasets import make_multilabel_classification
from skml import KerasMultiLabelClassifier
from skml.networks import MLP
X, y = make_multilabel_classification(80, 6, n_classes=3, random_state=0)
for floatx in (None, "float64"):
    if floatx:
        keras.config.set_floatx(floatx)
    floatx = keras.config.floatx()
    clf = KerasMultiLabelClassifier(network=MLP((8,)), epochs=3, random_state=0).fit(X, y)
    assert {w.dtype for w in clf.model_.weights} == {"float32"}, clf.model_.weights
    assert keras.config.floatx() == floatx
    print(floatx, clf.predict_proba(X).sum())
"""
    # The reference: the same fit in this process (fits are reproducible across processes, see
    # test_same_random_state_across_processes), whatever this session's floatx.
    from sklearn.datasets import make_multilabel_classification

    X, y = make_multilabel_classification(80, 6, n_classes=3, random_state=0)
    clf = KerasMultiLabelClassifier(network=MLP((8,)), epochs=3, random_state=0).fit(X, y)
    reference = float(clf.predict_proba(X).sum())
    home = tmp_path / "keras_home"
    home.mkdir()
    (home / "keras.json").write_text('{"floatx": "float16", "backend": "tensorflow"}')
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "KERAS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line.split() for line in done.stdout.splitlines()]
    assert [floatx for floatx, _ in lines] == ["float16", "float64"]
    sums = [float(total) for _, total in lines]
    np.testing.assert_allclose(sums, reference, rtol=1e-6)


@pytest.mark.slow
def test_no_misleading_warnings_in_loops(multilabel_data, caplog, recwarn):
    """Sparse early stopping interrupts nothing, and many models are not "retracing"."""
    import logging

    X, y = multilabel_data
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        KerasMultiLabelClassifier(**{**FAST, "epochs": 4}).fit(sp.csr_matrix(X), y)
        for units in range(3, 11):
            clf = KerasMultiLabelClassifier(**{**FAST, "network": MLP((units,))})
            clf.fit(X, y).predict_proba(X)
    assert not [w for w in recwarn if "ran out of data" in str(w.message)]
    assert "retracing" not in caplog.text


# ------------------------------------------------- no parameter is ignored silently


def _sgd():
    import keras

    return keras.optimizers.SGD(0.1)


@pytest.mark.parametrize(
    "params, target, message",
    [
        ({"patience": 3, "early_stopping": False}, "multilabel", "patience=3 applies to early"),
        (
            {"average_epochs": 3, "early_stopping": False},
            "multilabel",
            "average_epochs=3 applies to early stopping",
        ),
        (
            {"average_epochs": 4, "patience": 2},
            "multilabel",
            "average_epochs=4 is more epochs than early stopping runs after the best one: with "
            "patience=2",
        ),
        (
            {"validation_fraction": 0.2, "early_stopping": False},
            "multilabel",
            "validation_fraction=0.2 sizes the split",
        ),
        (
            {
                "validation_fraction": 0.2,
                "early_stopping": False,
                "threshold": "f1",
                "threshold_cv": 3,
            },
            "multilabel",
            "validation_fraction=0.2 sizes the split",
        ),
        (
            {"final_epochs": "out_of_fold"},
            "multilabel",
            "final_epochs='out_of_fold' chooses how the final network is trained when "
            "thresholds are tuned out of fold with early stopping on; this fit tunes none out "
            "of fold",
        ),
        (
            {"final_epochs": "early_stopping", "threshold": "f1", "threshold_cv": "validation"},
            "multilabel",
            "final_epochs='early_stopping' .* tunes none out of fold",
        ),
        (
            {"final_epochs": "out_of_fold", "threshold": "f1", "early_stopping": False},
            "multilabel",
            "final_epochs='out_of_fold' .* has no early stopping",
        ),
        ({"threshold_cv": 3}, "multilabel", "threshold_cv=3 tunes thresholds"),
        (
            {"threshold_shrinkage": 3.0},
            "multilabel",
            "threshold_shrinkage=3.0 shrinks tuned thresholds .* threshold=0.5 is fixed",
        ),
        ({"threshold_cv": 3, "threshold": [0.2] * 4}, "multilabel", "threshold_cv=3 tunes"),
        ({"learning_rate_init": 0.1, "optimizer": _sgd}, "multilabel", "learning_rate_init=0.1"),
        ({"loss": "focal"}, "multiclass", "loss='focal' applies to sigmoid outputs"),
        ({"threshold": 0.3}, "multiclass", "threshold=0.3 applies to sigmoid outputs"),
        ({"threshold": "f1"}, "multiclass", "threshold='f1' applies to sigmoid outputs"),
        ({"min_labels": 1}, "binary", "min_labels=1 applies to multi-label targets"),
        ({"min_labels": 2}, "multiclass", "min_labels=2 applies to multi-label targets"),
    ],
)
def test_inapplicable_parameters_are_refused(multilabel_data, params, target, message):
    X, y = multilabel_data
    y = {"multilabel": y, "binary": y[:, 0], "multiclass": y.argmax(axis=1)}[target]
    params = {k: v() if callable(v) else v for k, v in params.items()}
    with pytest.raises(ValueError, match=message):
        make(**params).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"patience": 2}, "patience=2 applies to early stopping"),
        ({"average_epochs": 2}, "average_epochs=2 applies to early stopping"),
        ({"validation_fraction": 0.3}, "validation_fraction=0.3 sizes the split"),
        (
            {"final_epochs": "out_of_fold"},
            "final_epochs='out_of_fold' .* tunes none out of fold .* partial_fit",
        ),
    ],
)
def test_partial_fit_refuses_what_it_cannot_use(multilabel_data, params, message):
    X, y = multilabel_data
    with pytest.raises(ValueError, match=message):
        make(**params).partial_fit(X, y)


@pytest.mark.slow
def test_average_epochs_changes_the_restored_weights_not_the_training(multilabel_data):
    X, y = multilabel_data
    params = {"epochs": 40, "patience": 2, "learning_rate_init": 0.05}
    best = make(**params, average_epochs=1).fit(X, y)
    assert len(best.history_["loss"]) < 40  # early stopping fired
    default = make(**params).fit(X, y)  # None: min(5, patience + 1) = 3 epochs
    three = make(**params, average_epochs=3).fit(X, y)
    assert default.history_ == best.history_ == three.history_
    assert_allclose(default.predict_proba(X), three.predict_proba(X))
    assert not np.allclose(default.predict_proba(X), best.predict_proba(X), atol=1e-4)


def test_out_of_fold_tuning_trains_the_final_network_on_every_row(multilabel_data, monkeypatch):
    # threshold="f1" tunes on out-of-fold networks, which early-stop; the final network then
    # trains on every row for their mean best epoch and the 2 after it (average_epochs=3),
    # and averages those 3 epochs' weights.
    from skml import _fit

    X, y = multilabel_data
    params = {"epochs": 40, "patience": 2, "learning_rate_init": 0.05, "random_state": 3}
    folds = []
    out_of_fold = _fit._out_of_fold_outputs
    monkeypatch.setattr(
        _fit, "_out_of_fold_outputs", lambda *a: folds.append(out_of_fold(*a)) or folds[-1]
    )
    clf = make(**params, threshold="f1").fit(X, y)
    best = round(float(np.mean(folds[0].best_epochs)))
    assert 1 <= best < 40 - 2 and len(folds) == 1
    assert list(clf.history_) == ["loss"] and len(clf.history_["loss"]) == best + 2
    # The same seeds draw the same network, shuffles and rows: plain fits of every row for
    # best, best + 1 and best + 2 epochs give the three weights whose mean it keeps.
    plain = {"learning_rate_init": 0.05, "random_state": 3, "early_stopping": False}
    epochs = [
        make(**{**plain, "epochs": best + i}).fit(X, y).model_.get_weights() for i in range(3)
    ]
    for got, *want in zip(clf.model_.get_weights(), *epochs):
        assert_allclose(got, np.mean(want, axis=0), rtol=1e-5, atol=1e-6)
    # Its own early stopping instead: a validation loss, other weights, the same thresholds
    # (tuned on the same out-of-fold predictions).
    own = make(**params, threshold="f1", final_epochs="early_stopping").fit(X, y)
    assert "val_loss" in own.history_
    assert_allclose(own.thresholds_, clf.thresholds_)
    assert not np.allclose(own.predict_proba(X), clf.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize(
    "params, average",
    [
        ({}, 5),
        ({"early_stopping": False}, 1),
        # A split held out to tune on, not to stop on: the last epoch's weights, not a mean.
        ({"early_stopping": False, "threshold": "f1", "threshold_cv": "validation"}, 1),
        ({"average_epochs": 2}, 2),
    ],
)
def test_weights_are_averaged_only_by_early_stopping_or_out_of_fold_epochs(
    multilabel_data, params, average
):
    from skml import _fit
    from skml._head import make_head

    X, y = multilabel_data
    head, y_net = make_head(y)
    run = _fit._Run(make(**params), head, y_net, np.random.RandomState(0))
    assert run.average_epochs == average


def test_final_epochs_out_of_fold_refuses_to_continue_a_network(multilabel_data):
    X, y = multilabel_data
    clf = make(threshold="f1", warm_start=True, epochs=4).fit(X, y)
    tuned, weights = clf.thresholds_.copy(), clf.model_.get_weights()
    with pytest.raises(ValueError, match="final_epochs='out_of_fold' trains a new network"):
        clf.set_params(final_epochs="out_of_fold").fit(X, y)
    # Refused before anything changed: the fitted estimator predicts as before.
    assert_allclose(clf.thresholds_, tuned)
    for got, want in zip(clf.model_.get_weights(), weights):
        assert_allclose(got, want)


def test_warm_start_continues_with_its_own_early_stopping_by_default(multilabel_data):
    # final_epochs=None: a continued network cannot train "on every row from scratch", so it
    # early-stops on its split as any continued fit does; the thresholds are tuned again.
    X, y = multilabel_data
    clf = make(threshold="f1", warm_start=True, epochs=4).fit(X, y)
    assert "val_loss" not in clf.history_  # the first fit: every row
    first = clf.n_iter_
    clf.fit(X, y)
    assert "val_loss" in clf.history_ and clf.n_iter_ > first
    assert clf.thresholds_.shape == (y.shape[1],)


def test_out_of_fold_tuning_survives_folds_without_a_network():
    # 12 rows and one positive: some out-of-fold fits see every label constant and train
    # nothing (no best epoch); the final network still trains and predicts.
    X = np.random.RandomState(0).randn(12, 3)
    y = np.zeros((12, 2), dtype=int)
    y[0] = 1
    clf = make(threshold="f1", epochs=2).fit(X, y)
    assert clf.predict(X).shape == y.shape


@pytest.mark.parametrize(
    "history, best",
    [
        ({"loss": [1, 1, 1], "val_loss": [0.5, 0.3, 0.4]}, 2),
        ({"loss": [1, 1, 1], "val_loss": [0.5, float("nan"), 0.6]}, 1),  # NaN: never the best
        ({"loss": [1, 1, 1], "val_loss": [float("inf"), 0.7, 0.6]}, 3),
        ({"loss": [1, 1, 1], "val_loss": [float("nan")] * 3}, 3),
        ({"loss": [1, 1, 1, 1]}, 4),  # nothing monitored: the last epoch
    ],
)
def test_best_epoch_is_the_one_early_stopping_keeps(history, best):
    from skml._fit import _best_epoch

    assert _best_epoch(history) == best


def test_network_spec_class_instead_of_instance_is_refused(multilabel_data):
    X, y = multilabel_data
    with pytest.raises(TypeError, match=r"network spec instance such as MLP\(\)"):
        make(network=MLP).fit(X, y)


def test_cnn_refuses_sparse_rows(multilabel_data):
    from skml.networks import CNN

    X, y = multilabel_data
    with pytest.raises(TypeError, match="[Ss]parse"):
        make(network=CNN(input_shape=(2, 5, 1))).fit(sp.csr_matrix(X), y)


@pytest.mark.slow  # five fits; test_integration searches network__* in the fast loop
def test_network_parameters_are_searchable(multilabel_data):
    from sklearn.model_selection import GridSearchCV

    X, y = multilabel_data
    search = GridSearchCV(make(), {"network__hidden_layer_sizes": [(2,), (6,)]}, cv=2).fit(X, y)
    assert search.best_estimator_.model_.get_layer("dense_0").units in (2, 6)
    assert {p["network__hidden_layer_sizes"] for p in search.cv_results_["params"]} == {
        (2,),
        (6,),
    }
    assert FAST["network"].hidden_layer_sizes == (8,)  # the shared spec was cloned, not set


def test_network_parameters_need_a_spec_not_the_default_none(multilabel_data):
    from sklearn.model_selection import GridSearchCV

    message = "network__dropout sets a parameter of the network spec, but network=None"
    with pytest.raises(ValueError, match=message):
        KerasMultiLabelClassifier().set_params(network__dropout=0.1)
    # A grid search sets its candidates so: the same error, not "'NoneType' object ..."
    X, y = multilabel_data
    search = GridSearchCV(
        make(network=None), {"network__dropout": [0.1]}, cv=2, error_score="raise"
    )
    with pytest.raises(ValueError, match=message):
        search.fit(X, y)
    # A spec given in the same call, or before, takes them.
    clf = KerasMultiLabelClassifier().set_params(network=MLP(), network__dropout=0.1)
    assert (
        clf.network.dropout == 0.1 and clf.set_params(network__dropout=0.3).network.dropout == 0.3
    )


def test_unscaled_features_warn_and_scaled_ones_do_not(multilabel_data):
    X, y = multilabel_data
    with pytest.warns(UserWarning, match="unscaled features.*StandardScaler"):
        make(epochs=1).fit(X * 1e4, y)
    with pytest.warns(UserWarning, match="up to 5e\\+04"):
        make(epochs=1).fit(sp.csr_matrix(np.where(X > 3, 5e4, 0.0)), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(epochs=1).fit(X, y)  # counts up to about 20: no warning

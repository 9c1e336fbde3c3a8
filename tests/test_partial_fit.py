"""partial_fit and warm_start: training that continues, chunk by chunk or fit after fit."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.metrics import f1_score
from sklearn.preprocessing import StandardScaler

from skml import KerasMultiLabelClassifier
from skml.networks import MLP
from tests.conftest import FAST

PARTIAL = {**FAST, "epochs": 1}


def _chunks(n_samples, n_chunks):
    return np.array_split(np.arange(n_samples), n_chunks)


def _partial(X, y, n_chunks=4, rounds=1, **params):
    clf = KerasMultiLabelClassifier(**{**PARTIAL, **params})
    for _ in range(rounds):
        for chunk in _chunks(X.shape[0], n_chunks):
            clf.partial_fit(X[chunk], y[chunk])
    return clf


def test_partial_fit_builds_once_and_counts_passes(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**PARTIAL).partial_fit(X[:50], y[:50])
    network = clf.model_
    clf.partial_fit(X[50:], y[50:])
    assert clf.model_ is network
    assert clf.n_iter_ == 2
    assert len(clf.history_["loss"]) == 2
    assert clf.predict_proba(X).shape == (100, 4)
    # One optimizer, two passes of ceil(50 / 32) = 2 batches each: Adam's state persisted.
    assert int(network.optimizer.iterations.numpy()) == 4


@pytest.mark.slow
def test_partial_fit_is_reproducible_and_depends_on_chunk_order(multilabel_data):
    X, y = multilabel_data
    a = _partial(X, y, rounds=2)
    b = _partial(X, y, rounds=2)
    assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)
    reverse = KerasMultiLabelClassifier(**PARTIAL)
    for _ in range(2):
        for chunk in reversed(_chunks(X.shape[0], 4)):
            reverse.partial_fit(X[chunk], y[chunk])
    assert np.abs(reverse.predict_proba(X) - a.predict_proba(X)).max() > 1e-4


@pytest.mark.slow
def test_partial_fit_pickles_and_continues_identically(multilabel_data):
    X, y = multilabel_data
    clf = _partial(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert int(copy.model_.optimizer.iterations.numpy()) == int(
        clf.model_.optimizer.iterations.numpy()
    )
    clf.partial_fit(X[:40], y[:40])
    copy.partial_fit(X[:40], y[:40])
    assert copy.n_iter_ == clf.n_iter_ == 5
    assert_allclose(copy.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_partial_fit_trains_a_label_constant_in_the_first_chunk(multilabel_data):
    X, y = multilabel_data
    y = y.copy()
    first, second = np.arange(50), np.arange(50, 100)
    y[first, 0] = 0  # label 0 never occurs in the first chunk
    y[second, 0] = 1  # ... and always in the second
    clf = KerasMultiLabelClassifier(**{**PARTIAL, "learning_rate_init": 0.01})
    clf.partial_fit(X[first], y[first])
    assert clf.constant_labels_.size == 0 and clf.n_outputs_ == 4
    before = clf.predict_proba(X)[:, 0].mean()
    for _ in range(5):
        clf.partial_fit(X[second], y[second])
    after = clf.predict_proba(X)[:, 0].mean()
    assert after > before + 0.2


def test_partial_fit_rejects_another_label_set(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**PARTIAL).partial_fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="3 label column.*fitted on 4 labels"):
        clf.partial_fit(X[50:], y[50:, :3])
    with pytest.raises(ValueError, match="1 label column"):
        clf.partial_fit(X[50:], y[50:, 0])
    with pytest.raises(ValueError, match="has 9 features"):
        clf.partial_fit(X[50:, :9], y[50:])
    with pytest.raises(ValueError, match="values other than 0/1 found"):
        clf.partial_fit(X[50:], 2 * y[50:])
    assert clf.n_iter_ == 1  # nothing trained on the rejected chunks


def test_partial_fit_rejects_other_label_names(multilabel_data):
    X, y = multilabel_data
    frame = pd.DataFrame(y, columns=["a", "b", "c", "d"])
    clf = KerasMultiLabelClassifier(**PARTIAL).partial_fit(X[:50], frame[:50])
    assert list(clf.classes_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match=r"label columns \['a', 'b', 'd', 'c'\]"):
        clf.partial_fit(X[50:], frame[50:][["a", "b", "d", "c"]])
    clf.partial_fit(X[50:], frame[50:])  # the same names are fine
    clf.partial_fit(X[50:], y[50:])  # so are unnamed columns, in order


@pytest.mark.parametrize("threshold", ["f1", "accuracy"])
def test_partial_fit_refuses_tuned_thresholds(multilabel_data, threshold):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**PARTIAL, threshold=threshold)
    with pytest.raises(ValueError, match="held-out data, which partial_fit does not have"):
        clf.partial_fit(X, y)


def test_partial_fit_numeric_thresholds_and_balanced_weights(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**PARTIAL, threshold=[0.1, 0.2, 0.3, 0.9]).partial_fit(X, y)
    assert_allclose(clf.thresholds_, [0.1, 0.2, 0.3, 0.9])
    with pytest.raises(ValueError, match="class_weight='balanced' needs the label rates"):
        KerasMultiLabelClassifier(**PARTIAL, class_weight="balanced").partial_fit(X, y)
    weighted = KerasMultiLabelClassifier(**PARTIAL, class_weight=[1, 2, 3, 4]).partial_fit(X, y)
    assert_allclose(weighted.model_.loss.pos_weight, [1, 2, 3, 4])


@pytest.mark.slow
def test_partial_fit_one_dimensional_targets(multilabel_data):
    X, y = multilabel_data
    binary = np.where(y[:, 0] == 1, "yes", "no")
    clf = KerasMultiLabelClassifier(**PARTIAL)
    with pytest.raises(ValueError, match="single class: pass the classes"):
        clf.partial_fit(X[:5], np.array(["no"] * 5))
    clf.partial_fit(X[:5], np.array(["no"] * 5), classes=["no", "yes"])
    clf.partial_fit(X[5:], binary[5:])
    assert list(clf.classes_) == ["no", "yes"] and clf.predict_proba(X).shape == (100, 2)
    assert set(clf.predict(X)) <= {"no", "yes"}
    with pytest.raises(ValueError, match="unseen in the first call"):
        clf.partial_fit(X[:3], np.array(["no", "maybe", "yes"]))

    multiclass = y.sum(axis=1) % 3
    clf = KerasMultiLabelClassifier(**PARTIAL).partial_fit(
        X[:10], multiclass[:10], classes=[0, 1, 2]
    )
    clf.partial_fit(X[10:], multiclass[10:])
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-5)


def test_partial_fit_sparse_chunks(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**PARTIAL)
    clf.partial_fit(sp.csr_matrix(X[:50]), y[:50])
    clf.partial_fit(X[50:], y[50:])  # a dense chunk after a sparse one
    clf.partial_fit(sp.csr_matrix(X[50:]), y[50:])
    assert clf.n_iter_ == 3 and int(clf.model_.optimizer.iterations.numpy()) == 6
    assert_allclose(clf.predict_proba(sp.csr_matrix(X)), clf.predict_proba(X), atol=1e-5)


def test_partial_fit_after_fit_continues_the_network(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**FAST, early_stopping=False).fit(X, y)
    network, steps = clf.model_, int(clf.model_.optimizer.iterations.numpy())
    clf.partial_fit(X, y)
    assert clf.model_ is network and clf.n_iter_ == 4
    assert int(network.optimizer.iterations.numpy()) == steps + 4


@pytest.mark.slow
def test_partial_fit_matches_fit_on_yeast():
    """E rounds over 10 chunks reach fit(epochs=E)'s macro-F1 on the test split within 0.01."""
    from skml.datasets import load_yeast

    X_train, y_train = load_yeast(subset="train", return_X_y=True)
    X_test, y_test = load_yeast(subset="test", return_X_y=True)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    epochs = 40
    params = {"network": MLP(hidden_layer_sizes=(32,)), "epochs": epochs, "random_state": 0}
    full = KerasMultiLabelClassifier(**params, early_stopping=False).fit(X_train, y_train)
    chunked = _partial(X_train, y_train, n_chunks=10, rounds=epochs, **params)
    assert chunked.n_iter_ == 10 * epochs
    f1_full = f1_score(y_test, full.predict(X_test), average="macro", zero_division=0)
    f1_chunked = f1_score(y_test, chunked.predict(X_test), average="macro", zero_division=0)
    assert abs(f1_chunked - f1_full) <= 0.01, (f1_full, f1_chunked)


# ------------------------------------------------------------------------- warm_start


def test_warm_start_continues_the_loss(multilabel_data):
    X, y = multilabel_data
    params = {**FAST, "epochs": 10, "early_stopping": False, "learning_rate_init": 0.01}
    clf = KerasMultiLabelClassifier(**params, warm_start=True).fit(X, y)
    first = clf.history_["loss"]
    network = clf.model_
    clf.fit(X, y)
    second = clf.history_["loss"]
    assert clf.model_ is network and clf.n_iter_ == 20
    drop = first[0] - first[-1]
    assert drop > 0.05  # from about 0.70 (the embeddings start near chance on unscaled rows)
    # The second fit starts where the first ended, far below where the first started.
    assert abs(second[0] - first[-1]) < 0.25 * drop
    assert second[-1] < first[-1]

    cold = KerasMultiLabelClassifier(**params).fit(X, y)
    cold_network = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not cold_network and cold.n_iter_ == 10
    assert_allclose(cold.history_["loss"], first, rtol=1e-5)


def test_warm_start_rejects_another_problem(multilabel_data):
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**FAST, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="takes 10 features; X has 9"):
        clf.fit(X[:, :9], y)
    with pytest.raises(ValueError, match="warm_start=True continues the fitted network"):
        clf.fit(X, y[:, :3])
    with pytest.raises(ValueError, match="warm_start=True continues the fitted network"):
        clf.fit(X, pd.DataFrame(y, columns=list("abcd")))
    clf.set_params(warm_start=False).fit(X, y[:, :3])
    assert clf.n_labels_ == 3

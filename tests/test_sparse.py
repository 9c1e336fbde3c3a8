"""Sparse X end to end for the MLP, without densifying the whole matrix."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from skml import KerasMultiLabelClassifier
from skml.networks import MLP
from tests.conftest import FAST


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_fit_predict(fmt, multilabel_data):
    X, y = multilabel_data
    Xs = sp.csr_matrix(X).asformat(fmt)
    clf = KerasMultiLabelClassifier(**FAST).fit(Xs, y)
    proba = clf.predict_proba(Xs)
    assert proba.shape == y.shape
    # The same network on the same rows, dense or sparse, gives the same probabilities.
    assert_allclose(proba, clf.predict_proba(X), atol=1e-6)


@pytest.mark.slow
def test_tfidf_pipeline_on_strings():
    texts = [
        "a thriller with a detective and a murder",
        "a romantic comedy in paris",
        "a dark thriller about a heist",
        "a comedy about a wedding",
        "a detective drama in london",
        "a romantic drama about love",
    ] * 5
    y = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]] * 5)
    pipe = make_pipeline(TfidfVectorizer(), KerasMultiLabelClassifier(**FAST)).fit(texts, y)
    assert pipe.predict(["a detective thriller"]).shape == (1, 3)


@pytest.mark.slow
def test_sparse_training_never_densifies_whole_matrix():
    n_samples, n_features = 5_000, 20_000  # few steps: tracemalloc slows every allocation
    rng = np.random.default_rng(0)
    nnz = n_samples * n_features // 1000  # density 0.001 (sp.random takes 17 s to draw this)
    coords = rng.integers(0, n_samples, nnz), rng.integers(0, n_features, nnz)
    X = sp.csr_matrix(
        (np.ones(nnz, dtype=np.float32), coords), shape=(n_samples, n_features), dtype=np.float32
    )
    y = rng.integers(0, 2, size=(n_samples, 3))
    dense_bytes = n_samples * n_features * 4  # 400 MB as float32
    clf = KerasMultiLabelClassifier(
        network=MLP(hidden_layer_sizes=(8,)), epochs=1, batch_size=256, random_state=0
    )
    # Import and load everything a fit needs first: importing TensorFlow alone allocates
    # nearly 200 MB of Python objects, which tracemalloc would count as the fit's.
    clone(clf).fit(X[:512], y[:512]).predict_proba(X[:8])  # also traces the same steps
    tracemalloc.start()
    try:
        clf.fit(X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < dense_bytes / 10, f"peak {peak / 1e6:.0f} MB"


def test_sparse_fit_reproducible_without_global_random_state(multilabel_data):
    import random

    X, y = multilabel_data
    Xs = sp.csr_matrix(X)
    probas = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        np.random.seed(global_seed)  # noqa: NPY002 - the legacy global state must not matter
        clf = KerasMultiLabelClassifier(**FAST).fit(Xs, y)
        probas.append(clf.predict_proba(Xs))
    assert_allclose(probas[0], probas[1], atol=1e-6)


def test_tensorflow_network_reads_sparse_tensors(multilabel_data):
    import keras

    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**FAST).fit(sp.csr_matrix(X), y)
    assert clf.model_.inputs[0].sparse == (keras.backend.backend() == "tensorflow")


# ------------------------------------------------------------------ sparse == dense


@pytest.fixture(scope="module")
def binary_rows():
    """Binary rows at 3% density, and labels: a bag-of-words-like problem."""
    rng = np.random.default_rng(0)
    X = sp.random(240, 120, density=0.03, format="csr", dtype=np.float32, random_state=0)
    X.data[:] = 1.0
    y = (rng.random((240, 4)) < 0.3).astype(int)
    return X, y


@pytest.mark.parametrize("early_stopping", [pytest.param(False, marks=pytest.mark.slow), True])
def test_csr_and_dense_rows_give_the_same_probabilities(binary_rows, early_stopping):
    """Same rows, same order of the rows in every epoch: the CSR fit (a sparse-input network
    fed tf.SparseTensor batches) and the dense fit give the same network."""
    X, y = binary_rows
    params = dict(epochs=5, random_state=0, early_stopping=early_stopping)
    sparse = KerasMultiLabelClassifier(**params).fit(X, y)
    dense = KerasMultiLabelClassifier(**params).fit(X.toarray(), y)
    assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-5)
    assert_allclose(sparse.predict_proba(X), dense.predict_proba(X.toarray()), atol=1e-5, rtol=0)


def _network(n_features, n_outputs, sparse_input):
    import keras

    def init(seed):
        return keras.initializers.GlorotUniform(seed)

    inputs = keras.Input((n_features,), sparse=sparse_input)
    hidden = keras.layers.Dense(16, activation="relu", kernel_initializer=init(1))(inputs)
    outputs = keras.layers.Dense(n_outputs, activation="sigmoid", kernel_initializer=init(2))
    return keras.Model(inputs, outputs(hidden))


def _fit_network(X, y, *, sparse_input, fast=True, val_rows=None):
    import keras

    from skml import _training

    network = _network(X.shape[1], y.shape[1], sparse_input)
    n_train = X.shape[0] if val_rows is None else X.shape[0] - len(val_rows)
    history = _training.fit_network(
        network,
        loss="binary_crossentropy",
        optimizer=keras.optimizers.Adam(0.01),
        X=X,
        y=y.astype(np.float32),
        sample_weight=np.linspace(0.5, 1.5, X.shape[0], dtype=np.float32),
        train_rows=np.arange(n_train),
        val_rows=val_rows,
        epochs=4,
        batch_size=24,
        patience=2,
        seed=3,
        verbose=0,
        fast=fast,
    )
    return network, history


@pytest.mark.parametrize(
    "fast",
    [
        pytest.param(True, id="traced-loop"),
        pytest.param(False, id="model-fit", marks=pytest.mark.slow),
    ],
)
def test_fit_network_on_csr_equals_dense(binary_rows, fast):
    from skml._training import Predictor

    X, y = binary_rows
    val_rows = np.arange(200, 240)
    dense, dense_history = _fit_network(X.toarray(), y, sparse_input=False, val_rows=val_rows)
    for sparse_input in (True, False):  # sparse batches, or CSR densified per batch
        net, history = _fit_network(X, y, sparse_input=sparse_input, fast=fast, val_rows=val_rows)
        assert_allclose(history["val_loss"], dense_history["val_loss"], rtol=1e-5)
        assert_allclose(Predictor(net)(X), Predictor(dense)(X.toarray()), atol=1e-5, rtol=0)


@pytest.mark.slow
def test_non_canonical_csr_trains_as_its_canonical_form(binary_rows):
    """Repeated entries add up and unsorted columns are fine, as in SciPy's arithmetic."""
    from skml._training import Predictor

    X, y = binary_rows
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    order = np.lexsort((-X.indices, rows))  # each row's columns in decreasing order
    twice = np.repeat(order, 2)  # each entry twice, half its value each time
    indptr = np.concatenate([[0], np.cumsum(2 * np.diff(X.indptr))])
    messy = sp.csr_matrix((X.data[twice] / 2, X.indices[twice], indptr), shape=X.shape)
    assert not messy.has_canonical_format
    assert_allclose(messy.toarray(), X.toarray())
    expected = _fit_network(X, y, sparse_input=True)[0]
    got = _fit_network(messy, y, sparse_input=True)[0]
    assert_allclose(Predictor(got)(messy), Predictor(expected)(X), atol=1e-6, rtol=0)


@pytest.mark.slow
def test_trainer_passes_on_csr_equal_dense(binary_rows):
    import keras

    from skml._training import Predictor, Trainer

    X, y = binary_rows
    y = y.astype(np.float32)
    w = np.ones(X.shape[0], np.float32)
    outputs = []
    for rows, sparse_input in ((X, True), (X.toarray(), False)):
        network = _network(X.shape[1], y.shape[1], sparse_input)
        network.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
        trainer = Trainer(network, batch_size=16)
        for n in range(3):
            trainer.epoch(rows, y, w, key=(5, n))
        outputs.append((Predictor(network)(X), trainer.evaluate(rows, y, w)["loss"]))
    assert_allclose(outputs[0][0], outputs[1][0], atol=1e-5, rtol=0)
    assert_allclose(outputs[0][1], outputs[1][1], rtol=1e-5)

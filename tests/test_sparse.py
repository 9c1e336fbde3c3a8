"""Sparse X end to end for the MLP, without densifying the whole matrix."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
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


def test_sparse_training_never_densifies_whole_matrix():
    n_samples, n_features = 20_000, 5_000
    X = sp.random(
        n_samples, n_features, density=0.001, format="csr", dtype=np.float32, random_state=0
    )
    y = np.random.default_rng(0).integers(0, 2, size=(n_samples, 3))
    dense_bytes = n_samples * n_features * 4  # 400 MB as float32
    clf = KerasMultiLabelClassifier(
        network=MLP(hidden_layer_sizes=(8,)), epochs=1, batch_size=256, random_state=0
    )
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

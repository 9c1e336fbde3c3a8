"""Shared fixtures: tiny data and fast settings, so neural tests take seconds."""

import pytest
from sklearn.datasets import make_multilabel_classification

from skml.networks import MLP

# Constructor settings that train in well under a second on tiny data.
# The network spec is shared: tests that change it call set_params on a clone, never on FAST.
FAST = {"network": MLP(hidden_layer_sizes=(8,)), "epochs": 3, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="session")
def multilabel_data():
    X, y = make_multilabel_classification(
        n_samples=100, n_features=10, n_classes=4, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def fitted(multilabel_data):
    """One fitted model that read-only tests share."""
    from skml import KerasMultiLabelClassifier

    X, y = multilabel_data
    return KerasMultiLabelClassifier(**FAST).fit(X, y)

"""The built-in CNN: images in, the whole scikit-learn contract kept."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV

from skml import KerasMultiLabelClassifier
from skml.datasets import load_image_folder, make_multilabel_digits
from skml.metrics import SCORING
from skml.model_selection import MultilabelStratifiedKFold
from skml.networks import CNN

TINY_CNN = {
    "network": CNN(filters=(4,), dense_units=(8,)),
    "epochs": 2,
    "batch_size": 32,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def digits():
    bunch = make_multilabel_digits(120, canvas_size=16, max_digits=2, digit_size=8, random_state=0)
    return bunch.data, bunch.target


@pytest.fixture(scope="module")
def fitted_cnn(digits):
    X, y = digits
    return KerasMultiLabelClassifier(**TINY_CNN).fit(X, y)


def test_cnn_on_images(fitted_cnn, digits):
    X, y = digits
    proba = fitted_cnn.predict_proba(X)
    assert proba.shape == y.shape
    assert np.all((proba > 0) & (proba < 1))
    assert fitted_cnn.model_.input_shape[1:] == X.shape[1:]
    assert any(type(layer).__name__ == "Conv2D" for layer in fitted_cnn.model_.layers)


def test_flat_rows_with_input_shape_match_images(fitted_cnn, digits):
    X, y = digits
    flat = KerasMultiLabelClassifier(
        **{**TINY_CNN, "network": CNN(filters=(4,), dense_units=(8,), input_shape=X.shape[1:])}
    )
    flat.fit(X.reshape(len(X), -1), y)
    assert_allclose(
        flat.predict_proba(X.reshape(len(X), -1)), fitted_cnn.predict_proba(X), atol=1e-6
    )
    with pytest.raises(ValueError, match="input_shape"):
        KerasMultiLabelClassifier(
            **{**TINY_CNN, "network": CNN(filters=(4,), dense_units=(8,), input_shape=(5, 5, 1))}
        ).fit(X.reshape(len(X), -1), y)


def test_rows_as_sequences():
    # input_shape=(None, channels): each row is a sequence of n_features // channels steps.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 12)).astype(np.float32)
    y = np.column_stack([X[:, :6].sum(axis=1) > 0, X[:, 6:].sum(axis=1) > 0]).astype(int)
    network = CNN(filters=(4,), dense_units=(8,), input_shape=(None, 2))
    clf = KerasMultiLabelClassifier(**{**TINY_CNN, "network": network}).fit(X, y)
    assert clf.model_.input_shape == (None, 6, 2)
    assert any(type(layer).__name__ == "Conv1D" for layer in clf.model_.layers)
    assert clf.predict_proba(X).shape == y.shape
    with pytest.raises(ValueError, match="X has 10 features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError, match=r"input_shape=\(None, 5\) must describe the 12 columns"):
        KerasMultiLabelClassifier(
            **{**TINY_CNN, "network": CNN(filters=(4,), input_shape=(None, 5))}
        ).fit(X, y)


def test_cnn_reproducible_and_pickles(fitted_cnn, digits):
    X, y = digits
    again = KerasMultiLabelClassifier(**TINY_CNN).fit(X, y)
    assert_allclose(again.predict_proba(X), fitted_cnn.predict_proba(X), atol=1e-6)
    restored = pickle.loads(pickle.dumps(fitted_cnn))
    assert_allclose(restored.predict_proba(X), fitted_cnn.predict_proba(X), atol=1e-6)


def test_cnn_wrong_dimensions_or_channels(fitted_cnn, digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"\(n_samples, height, width, channels\)"):
        KerasMultiLabelClassifier(**TINY_CNN).fit(X[..., 0], y)
    rgb = np.repeat(X, 3, axis=-1)
    with pytest.raises(ValueError, match=r"images of shape \(16, 16, 3\).*\(16, 16, 1\)"):
        fitted_cnn.predict(rgb)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        bad = X.copy()
        bad[0, 0, 0, 0] = np.nan
        KerasMultiLabelClassifier(**TINY_CNN).fit(bad, y)


@pytest.mark.slow  # five CNN fits
def test_grid_search_on_images(digits):
    X, y = digits
    grid = GridSearchCV(
        KerasMultiLabelClassifier(**TINY_CNN),
        {"network__filters": [(4,), (8,)]},
        cv=MultilabelStratifiedKFold(n_splits=2, random_state=0),
        scoring=SCORING["f1_macro"],
    ).fit(X, y)
    assert len(grid.cv_results_["mean_test_score"]) == 2
    assert grid.predict(X).shape == y.shape


@pytest.mark.slow  # tracing the augmentation layers takes seconds
def test_augmentation_only_while_training(digits):
    X, y = digits
    clf = KerasMultiLabelClassifier(
        **{**TINY_CNN, "network": CNN(filters=(4,), dense_units=(8,), augmentation="light")}
    ).fit(X, y)
    assert_array_equal(clf.predict_proba(X[:5]), clf.predict_proba(X[:5]))


@pytest.mark.slow  # a CNN of its own shape: seconds of tracing
def test_image_folder_to_top_k(tmp_path):
    """PNG files on disk -> load_image_folder -> CNN -> predict_top_k."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        red, blue = i % 2, (i // 2) % 2
        image = rng.integers(0, 40, size=(12, 12, 3), dtype=np.uint8)
        image[..., 0] += 200 * red
        image[..., 2] += 200 * blue
        Image.fromarray(image).save(tmp_path / f"img{i}.png")
        rows.append({"id": f"img{i}", "red": red, "blue": blue})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    data = load_image_folder(tmp_path / "labels.csv", tmp_path, target_size=(12, 12))
    assert data.data.shape == (24, 12, 12, 3)
    clf = KerasMultiLabelClassifier(**{**TINY_CNN, "epochs": 3}).fit(data.data, data.target)
    labels, proba = clf.predict_top_k(data.data[:4], k=2)
    assert labels.shape == proba.shape == (4, 2)
    assert set(labels.ravel()) <= set(range(len(data.target_names)))
    assert np.all(proba[:, 0] >= proba[:, 1])


@pytest.mark.slow
def test_threshold_cv_on_flattened_rows(digits):
    """The out-of-fold networks read the rows fit was given, reshaped by the same spec."""
    X, y = digits
    flat = X.reshape(len(X), -1)
    network = CNN(filters=(4,), dense_units=(8,), input_shape=X.shape[1:])
    clf = KerasMultiLabelClassifier(
        **{**TINY_CNN, "network": network, "threshold": "f1", "threshold_cv": 2}
    ).fit(flat, y)
    assert clf.thresholds_.shape == (y.shape[1],)
    assert not np.allclose(clf.thresholds_, 0.5)  # tuned on the out-of-fold outputs
    assert clf.predict(flat).shape == y.shape

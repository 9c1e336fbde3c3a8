"""Tests of the benchmark package: the ML-kNN, the constant-label guard, a quick run."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_multilabel_classification

from benchmarks.contenders import CONTENDERS
from benchmarks.estimators import ChainEnsemble, ConstantSafe
from benchmarks.mlknn import MLkNN


@pytest.fixture
def data():
    X, y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=4, random_state=0)
    return X + np.random.default_rng(0).normal(scale=1e-3, size=X.shape), y


def _mlknn_reference(X_train, y_train, X_test, k, s):
    """ML-kNN written out from the paper, one label and one sample at a time."""
    n, n_labels = y_train.shape

    def neighbours(x, exclude=None):
        d = ((X_train - x) ** 2).sum(axis=1)
        if exclude is not None:
            d[exclude] = np.inf
        return np.argsort(d, kind="stable")[:k]

    counts = np.array([y_train[neighbours(X_train[i], exclude=i)].sum(axis=0) for i in range(n)])
    proba = np.empty((len(X_test), n_labels))
    for l in range(n_labels):  # noqa: E741
        prior = (s + y_train[:, l].sum()) / (2 * s + n)
        c1 = np.array([np.sum((y_train[:, l] == 1) & (counts[:, l] == j)) for j in range(k + 1)])
        c0 = np.array([np.sum((y_train[:, l] == 0) & (counts[:, l] == j)) for j in range(k + 1)])
        for t, x in enumerate(X_test):
            j = y_train[neighbours(x), l].sum()
            p1 = prior * (s + c1[j]) / (s * (k + 1) + c1.sum())
            p0 = (1 - prior) * (s + c0[j]) / (s * (k + 1) + c0.sum())
            proba[t, l] = p1 / (p1 + p0)
    return proba


@pytest.mark.parametrize(("k", "s"), [(10, 1.0), (3, 0.5)])
def test_mlknn_matches_the_paper(data, k, s):
    X, y = data
    model = MLkNN(k=k, s=s).fit(X[:40], y[:40])
    proba = model.predict_proba(X[40:])
    assert_allclose(proba, _mlknn_reference(X[:40], y[:40], X[40:], k, s), rtol=1e-12)
    assert_array_equal(model.predict(X[40:]), (proba > 0.5).astype(int))


def test_mlknn_shapes_and_probabilities(data):
    X, y = data
    model = MLkNN().fit(X, y)
    proba = model.predict_proba(X[:7])
    assert proba.shape == (7, 4) and model.predict(X[:7]).shape == (7, 4)
    assert np.all((proba >= 0) & (proba <= 1))
    assert model.likelihood_pos_.shape == (11, 4)
    assert_allclose(model.likelihood_pos_.sum(axis=0), 1.0)
    assert_allclose(model.likelihood_neg_.sum(axis=0), 1.0)


def test_mlknn_is_perfect_on_duplicated_training_data(data):
    X, y = data
    X2, y2 = np.vstack([X, X]), np.vstack([y, y])
    assert_array_equal(MLkNN(k=1).fit(X2, y2).predict(X), y)


def test_mlknn_rejects_k_not_below_n_samples(data):
    X, y = data
    with pytest.raises(ValueError, match="k=60 must be smaller than n_samples=60"):
        MLkNN(k=60).fit(X, y)


def test_constant_safe_predicts_the_constant(data):
    from sklearn.linear_model import LogisticRegression

    X, _ = data
    for value in (0, 1):
        model = ConstantSafe(LogisticRegression()).fit(X, np.full(len(X), value))
        assert_array_equal(model.classes_, [0, 1])
        assert_array_equal(model.predict(X[:3]), [value] * 3)
        assert_array_equal(model.predict_proba(X[:3])[:, 1], [value] * 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("method", ["br-lr", "cc-lr", "ecc-lr", "rf", "mlknn", "sk-mlp"])
def test_contenders_survive_constant_label_columns(data, method):
    X, y = data
    y = y.copy()
    y[:, 1] = 0
    y[:, 2] = 1
    model = CONTENDERS[method].factory(0, quick=True).fit(X, y)
    y_pred = model.predict(X)
    assert y_pred.shape == y.shape
    assert_array_equal(y_pred[:, 1], 0)
    assert_array_equal(y_pred[:, 2], 1)


def test_chain_ensemble_averages_its_chains(data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    model = ChainEnsemble(ConstantSafe(LogisticRegression()), n_chains=3, random_state=0)
    model.fit(X, y)
    orders = {tuple(chain.order_) for chain in model.chains_}
    assert len(orders) > 1
    expected = np.mean([chain.predict_proba(X) for chain in model.chains_], axis=0)
    assert_allclose(model.predict_proba(X), expected)
    assert_array_equal(model.predict(X), (expected >= 0.5).astype(int))


def test_cnn_contender_reads_images():
    from benchmarks.contenders import make_skml_cnn
    from benchmarks.data import load_digits

    contender = CONTENDERS["skml-cnn"]
    assert contender.input == "image" and contender.factory is make_skml_cnn
    model = make_skml_cnn(3)
    assert model.get_params()["architecture"] == "cnn" and model.random_state == 3
    assert model.epochs == type(model)().epochs
    assert make_skml_cnn(0, quick=True).epochs == 5

    dataset = load_digits()
    assert dataset.image_shape == (32, 32, 1)
    X = dataset.features(dataset.train[:8], "image")
    assert X.shape == (8, 32, 32, 1)
    assert_array_equal(X.reshape(8, -1), dataset.X[dataset.train[:8]])


def test_image_contenders_skip_data_sets_without_images(tmp_path, capsys):
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit):
        main(["--datasets", "emotions", "--methods", "skml-cnn", "--out", str(tmp_path)])
    assert "image methods need images" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_run_writes_table_csv_and_charts(tmp_path, capsys):
    import pandas as pd

    from benchmarks.__main__ import QUICK_PLAN, main
    from benchmarks.protocols import CV_SPLITS

    assert main(["--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out

    frame = pd.read_csv(tmp_path / "benchmark.csv")
    n_runs = {"split": 1, "cv": CV_SPLITS[True][0] * CV_SPLITS[True][1]}
    counts = frame.groupby(["dataset", "method"]).size()
    # The quick data sets have no images, so the image contenders (the CNN) sit it out.
    tabular = [name for name, c in CONTENDERS.items() if c.input == "tabular"]
    assert len(counts) == len(QUICK_PLAN) * len(tabular)
    for (dataset, _), count in counts.items():
        assert count == sum(n_runs[p] for p in QUICK_PLAN[dataset])
    assert not frame.duplicated(["dataset", "method", "protocol", "fold", "seed"]).any()
    for metric in ("hamming_loss", "f1_macro", "f1_micro", "f1_samples", "subset_accuracy"):
        assert frame[metric].between(0, 1).all(), metric
    assert (frame[["fit_seconds", "predict_seconds"]] >= 0).all().all()
    for column in (
        "skml_version",
        "sklearn_version",
        "keras_version",
        "keras_backend",
        "tensorflow_version",
        "platform",
        "cpu_count",
    ):
        assert frame[column].notna().all(), column
    # Sane, not just in range: the best method clearly beats predicting no label at all.
    assert frame.groupby("dataset").f1_macro.max().min() > 0.4

    table = (tmp_path / "benchmark.md").read_text(encoding="utf-8")
    assert table in printed
    for name in CONTENDERS:
        assert (f"| {name} |" in table) == (name in tabular), name
    assert "| method | hamming loss ↓ | macro-F1 ↑" in table

    for dataset in QUICK_PLAN:
        png = (tmp_path / f"benchmark_{dataset}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 10_000

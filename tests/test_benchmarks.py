"""Tests of the benchmark package: the ML-kNN, the constant-label guards, a quick run."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_multilabel_classification

from benchmarks.contenders import CONTENDERS
from benchmarks.estimators import ChainEnsemble, ConstantLabels, ConstantSafe, Scaler
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


GBDT = ["xgboost", "catboost", "lightgbm"]
TUNED = ["rf-f1", "xgboost-f1", "catboost-f1"]


def _needs_library(method):
    contender = CONTENDERS[method]
    if contender.requires is not None:
        pytest.importorskip(contender.requires)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize(
    "method", ["br-lr", "cc-lr", "ecc-lr", "rf", "mlknn", "sk-mlp", *GBDT, *TUNED]
)
def test_contenders_survive_constant_label_columns(data, method, sparse):
    _needs_library(method)
    X, y = data
    if sparse:  # bibtex's features are a CSR matrix
        X = sp.csr_matrix(np.where(X > np.median(X), 1.0, 0.0))
    y = y.copy()
    y[:, 1] = 0
    y[:, 2] = 1
    model = CONTENDERS[method].factory(0, quick=True).fit(X, y)
    y_pred = np.asarray(model.predict(X))
    assert y_pred.shape == y.shape
    assert_array_equal(y_pred[:, 1], 0)
    assert_array_equal(y_pred[:, 2], 1)
    assert set(np.unique(y_pred)) <= {0, 1}
    # The varying labels are learnt: better than chance on the training rows.
    varying = [0, 3]
    assert (y_pred[:, varying] == y[:, varying]).mean() > 0.6


@pytest.mark.parametrize("method", GBDT)
def test_gbdt_contenders_settings(method):
    _needs_library(method)
    from benchmarks.contenders import CATBOOST_ROUNDS, LIGHTGBM_ROUNDS, XGBOOST_ROUNDS

    contender = CONTENDERS[method]
    assert contender.requires == method and contender.available()
    params = contender.factory(7).get_params()
    if method == "xgboost":
        assert params["estimator__tree_method"] == "hist"
        assert params["estimator__n_estimators"] == XGBOOST_ROUNDS[False]
        assert params["estimator__random_state"] == 7
    elif method == "catboost":
        assert params["estimator__loss_function"] == "MultiLogloss"
        assert params["estimator__iterations"] == CATBOOST_ROUNDS[False]
        assert params["estimator__random_seed"] == 7
        assert "bibtex" in contender.not_on
    else:
        assert params["estimator__estimator__n_estimators"] == LIGHTGBM_ROUNDS[False]
        assert params["estimator__estimator__random_state"] == 7
        assert "bibtex" in contender.not_on
    quick = contender.factory(0, quick=True).get_params()
    assert any(quick.get(k) == 5 for k in quick if k.endswith(("n_estimators", "iterations")))


@pytest.mark.parametrize("method", TUNED)
def test_tuned_contenders_wrap_their_peer(method):
    _needs_library(method)
    from benchmarks.contenders import TUNING_CV

    model = CONTENDERS[method].factory(3)
    assert type(model).__name__ == "TunedThresholdMultiLabelClassifier"
    assert model.scoring == "f1" and model.cv == TUNING_CV[False] and model.random_state == 3
    peer = CONTENDERS[method.removesuffix("-f1")].factory(3)
    assert type(model.estimator) is type(peer)
    assert model.estimator.get_params().keys() == peer.get_params().keys()
    assert CONTENDERS[method].factory(0, quick=True).cv == TUNING_CV[True]
    # Each fit of a boosted -f1 contender is 4 boosted fits: named runs only.
    assert CONTENDERS[method].default == (method == "rf-f1")


def test_constant_labels_fits_only_the_varying_columns():
    from sklearn.tree import DecisionTreeClassifier

    X = np.arange(12.0).reshape(6, 2)
    y = np.array([[0, 1, 0], [0, 1, 1], [0, 1, 0], [0, 1, 1], [0, 1, 0], [0, 1, 1]])
    model = ConstantLabels(DecisionTreeClassifier(random_state=0)).fit(X, y)
    assert_array_equal(model.varying_, [False, False, True])
    assert model.estimator_.n_outputs_ == 1
    assert_array_equal(model.predict(X), y)
    assert_array_equal(model.predict(sp.csr_matrix(X)), y)
    proba = model.predict_proba(X)
    assert proba.shape == (6, 3)
    assert_array_equal(proba[:, :2], [[0, 1]] * 6)
    assert_array_equal(proba[:, 2], y[:, 2])
    constant = ConstantLabels(DecisionTreeClassifier()).fit(X, y[:, :2])
    assert constant.estimator_ is None
    assert_array_equal(constant.predict(X[:2]), [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match="2-D label matrix"):
        ConstantLabels(DecisionTreeClassifier()).fit(X, y[:, 2])


def test_constant_safe_reads_sparse_rows(data):
    from sklearn.linear_model import LogisticRegression

    X, _ = data
    model = ConstantSafe(LogisticRegression()).fit(X, np.ones(len(X)))
    assert_array_equal(model.predict(sp.csr_matrix(X[:4])), [1] * 4)
    assert model.predict_proba(sp.csr_matrix(X[:4])).shape == (4, 2)


def test_scaler_keeps_sparse_input_sparse(data):
    from sklearn.preprocessing import MaxAbsScaler, StandardScaler

    X, _ = data
    dense = Scaler().fit(X)
    assert isinstance(dense.scaler_, StandardScaler)
    assert_allclose(dense.transform(X).mean(axis=0), 0, atol=1e-12)
    X_sparse = sp.csr_matrix(np.where(X > np.median(X), 2.0, 0.0))
    scaled = Scaler().fit(X_sparse)
    assert isinstance(scaled.scaler_, MaxAbsScaler)
    out = scaled.transform(X_sparse)
    assert sp.issparse(out) and out.nnz == X_sparse.nnz
    assert_array_equal(np.unique(out.data), [1.0])


def test_missing_library_is_skipped_with_a_note(monkeypatch, tmp_path, capsys):
    from benchmarks import __main__ as cli
    from benchmarks.contenders import Contender, make_binary_relevance

    ghost = Contender("ghost", make_binary_relevance, "needs a library", requires="no_such_lib_x")
    assert not ghost.available()
    monkeypatch.setitem(CONTENDERS, "ghost", ghost)
    _, runs = cli._load({"emotions": ("split",)}, ["ghost", "br-lr"], quick=True)
    assert runs == {"emotions": ["br-lr"]}
    with pytest.raises(SystemExit):
        cli.main(["--datasets", "emotions", "--methods", "ghost", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert "ghost: skipped, no_such_lib_x is not installed" in err
    assert not (tmp_path / "benchmark.csv").exists()


def test_list_names_the_new_data_set_and_contenders(capsys):
    from benchmarks.__main__ import DEFAULT_PLAN, main

    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "bibtex" in listed and "1836 sparse binary features" in listed
    for name in GBDT:
        assert f"  {name} " in listed
    # Too slow for the default run's 20 minutes (bibtex: 159 labels; digits: the CNN), but one
    # flag away, on their split.
    assert "bibtex" not in DEFAULT_PLAN and "digits" not in DEFAULT_PLAN
    from benchmarks.__main__ import _parser, _plan

    parser = _parser()
    assert _plan(parser.parse_args(["--datasets", "bibtex"]), parser) == {"bibtex": ("split",)}


def test_bibtex_dataset_is_sparse_with_the_standard_split():
    from benchmarks.data import load_dataset

    dataset = load_dataset("bibtex")
    assert sp.issparse(dataset.X) and dataset.X.shape == (7395, 1836)
    assert_array_equal(dataset.train, np.arange(4880))
    assert_array_equal(dataset.test, np.arange(4880, 7395))
    assert dataset.y.shape == (7395, 159)
    small = dataset.subsample(200, 100)
    assert sp.issparse(small.X) and small.X.shape == (300, 1836)
    assert sp.issparse(small.features(small.train))


def test_default_seeds_are_three_for_the_split(monkeypatch, tmp_path):
    from benchmarks import __main__ as cli

    seen = {}

    def fake_run(plan, datasets, runs, args, env, csv_path):
        seen["seeds"] = args.seeds
        raise SystemExit(0)

    monkeypatch.setattr(cli, "_run", fake_run)
    monkeypatch.setattr(cli, "_quiet_tensorflow", lambda: None)
    monkeypatch.setattr(cli, "environment", dict)
    for argv, seeds in [([], 3), (["--quick"], 1), (["--seeds", "2"], 2)]:
        with pytest.raises(SystemExit):
            cli.main(
                [*argv, "--datasets", "emotions", "--methods", "br-lr", "--out", str(tmp_path)]
            )
        assert seen["seeds"] == seeds


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
    from skml.networks import CNN

    model = make_skml_cnn(3)
    assert isinstance(model.network, CNN) and model.random_state == 3
    assert model.network.get_params() == CNN().get_params()  # the CNN's defaults
    assert model.epochs == type(model)().epochs
    assert make_skml_cnn(0, quick=True).epochs == 5

    dataset = load_digits()
    assert dataset.image_shape == (32, 32, 1)
    X = dataset.features(dataset.train[:8], "image")
    assert X.shape == (8, 32, 32, 1)
    assert_array_equal(X.reshape(8, -1), dataset.X[dataset.train[:8]])


@pytest.mark.slow
def test_a_data_set_every_method_sits_out_is_noted_not_plotted(tmp_path, capsys):
    from benchmarks.__main__ import main

    # rf-f1 sits bibtex out; the run used to crash drawing bibtex's empty chart.
    argv = ["--quick", "--protocol", "split", "--datasets", "emotions,bibtex"]
    assert main([*argv, "--methods", "rf-f1", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "benchmark_emotions.png").exists()
    assert not (tmp_path / "benchmark_bibtex.png").exists()
    assert "rf-f1: skipped on bibtex" in (tmp_path / "benchmark.md").read_text()


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
    # The quick data sets have no images, so the image contenders (the CNN) sit it out; so do
    # contenders whose optional library is not installed.
    tabular = [
        name
        for name, c in CONTENDERS.items()
        if c.input == "tabular" and c.available() and c.default
    ]
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
    assert "### emotions: cv (2 folds, stratified, 300 rows, 6 labels)" in table

    for dataset in QUICK_PLAN:
        png = (tmp_path / f"benchmark_{dataset}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 10_000


def test_skml_tabm_f1_is_the_opt_in_tabm_with_f1_thresholds():
    from skml.networks import TabM

    contender = CONTENDERS["skml-tabm-f1"]
    assert not contender.default  # named runs only: it is not skml's default network
    classifier = contender.factory(4)[-1]
    assert isinstance(classifier.network, TabM) and classifier.threshold == "f1"
    assert classifier.random_state == 4 and classifier.threshold_cv is None
    assert contender.factory(0, quick=True)[-1].epochs == 5


def test_skml_ensemble_is_the_opt_in_ensemble_at_threshold_half_mlp_f1_the_single_network():
    from skml.networks import MLP, Ensemble

    contender = CONTENDERS["skml-ensemble"]
    assert not contender.default  # k fits each: named runs only
    classifier = contender.factory(3)[-1]
    assert isinstance(classifier.network, Ensemble) and classifier.network.network is None
    assert classifier.threshold == 0.5 and classifier.random_state == 3
    assert contender.factory(0, quick=True)[-1].epochs == 5
    # skml-f1 keeps the default network of its rule (an Ensemble); skml-mlp-f1 pins one MLP
    assert CONTENDERS["skml-f1"].factory(3)[-1].network is None
    single = CONTENDERS["skml-mlp-f1"]
    classifier = single.factory(3)[-1]
    assert not single.default and classifier.threshold == "f1"
    assert classifier.network.get_params() == MLP().get_params()


def test_skml_periodic_contenders_are_opt_in_and_sit_wide_bibtex_out():
    for name, threshold in (("skml-periodic", 0.5), ("skml-periodic-f1", "f1")):
        contender = CONTENDERS[name]
        assert not contender.default and "bibtex" in contender.not_on
        classifier = contender.factory(2)[-1]
        network = classifier.network
        assert network.embedding == "periodic"
        assert (network.embedding_frequencies, network.embedding_units) == (48, 24)
        assert classifier.threshold == threshold and classifier.random_state == 2


def test_skml_plain_contenders_are_opt_in_without_embeddings():
    for name, threshold in (("skml-plain", 0.5), ("skml-plain-f1", "f1")):
        contender = CONTENDERS[name]
        assert not contender.default and not contender.not_on
        classifier = contender.factory(3)[-1]
        assert classifier.network.embedding is None
        assert classifier.threshold == threshold and classifier.random_state == 3
    assert CONTENDERS["skml"].factory(0)[-1].get_params()["network"] is None  # the default

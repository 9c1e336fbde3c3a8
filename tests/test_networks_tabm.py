"""TabM: shapes, members, per-member loss, mean at inference, sparse rows, persistence, export."""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import keras
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skml import KerasMultiLabelClassifier
from skml.losses import AsymmetricLoss, BinaryCrossentropy, FocalLoss
from skml.networks import TabM
from skml.networks._tabm_layers import TabMNetwork, build_tabm
from tests.test_export import LOADER

N_FEATURES, N_OUTPUTS, K = 6, 3, 4
# Tiny and fast: the tests check wiring, not capacity.
FAST_TABM = {
    "network": TabM(k=K, hidden_layer_sizes=(8,)),
    "epochs": 3,
    "batch_size": 32,
    "random_state": 0,
}


def _rows(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    y = (rng.random((n, N_OUTPUTS)) < 0.4).astype(np.float32)
    return X, y


def _np(x):
    return x.numpy() if isinstance(x, keras.Variable) else keras.ops.convert_to_numpy(x)


def _tiny(output_activation="sigmoid", **kwargs):
    options = {"k": K, "hidden_layer_sizes": (5,), "seed": 0, **kwargs}
    return build_tabm(N_FEATURES, N_OUTPUTS, output_activation=output_activation, **options)


# ------------------------------------------------------------------- the spec


@pytest.mark.parametrize(
    "spec, message",
    [
        (TabM(k=0), "'k' parameter of TabM"),
        (TabM(k=2.5), "'k' parameter of TabM"),
        (TabM(dropout=1.0), "'dropout' parameter of TabM"),
        (TabM(l2=-1.0), "'l2' parameter of TabM"),
        (TabM(scaling_init="zeros"), "'scaling_init' parameter of TabM"),
        (TabM(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes must be a tuple of positive"),
        (TabM(hidden_layer_sizes=()), "hidden_layer_sizes must hold at least one layer"),
        (TabM(activation="no-such"), "activation must be the name of a Keras activation"),
        (TabM(embedding="piecewise"), "'embedding' parameter of TabM"),
        (TabM(embedding_units=8), "embedding_units=8 applies to the periodic embeddings only"),
    ],
)
def test_check_names_the_bad_parameter(spec, message):
    with pytest.raises(ValueError, match=message):
        spec.check()


def test_bad_parameter_raises_at_fit():
    X, y = _rows()
    with pytest.raises(ValueError, match="'k' parameter of TabM"):
        KerasMultiLabelClassifier(network=TabM(k=0)).fit(X, y)


def test_spec_is_searchable():
    clf = KerasMultiLabelClassifier(network=TabM()).set_params(network__k=3)
    assert clf.get_params()["network__k"] == 3
    assert clf.network.get_params()["scaling_init"] == "random-signs"


@pytest.mark.slow
def test_spec_does_not_import_tensorflow():
    code = (
        "import sys; from skml.networks import TabM; TabM(k=3).set_params(dropout=0.1); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_spec_build_matches_the_builder():
    spec = TabM(k=K, hidden_layer_sizes=(5,), dropout=0.0, l2=0.0)
    built = spec.build((N_FEATURES,), N_OUTPUTS, output_activation="sigmoid", seed=3)
    plain = build_tabm(N_FEATURES, N_OUTPUTS, k=K, hidden_layer_sizes=(5,), seed=3)
    assert isinstance(built, TabMNetwork)
    for a, b in zip(built.weights, plain.weights):
        assert_allclose(_np(a), _np(b))


def test_embeddings_are_opt_in_and_shared_by_the_members(multilabel_data):
    from skml.networks._embeddings import PeriodicEmbedding

    plain = TabM(k=K, hidden_layer_sizes=(5,)).build(
        (N_FEATURES,), N_OUTPUTS, output_activation="sigmoid", seed=3
    )
    assert not any(isinstance(layer, PeriodicEmbedding) for layer in plain.layers)
    spec = TabM(k=K, hidden_layer_sizes=(5,), embedding="auto", embedding_units=4)
    built = spec.build((N_FEATURES,), N_OUTPUTS, output_activation="sigmoid", seed=3)
    embedding = built.get_layer("periodic_embedding")
    assert embedding.output.shape == (None, N_FEATURES * 4)  # one embedding for all members
    assert built.get_layer("dense_0").kernel.shape == (N_FEATURES * 4, 5)
    # Sparse rows: the same network as dense rows.
    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(**{**FAST_TABM, "network": spec})
    dense = clone(clf).fit(X, y)
    sparse = clone(clf).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-5)
    assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-5)


# ------------------------------------------------------------------- the network


@pytest.mark.parametrize("sizes", [(5,), (5, 4)])
def test_shapes_members_while_training_mean_at_inference(sizes):
    X, _ = _rows()
    model = _tiny(hidden_layer_sizes=sizes, dropout=0.0)
    members = _np(model(X, training=True))
    assert members.shape == (len(X), K, N_OUTPUTS)
    assert_allclose(_np(model.members(X)), members, rtol=1e-6)
    mean = _np(model(X, training=False))
    assert mean.shape == (len(X), N_OUTPUTS)
    assert_allclose(mean, members.mean(axis=1), rtol=1e-6)
    assert np.asarray(model.predict(X, verbose=0)).shape == (len(X), N_OUTPUTS)
    assert ((mean > 0) & (mean < 1)).all()
    # One MLP, plus per member a scaling vector and an output layer.
    one_mlp = build_tabm(N_FEATURES, N_OUTPUTS, k=1, hidden_layer_sizes=sizes).count_params()
    per_member = sizes[0] + sizes[-1] * N_OUTPUTS + N_OUTPUTS
    assert model.count_params() == one_mlp + (K - 1) * per_member


def test_softmax_members_and_mean_sum_to_one():
    X, _ = _rows()
    model = _tiny("softmax")
    assert_allclose(_np(model.members(X)).sum(axis=-1), 1.0, rtol=1e-5)
    assert_allclose(_np(model(X)).sum(axis=-1), 1.0, rtol=1e-5)


def test_members_start_different():
    X, _ = _rows()
    members = _np(_tiny().members(X))
    assert min(np.abs(members[:, 0] - members[:, j]).max() for j in range(1, K)) > 1e-3


@pytest.mark.parametrize("scaling_init", ["random-signs", "noisy-ones"])
def test_scaling_init(scaling_init):
    scale = _np(_tiny(scaling_init=scaling_init).get_layer("members").scale)
    assert scale.shape == (K, 5)
    if scaling_init == "random-signs":
        assert set(np.unique(scale)) == {-1.0, 1.0}
    else:
        assert np.abs(scale - 1).max() < 0.6 and np.abs(scale - 1).max() > 0


def test_same_seed_same_network_other_seed_other_network():
    X, _ = _rows()
    a, b, c = _tiny(seed=5), _tiny(seed=5), _tiny(seed=6)
    for u, v in zip(a.weights, b.weights):
        assert_allclose(_np(u), _np(v))
    assert np.abs(_np(a(X)) - _np(c(X))).max() > 1e-4


def test_sparse_input_equals_dense_input():
    X, _ = _rows()
    X[np.abs(X) < 0.8] = 0
    dense, sparse = _tiny(), _tiny(sparse=True)
    assert sparse.inputs[0].sparse
    rows = sp.coo_matrix(X)
    tensor = keras.ops.convert_to_tensor(X)
    import tensorflow as tf

    sparse_x = tf.SparseTensor(np.column_stack([rows.row, rows.col]), rows.data, X.shape)
    assert_allclose(_np(sparse(sparse_x)), _np(dense(tensor)), atol=1e-6)
    assert_allclose(
        _np(sparse(sparse_x, training=True)),
        _np(dense(tensor, training=True)),
        atol=1e-6,
    )


# ------------------------------------------------------------------- the loss


def _member_mean_loss(loss, y, members, sample_weight):
    return np.mean([float(loss(y, members[:, j], sample_weight)) for j in range(K)])


@pytest.mark.parametrize(
    "loss, output_activation",
    [
        (BinaryCrossentropy(pos_weight=[1.0, 3.0, 0.5]), "sigmoid"),
        (FocalLoss(gamma=2.0), "sigmoid"),
        (AsymmetricLoss(), "sigmoid"),
        (keras.losses.CategoricalCrossentropy(), "softmax"),
    ],
    ids=["bce-pos-weight", "focal", "asymmetric", "categorical"],
)
def test_training_loss_is_the_mean_of_the_members_losses(loss, output_activation):
    X, y = _rows()
    if output_activation == "softmax":
        y = np.eye(N_OUTPUTS, dtype=np.float32)[y.argmax(axis=1)]
    sample_weight = np.linspace(0.5, 2.0, len(X)).astype(np.float32)
    model = _tiny(output_activation, dropout=0.0, l2=0.01)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, run_eagerly=True)
    members = _np(model.members(X))
    penalty = float(sum(keras.ops.sum(p) for p in model.losses))
    assert penalty > 0
    expected = _member_mean_loss(loss, y, members, sample_weight) + penalty
    averaged = float(loss(y, members.mean(axis=1), sample_weight)) + penalty
    assert abs(expected - averaged) > 1e-3  # the two losses differ here: the test can tell

    y_pred = model(X, training=True)
    assert_allclose(float(model.compute_loss(X, y, y_pred, sample_weight)), expected, rtol=1e-5)
    # The whole train step (the fit's) reports the per-member loss ...
    logs = model.train_on_batch(X, y, sample_weight=sample_weight, return_dict=True)
    assert_allclose(logs["loss"], expected, rtol=1e-5)
    # ... and evaluation that of the ensemble's mean prediction.
    logs = model.evaluate(X, y, sample_weight=sample_weight, verbose=0, return_dict=True)
    assert_allclose(logs["loss"], averaged, rtol=1e-5)


def test_output_penalty_is_averaged_over_members():
    model = _tiny(dropout=0.0, l2=0.1)
    shared = float(np.sum(_np(model.get_layer("dense_0").kernel) ** 2))
    heads = float(np.sum(_np(model.get_layer("output").kernel) ** 2))
    penalty = float(sum(keras.ops.sum(p) for p in model.losses))
    assert_allclose(penalty, 0.1 * shared + 0.1 * heads / K, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("fast", [True, False], ids=["traced-loop", "model-fit"])
def test_validation_loss_is_the_mean_predictions(fast):
    from skml._training import fit_network

    X, y = _rows(60)
    model = _tiny(dropout=0.0)
    loss = BinaryCrossentropy()
    val_rows = np.arange(40, 60)
    history = fit_network(
        model,
        loss=loss,
        optimizer=keras.optimizers.Adam(0.01),
        X=X,
        y=y,
        sample_weight=np.ones(len(X), np.float32),
        train_rows=np.arange(40),
        val_rows=val_rows,
        epochs=1,
        batch_size=16,
        patience=5,
        seed=0,
        verbose=0,
        fast=fast,
    )
    mean = _np(model(X[val_rows], training=False))
    assert_allclose(history["val_loss"][-1], float(loss(y[val_rows], mean)), rtol=1e-5)
    members = _np(model.members(X[val_rows]))
    assert history["val_loss"][-1] < _member_mean_loss(loss, y[val_rows], members, None)


# ------------------------------------------------------------------- the estimator


@pytest.fixture(scope="module")
def tabm_fitted(multilabel_data):
    X, y = multilabel_data
    return KerasMultiLabelClassifier(**FAST_TABM).fit(X, y)


@pytest.mark.slow
def test_fit_predict_mean_of_members_which_differ(tabm_fitted, multilabel_data):
    X, y = multilabel_data
    clf = tabm_fitted
    proba = clf.predict_proba(X)
    assert proba.shape == y.shape
    members = _np(clf.model_.members(X.astype(np.float32)))
    assert members.shape == (len(X), K, y.shape[1])
    assert_allclose(proba, members.mean(axis=1), atol=1e-6)
    gaps = [np.abs(members[:, i] - members[:, j]).max() for i in range(K) for j in range(i)]
    assert min(gaps) > 1e-3
    assert clf.predict(X).shape == y.shape


@pytest.mark.slow
def test_same_random_state_same_probabilities(tabm_fitted, multilabel_data):
    X, y = multilabel_data
    again = clone(tabm_fitted).fit(X, y)
    assert_allclose(again.predict_proba(X), tabm_fitted.predict_proba(X), rtol=0, atol=0)
    other = clone(tabm_fitted).set_params(random_state=1).fit(X, y)
    assert np.abs(other.predict_proba(X) - tabm_fitted.predict_proba(X)).max() > 1e-4


@pytest.mark.slow
def test_csr_rows_give_the_dense_probabilities(tabm_fitted, multilabel_data):
    X, y = multilabel_data
    X_sparse = sp.csr_matrix(X)
    clf = clone(tabm_fitted).fit(X_sparse, y)
    assert clf.model_.inputs[0].sparse  # the network reads tf.SparseTensor batches
    assert_allclose(clf.predict_proba(X_sparse), tabm_fitted.predict_proba(X), atol=1e-5)
    assert_allclose(clf.predict_proba(X), tabm_fitted.predict_proba(X), atol=1e-5)


@pytest.mark.slow
def test_early_stopping_and_tuned_thresholds(multilabel_data):
    X, y = multilabel_data
    params = {**FAST_TABM, "epochs": 40, "patience": 2, "threshold": "f1"}
    clf = KerasMultiLabelClassifier(**params, final_epochs="early_stopping").fit(X, y)
    assert len(clf.history_["val_loss"]) == len(clf.history_["loss"]) <= 40
    assert clf.thresholds_.shape == (y.shape[1],)
    assert clf.predict(X).shape == y.shape
    # By default the final network trains on every row for the out-of-fold networks' mean
    # best epoch and the 2 after it: no validation loss; the same thresholds.
    every_row = KerasMultiLabelClassifier(**params).fit(X, y)
    assert list(every_row.history_) == ["loss"] and len(every_row.history_["loss"]) < 40
    assert_allclose(every_row.thresholds_, clf.thresholds_)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_binary_and_multiclass_targets(multilabel_data, target):
    X, y = multilabel_data
    y = y[:, 0] if target == "binary" else y.argmax(axis=1)
    clf = KerasMultiLabelClassifier(**FAST_TABM).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(np.unique(y)))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= set(np.unique(y))


@pytest.mark.slow
def test_grid_search_over_k(multilabel_data):
    X, y = multilabel_data
    search = GridSearchCV(
        KerasMultiLabelClassifier(**FAST_TABM), {"network__k": [1, 2]}, cv=2, refit=False
    ).fit(X, y)
    assert [p["network__k"] for p in search.cv_results_["params"]] == [1, 2]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


LOAD = """
    import sys
    assert not any(m == "skml" or m.startswith("skml.") for m in sys.modules)
    import pickle, joblib, numpy as np, scipy.sparse as sp
    folder = sys.argv[1]
    expected = np.load(f"{folder}/expected.npz")
    for name in ("dense", "sparse"):
        for how in ("pkl", "joblib"):
            path = f"{folder}/{name}.{how}"
            if how == "pkl":
                with open(path, "rb") as file:
                    clf = pickle.load(file)
            else:
                clf = joblib.load(path)
            X = expected["X"]
            X = sp.csr_matrix(X) if name == "sparse" else X
            np.testing.assert_allclose(clf.predict_proba(X), expected[name], atol=1e-6)
            members = np.asarray(clf.model_.members(expected["X"]))
            assert members.shape[1] == int(expected["k"]), members.shape
            print("loaded", name, how)
"""


@pytest.mark.slow
def test_pickle_and_joblib_load_in_a_fresh_process(tabm_fitted, multilabel_data, tmp_path):
    # scikeras, once imported, patches keras.Model.__reduce__ and re-registers TabMNetwork
    # under an empty package: skml must pickle through Keras' own __reduce__ regardless.
    import keras
    import scikeras  # noqa: F401

    pickle.dumps(tabm_fitted.model_)  # the patched __reduce__ runs (and re-registers)
    assert keras.saving.get_registered_name(type(tabm_fitted.model_)) == ">TabMNetwork"
    X, y = multilabel_data
    X = X.astype(np.float32)
    sparse = clone(tabm_fitted).fit(sp.csr_matrix(X), y)
    for name, clf in {"dense": tabm_fitted, "sparse": sparse}.items():
        with open(tmp_path / f"{name}.pkl", "wb") as file:
            pickle.dump(clf, file)
        joblib.dump(clf, tmp_path / f"{name}.joblib")
    np.savez(
        tmp_path / "expected.npz",
        X=X,
        dense=tabm_fitted.predict_proba(X),
        sparse=sparse.predict_proba(sp.csr_matrix(X)),
        k=K,
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LOAD), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("loaded") == 4


@pytest.mark.slow
def test_export_computes_the_mean_without_skml(tabm_fitted, multilabel_data, tmp_path):
    X, y = multilabel_data
    cases = {"multilabel": (tabm_fitted, X)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cases["multiclass"] = (clone(tabm_fitted).fit(X, y.argmax(axis=1)), X)
        X_sparse = sp.csr_matrix(np.where(X > 2, X, 0))
        cases["sparse"] = (clone(tabm_fitted).fit(X_sparse, y), X_sparse)
    args = []
    for case, (clf, X_case) in cases.items():
        path = clf.export(tmp_path / case)
        dense = X_case.toarray() if sp.issparse(X_case) else X_case
        np.save(tmp_path / f"{case}.npy", dense)
        args += [str(path), str(tmp_path / f"{case}.npy"), str(tmp_path / f"{case}.npz")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(LOADER), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for case, (clf, X_case) in cases.items():
        loaded = np.load(tmp_path / f"{case}.npz")
        assert loaded["input_shape"].tolist() == [-1, X.shape[1]]
        assert_allclose(loaded["proba"], clf.predict_proba(X_case), atol=1e-5)

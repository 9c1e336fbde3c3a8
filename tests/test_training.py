"""skml._training: the fast training and inference paths give what plain Keras gives.

No timings here (those live in ``benchmarks/speed.py``): the fast path is checked against
``Model.fit`` on the same permutations, against hand-computed losses, and for reuse of its
traced functions across fits.
"""

import importlib.util
import os
import pickle
import random
import subprocess
import sys
import threading

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

from skml import KerasMultiLabelClassifier, _training
from skml._training import cache, infer
from skml.losses import get_loss
from skml.networks import MLP, build_mlp

tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the fast path is TensorFlow's"
)
N_FEATURES, N_LABELS = 6, 3
SLOW = pytest.mark.slow
TRAIN_ROWS, VAL_ROWS = np.arange(100), np.arange(100, 130)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(130, N_FEATURES)).astype(np.float32)
    logits = X[:, :N_LABELS] + 0.5 * rng.normal(size=(130, N_LABELS))
    y = (logits > 0.3).astype(np.float32)
    w = rng.uniform(0.2, 2.0, size=130).astype(np.float32)
    return X, y, w


def _train(
    data,
    *,
    fast,
    seed=7,
    epochs=6,
    batch_size=16,
    validation=True,
    weights=True,
    dropout=0.25,
    batch_normalization=True,
    l2=1e-3,
    learning_rate=0.01,
    patience=2,
    optimizer=None,
    average_epochs=1,
):
    """Train a fresh network; return (network, history). 100 training rows: a partial batch."""
    X, y, w = data
    if not weights:
        w = np.ones_like(w)
    network = build_mlp(
        N_FEATURES,
        N_LABELS,
        hidden_layer_sizes=(12,),
        dropout=dropout,
        batch_normalization=batch_normalization,
        l2=l2,
        seed=3,
    )
    history = _training.fit_network(
        network,
        loss=get_loss("binary_crossentropy"),
        optimizer=optimizer() if optimizer else keras.optimizers.Adam(learning_rate),
        X=X,
        y=y,
        sample_weight=w,
        train_rows=TRAIN_ROWS,
        val_rows=VAL_ROWS if validation else None,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        verbose=0,
        fast=fast,
        average_epochs=average_epochs,
    )
    return network, history


def _proba(network, X):
    return keras.ops.convert_to_numpy(network(X, training=False))


# ------------------------------------------------------------------ fast path == Model.fit


@tensorflow_only
@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="dropout-bn-l2-weights-val"),
        pytest.param({"validation": False}, id="no-validation", marks=SLOW),
        pytest.param(
            {"weights": False, "dropout": 0.0, "batch_normalization": False, "l2": 0.0},
            id="plain",
            marks=SLOW,
        ),
        pytest.param({"batch_size": 100}, id="one-batch", marks=SLOW),  # one batch per epoch
        pytest.param({"batch_size": 1000}, id="big-batch", marks=SLOW),  # batch > the data
    ],
)
def test_fast_path_equals_keras_fit(data, options):
    fast_net, fast_hist = _train(data, fast=True, **options)
    keras_net, keras_hist = _train(data, fast=False, **options)
    assert fast_hist.keys() == keras_hist.keys()
    for key in fast_hist:
        assert_allclose(fast_hist[key], keras_hist[key], rtol=1e-5, atol=1e-6)
    assert_allclose(_proba(fast_net, data[0]), _proba(keras_net, data[0]), atol=1e-5)


@tensorflow_only
@pytest.mark.parametrize(
    "optimizer",
    [
        pytest.param(
            lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
            id="sgd-nesterov",
            marks=SLOW,
        ),
        pytest.param(lambda: keras.optimizers.RMSprop(0.01), id="rmsprop", marks=SLOW),
        pytest.param(
            lambda: keras.optimizers.AdamW(0.01, weight_decay=0.05), id="adamw", marks=SLOW
        ),
        pytest.param(
            lambda: keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9),
            id="adam-ema",
            marks=SLOW,
        ),
    ],
)
def test_fast_path_equals_keras_fit_for_other_optimizers(data, optimizer):
    fast_net, fast_hist = _train(data, fast=True, optimizer=optimizer, validation=False)
    keras_net, keras_hist = _train(data, fast=False, optimizer=optimizer, validation=False)
    assert_allclose(fast_hist["loss"], keras_hist["loss"], rtol=1e-5, atol=1e-6)
    assert_allclose(_proba(fast_net, data[0]), _proba(keras_net, data[0]), atol=1e-5)
    assert_allclose(
        [v.numpy() for v in fast_net.optimizer.variables[:1]],
        [v.numpy() for v in keras_net.optimizer.variables[:1]],
    )  # the iteration count


@pytest.mark.slow
@tensorflow_only
def test_early_stopping_equals_keras_fit(data):
    # A high learning rate on few rows overfits fast: the validation loss turns up early.
    options = dict(epochs=40, patience=1, learning_rate=0.2, dropout=0.0)
    fast_net, fast_hist = _train(data, fast=True, **options)
    keras_net, keras_hist = _train(data, fast=False, **options)
    n_epochs = len(fast_hist["loss"])
    assert n_epochs < 40
    assert len(keras_hist["loss"]) == n_epochs
    assert_allclose(fast_hist["val_loss"], keras_hist["val_loss"], rtol=1e-5, atol=1e-6)
    # The best weights are restored: the network scores the best validation loss.
    X, y, w = data
    keras_loss = fast_net.compute_loss(
        y=y[100:], y_pred=fast_net(X[100:], training=False), sample_weight=w[100:]
    )
    assert_allclose(float(keras_loss), min(fast_hist["val_loss"]), rtol=1e-5)
    assert_allclose(_proba(fast_net, X), _proba(keras_net, X), atol=1e-5)


@pytest.mark.slow
@tensorflow_only
@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "model-fit"])
def test_early_stopping_restores_the_mean_of_the_best_epoch_and_the_next(data, fast):
    # The training of the epochs is the same with and without validation rows (the same
    # training rows and shuffles), so the networks of 1, 2, ... epochs without them give each
    # epoch's weights, and their mean is what early stopping must restore.
    options = dict(epochs=40, patience=4, learning_rate=0.2, dropout=0.0)
    averaged, history = _train(data, fast=fast, average_epochs=3, **options)
    n_epochs = len(history["loss"])
    best = int(np.argmin(history["val_loss"]))
    assert n_epochs < 40 and best + 3 <= n_epochs  # stopped early, three epochs to average
    epochs = [
        _train(data, fast=True, validation=False, **{**options, "epochs": best + 1 + i})[0]
        for i in range(3)
    ]
    expected = [np.mean(ws, axis=0) for ws in zip(*(net.get_weights() for net in epochs))]
    for got, want in zip(averaged.get_weights(), expected):
        assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # Not the best epoch's weights alone (what average_epochs=1 restores).
    alone, _ = _train(data, fast=fast, **options)
    assert_allclose(alone.get_weights()[0], epochs[0].get_weights()[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged.get_weights()[0], alone.get_weights()[0], atol=1e-4)


@tensorflow_only
@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "model-fit"])
def test_without_validation_the_last_epochs_are_averaged(data, fast):
    # No validation rows: average_epochs=3 keeps the mean of the last 3 epochs' weights, which
    # networks trained for 4, 5 and 6 epochs give one by one.
    options = dict(validation=False, learning_rate=0.2, dropout=0.0)
    averaged, history = _train(data, fast=fast, epochs=6, average_epochs=3, **options)
    assert len(history["loss"]) == 6 and "val_loss" not in history
    epochs = [_train(data, fast=True, epochs=n, **options)[0] for n in (4, 5, 6)]
    expected = [np.mean(ws, axis=0) for ws in zip(*(net.get_weights() for net in epochs))]
    for got, want in zip(averaged.get_weights(), expected):
        assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged.get_weights()[0], epochs[-1].get_weights()[0], atol=1e-4)


def test_same_seed_same_network_other_seed_other_network(data):
    first, first_hist = _train(data, fast=True)
    again, again_hist = _train(data, fast=True)
    other, _ = _train(data, fast=True, seed=8)
    assert_allclose(_proba(first, data[0]), _proba(again, data[0]), atol=1e-6)
    assert first_hist == again_hist
    assert not np.allclose(_proba(first, data[0]), _proba(other, data[0]), atol=1e-4)


def test_loss_decreases(data):
    _, history = _train(data, fast=True, epochs=15, validation=False, dropout=0.0)
    assert history["loss"][-1] < 0.8 * history["loss"][0]


def test_training_leaves_global_random_state_alone(data):
    random.seed(1)
    np.random.seed(1)  # noqa: NPY002 (the legacy global state is what is checked)
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    _training.clear_cache()  # also covers the creation of a cached template
    _train(data, fast=True, epochs=2)
    assert random.getstate() == py_state
    assert_allclose(np.random.get_state()[1], np_state[1])  # noqa: NPY002


# ------------------------------------------------------------------ losses by hand


def _bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)


@pytest.mark.parametrize("fast", [True, pytest.param(False, marks=SLOW)])
def test_first_step_loss_is_weighted_mean_plus_l2(data, fast):
    """One batch holds every row: the first epoch's loss is the loss of the initial weights,
    sum(w * l) / n_samples (Keras' "sum_over_batch_size") plus the L2 penalty."""
    X, y, w = data
    l2 = 0.05
    network = build_mlp(N_FEATURES, N_LABELS, hidden_layer_sizes=(12,), l2=l2, seed=3)
    initial = _proba(network, X[:100])
    kernels = [layer.kernel.numpy() for layer in network.layers if hasattr(layer, "kernel")]
    history = _training.fit_network(
        network,
        loss=get_loss("binary_crossentropy"),
        optimizer=keras.optimizers.Adam(0.01),
        X=X,
        y=y,
        sample_weight=w,
        train_rows=TRAIN_ROWS,
        val_rows=None,
        epochs=2,
        batch_size=128,
        patience=0,
        seed=0,
        verbose=0,
        fast=fast,
    )
    expected = np.sum(w[:100] * _bce(y[:100], initial)) / 100
    penalty = sum(l2 * np.sum(k.astype(np.float64) ** 2) for k in kernels)
    assert penalty > 0.01 * expected  # the check below would notice a missing penalty
    assert_allclose(history["loss"][0], expected + penalty, rtol=1e-5)


def test_sample_weights_of_ones_equal_no_weights(data):
    X, y, _ = data
    params = dict(network=MLP(hidden_layer_sizes=(8,)), epochs=3, batch_size=16, random_state=0)
    plain = KerasMultiLabelClassifier(**params).fit(X, y)
    ones = KerasMultiLabelClassifier(**params).fit(X, y, sample_weight=np.ones(len(X)))
    assert_allclose(plain.predict_proba(X), ones.predict_proba(X), atol=1e-7)
    assert plain.history_ == ones.history_


def test_sample_weights_change_the_fit(data):
    X, y, w = data
    params = dict(network=MLP(hidden_layer_sizes=(8,)), epochs=3, batch_size=16, random_state=0)
    plain = KerasMultiLabelClassifier(**params).fit(X, y)
    weighted = KerasMultiLabelClassifier(**params).fit(X, y, sample_weight=w)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X), atol=1e-4)


# ------------------------------------------------------------------ traces are reused


@pytest.mark.slow
@tensorflow_only
def test_second_fit_of_a_configuration_reuses_the_trace(data):
    X, y, _ = data
    _training.clear_cache()
    params = dict(network=MLP(hidden_layer_sizes=(8,), dropout=0.1), epochs=2, batch_size=16)
    first = KerasMultiLabelClassifier(**params, random_state=0).fit(X, y)
    first.predict_proba(X)
    traced = _training.cache_info()
    assert traced["train_traces"] >= 1 and traced["train_entries"] == 1
    # New weights (another random_state), same graph: nothing is traced again.
    second = KerasMultiLabelClassifier(**params, random_state=1).fit(X, y)
    second.predict_proba(X)
    again = _training.cache_info()
    assert again["train_traces"] == traced["train_traces"]
    assert again["predict_traces"] == traced["predict_traces"]
    assert not np.allclose(first.predict_proba(X), second.predict_proba(X))
    # Another graph (the learning rate is an input, the batch size is not): a new entry.
    KerasMultiLabelClassifier(**params, random_state=0, learning_rate_init=0.1).fit(X, y)
    assert _training.cache_info()["train_traces"] == traced["train_traces"]
    KerasMultiLabelClassifier(**{**params, "batch_size": 8}, random_state=0).fit(X, y)
    assert _training.cache_info()["train_entries"] == 2


@pytest.mark.slow
@tensorflow_only
def test_cached_fit_equals_fresh_fit(data):
    """A fit through a template that trained other networks before equals a first fit."""
    _training.clear_cache()
    fresh, fresh_hist = _train(data, fast=True, seed=5)
    _train(data, fast=True, seed=6)  # the template now holds another network's state
    cached, cached_hist = _train(data, fast=True, seed=5)
    assert _training.cache_info()["train_entries"] == 1
    assert fresh_hist == cached_hist
    assert_allclose(_proba(fresh, data[0]), _proba(cached, data[0]), atol=1e-7)
    # The optimizer state comes back too, as after Model.fit.
    assert int(cached.optimizer.iterations) == len(cached_hist["loss"]) * 7


@pytest.mark.slow
@tensorflow_only
def test_concurrent_fits_of_one_configuration(data):
    expected = [_proba(_train(data, fast=True, seed=s)[0], data[0]) for s in (1, 2, 3)]
    results = {}

    def work(seed):
        results[seed] = _proba(_train(data, fast=True, seed=seed)[0], data[0])

    threads = [threading.Thread(target=work, args=(s,)) for s in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed, proba in zip((1, 2, 3), expected):
        assert_allclose(results[seed], proba, atol=1e-7)


def test_model_keys_ignore_seeds_and_names_but_not_architecture():
    def key(**kw):
        return cache.model_key(build_mlp(5, 2, **{"hidden_layer_sizes": (4,), **kw}))

    assert key(seed=1, dropout=0.1) == key(seed=2, dropout=0.1)
    assert key(seed=1) != key(seed=1, hidden_layer_sizes=(5,))
    assert key(dropout=0.1) != key(dropout=0.2)
    assert key(l2=0.1) != key(l2=0.2)
    assert cache.optimizer_key(keras.optimizers.Adam(0.1)) == cache.optimizer_key(
        keras.optimizers.Adam(0.2)
    )
    assert cache.optimizer_key(keras.optimizers.Adam(beta_1=0.8)) != (
        cache.optimizer_key(keras.optimizers.Adam())
    )
    assert cache.loss_key(get_loss("bce")) == cache.loss_key(get_loss("bce"))
    assert cache.loss_key(get_loss("bce", [1.0, 2.0])) != cache.loss_key(get_loss("bce"))


def _user_build(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(meta["n_outputs_expected_"], activation="sigmoid"),
        ]
    )


@tensorflow_only
def test_user_build_function_shares_the_trace(data):
    """Each build names its layers anew ("dense_3", then "dense_7"): still one graph."""
    X, y, _ = data
    _training.clear_cache()
    KerasMultiLabelClassifier(network=_user_build, epochs=2, random_state=0).fit(X, y)
    traced = _training.cache_info()
    KerasMultiLabelClassifier(network=_user_build, epochs=2, random_state=1).fit(X, y)
    assert _training.cache_info() == traced


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(N_LABELS, activation="sigmoid")

    def call(self, x):
        return self.dense(x)


@tensorflow_only
def test_subclassed_model_trains_uncached(data):
    X, y, w = data
    network = _Subclassed()
    network(X[:1])
    assert cache.model_key(network) is None
    before = _training.cache_info()["train_entries"]
    history = _training.fit_network(
        network,
        loss=get_loss("bce"),
        optimizer=keras.optimizers.Adam(0.05),
        X=X,
        y=y,
        sample_weight=w,
        train_rows=np.arange(len(X)),
        val_rows=None,
        epochs=5,
        batch_size=16,
        patience=0,
        seed=0,
        verbose=0,
    )
    assert history["loss"][-1] < history["loss"][0]
    assert _training.cache_info()["train_entries"] == before


# ------------------------------------------------------------------ progress


@pytest.mark.slow
@pytest.mark.parametrize("fast", [True, False])
def test_verbose_two_prints_one_line_per_epoch(data, capsys, fast):
    _train(data, fast=fast, epochs=2)
    assert capsys.readouterr().out == ""
    X, y, w = data
    network = build_mlp(N_FEATURES, N_LABELS, hidden_layer_sizes=(4,), seed=0)
    _training.fit_network(
        network,
        loss=get_loss("bce"),
        optimizer=keras.optimizers.Adam(),
        X=X,
        y=y,
        sample_weight=w,
        train_rows=TRAIN_ROWS,
        val_rows=VAL_ROWS,
        epochs=2,
        batch_size=16,
        patience=5,
        seed=0,
        verbose=2,
        fast=fast,
    )
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert out.count("val_loss:") == 2


def test_verbose_one_prints_one_bar_over_epochs(data, capsys):
    X, y, _ = data
    KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(4,)), epochs=3, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "3/3" in out and "Epoch 1/" not in out


# ------------------------------------------------------------------ inference


@tensorflow_only
def test_predictor_equals_model_predict(data, monkeypatch):
    network, _ = _train(data, fast=True, epochs=2)
    X = data[0]
    expected = network.predict(X, verbose=0)
    predictor = _training.Predictor(network)
    monkeypatch.setattr(infer, "_PREDICT_CHUNK", 7)  # several chunks
    for _ in range(predictor._OWN_TRACE_AFTER + 1):  # shared trace, then its own
        proba = predictor(X)
        assert proba.dtype == np.float64
        assert_allclose(proba, expected, atol=1e-6)
        assert_allclose(predictor(X[:1]), expected[:1], atol=1e-6)
    assert predictor._own


@tensorflow_only
def test_predict_after_pickle_is_unchanged_and_compiled(data):
    X, y, _ = data
    clf = KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(8,)), epochs=2, random_state=0)
    clf.fit(X, y)
    before = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    assert isinstance(restored._predictor, _training.Predictor)
    assert_allclose(restored.predict_proba(X), before, atol=1e-6)
    assert restored._predictor._fn is not None  # a traced function, not model(x) eagerly
    for _ in range(3):
        assert_allclose(restored.predict_proba(X[:1]), before[:1], atol=1e-6)
    assert restored._predictor._own


# ------------------------------------------------------------------ other backends


_JAX_SCRIPT = """
import numpy as np
from sklearn.datasets import make_multilabel_classification
from skml import KerasMultiLabelClassifier
from skml.networks import MLP
import keras
assert keras.backend.backend() == "jax", keras.backend.backend()
X, y = make_multilabel_classification(n_samples=80, n_features=6, n_classes=3, random_state=0)
params = dict(network=MLP(hidden_layer_sizes=(8,)), epochs=3, random_state=0)
a = KerasMultiLabelClassifier(**params).fit(X, y)
b = KerasMultiLabelClassifier(**params).fit(X, y)
p = a.predict_proba(X)
assert p.shape == y.shape and np.all((p > 0) & (p < 1)), p
np.testing.assert_allclose(p, b.predict_proba(X), atol=1e-6)
assert len(a.history_["loss"]) == len(a.history_["val_loss"]) == 3
print("ok")
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_backend_fits_and_predicts():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", _JAX_SCRIPT], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")

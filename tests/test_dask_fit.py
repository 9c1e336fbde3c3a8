"""fit and predict on Dask arrays and DataFrames: block-wise training, lazy predictions.

Most tests use Dask's local threaded scheduler; two use a real ``LocalCluster`` (two worker
processes on loopback) whose workers generate the blocks and run the predictions. Every Dask fit
traces its own training epoch (about a second whatever the data size), so only the shared fit and
the refused inputs run in the fast loop.
"""

import pickle
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from skml import KerasMultiLabelClassifier
from tests.conftest import FAST

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

DASK_FAST = {**FAST, "epochs": 2}
N_FEATURES, N_LABELS = 10, 4
WORKER_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
START_TIMEOUT = 120
RUN_TIMEOUT = 300


def _weights():
    return np.random.default_rng(1).normal(size=(N_FEATURES, N_LABELS)).astype(np.float32)


def _lazy_data(n_samples=1200, block=200, seed=0):
    """Features drawn block by block wherever the graph runs; labels a function of them."""
    X = da.random.RandomState(seed).normal(size=(n_samples, N_FEATURES), chunks=(block, -1))
    X = X.astype(np.float32)
    y = (X @ _weights() > 0.3).astype(np.int8)
    return X, y


def _with_timeout(function, timeout=RUN_TIMEOUT):
    """``function()`` in a daemon thread; fail instead of hanging past ``timeout``."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"{function} did not finish within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture(scope="module")
def lazy_fitted():
    X, y = _lazy_data()
    clf = KerasMultiLabelClassifier(**DASK_FAST).fit(X, y)
    return clf, X, y


def test_fit_streams_blocks_and_predicts_lazily(lazy_fitted):
    clf, X, y = lazy_fitted
    assert clf.n_features_in_ == N_FEATURES and clf.n_labels_ == N_LABELS
    assert clf.n_iter_ == 2 and set(clf.history_) == {"loss", "val_loss"}
    proba = clf.predict_proba(X)
    assert isinstance(proba, da.Array) and proba.chunks == (X.chunks[0], (N_LABELS,))
    X_mem, y_mem = dask.compute(X, y)
    assert_allclose(proba.compute(), clf.predict_proba(X_mem), atol=1e-6)
    predicted = clf.predict(X)
    assert isinstance(predicted, da.Array)
    assert_allclose(predicted.compute(), clf.predict(X_mem))
    # Something was learned from the blocks: better than predicting the majority per label.
    majority = np.maximum(y_mem.mean(axis=0), 1 - y_mem.mean(axis=0)).mean()
    assert (clf.predict(X_mem) == y_mem).mean() > majority


@pytest.mark.slow
def test_same_random_state_same_network(lazy_fitted):
    a, X, y = lazy_fitted
    X_mem = X.compute()
    b = KerasMultiLabelClassifier(**DASK_FAST).fit(X, y)
    assert_allclose(a.predict_proba(X_mem), b.predict_proba(X_mem), atol=1e-6)
    other = KerasMultiLabelClassifier(**{**DASK_FAST, "random_state": 1}).fit(X, y)
    assert np.abs(other.predict_proba(X_mem) - a.predict_proba(X_mem)).max() > 1e-4


@pytest.mark.slow
def test_each_epoch_computes_each_block_once():
    """Blocks are computed on demand, one pass per epoch, never all kept in memory."""
    calls = []

    def block(x, block_info=None):
        calls.append(block_info[None]["chunk-location"][0])
        return x

    X, y = _lazy_data(n_samples=600, block=100)
    X = X.map_blocks(block, dtype=np.float32)
    clf = KerasMultiLabelClassifier(**{**DASK_FAST, "epochs": 3, "early_stopping": False})
    clf.fit(X, y)  # y's own graph does not go through ``block``
    assert sorted(calls) == sorted(list(range(6)) * 3)
    # The epochs visit the blocks in different seeded orders.
    epochs = [calls[i * 6 : (i + 1) * 6] for i in range(3)]
    assert len({tuple(e) for e in epochs}) > 1


@pytest.mark.slow
def test_dataframes_name_features_and_labels():
    dd = pytest.importorskip("dask.dataframe")
    X, y = dask.compute(*_lazy_data(n_samples=600))
    frame_X = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    frame_y = pd.DataFrame(y, columns=list("abcd"))
    ddf_X = dd.from_pandas(frame_X, npartitions=3)
    ddf_y = dd.from_pandas(frame_y, npartitions=3)
    clf = KerasMultiLabelClassifier(**DASK_FAST).fit(ddf_X, ddf_y)
    assert list(clf.classes_) == list("abcd")
    assert list(clf.feature_names_in_) == list(frame_X.columns)
    proba = clf.predict_proba(ddf_X)
    assert_allclose(proba.compute(), clf.predict_proba(frame_X), atol=1e-6)
    with pytest.raises(ValueError, match="fitted on"):
        clf.predict_proba(ddf_X[list(reversed(frame_X.columns))])


@pytest.mark.slow
def test_in_memory_y_and_weights_and_tuned_thresholds():
    X, y = _lazy_data(n_samples=800)
    y_mem = y.compute()
    clf = KerasMultiLabelClassifier(**DASK_FAST, threshold="f1")
    clf.fit(X, y_mem, sample_weight=np.ones(800))
    assert clf.thresholds_.shape == (N_LABELS,)
    assert not np.allclose(clf.thresholds_, 0.5)
    with pytest.raises(ValueError, match="X has 800 rows but y has 799"):
        clf.fit(X, y_mem[:-1])


def test_default_network_of_f1_on_dask_is_one_mlp():
    # In memory, network=None is Ensemble() under threshold="f1"; streamed blocks would
    # train its members together on one early stopping (the design the suite rejected), so
    # a Dask fit keeps one MLP, and a warm start continues it.
    from skml.networks import MLP
    from skml.networks._tabm_layers import TabMNetwork

    X, y = _lazy_data(n_samples=400)
    clf = KerasMultiLabelClassifier(epochs=2, random_state=0, threshold="f1", warm_start=True)
    clf.fit(X, y)
    assert type(clf._spec) is MLP and not isinstance(clf.model_, TabMNetwork)
    assert clf.thresholds_.shape == (N_LABELS,)
    single = clf.model_
    clf.fit(X.compute(), y.compute())  # continued in memory: the same single network
    assert clf.model_ is single and type(clf._spec) is MLP


def test_weighted_loss_tunes_toward_its_own_safe_value(monkeypatch):
    """A Dask fit's tuned rules shrink toward w / (1 + w), as an in-memory fit's do, with the
    estimator's pseudo-count."""
    from skml import thresholds

    tune, calls = thresholds.tune_thresholds, []

    def record(*args, **kwargs):
        calls.append(kwargs)
        return tune(*args, **kwargs)

    monkeypatch.setattr(thresholds, "tune_thresholds", record)
    X, y = _lazy_data(n_samples=400)
    weights = [1.0, 3.0, 1.0, 1.0]
    params = dict(DASK_FAST, threshold="f1", class_weight=weights, threshold_shrinkage=2.0)
    KerasMultiLabelClassifier(**params).fit(X, y)
    assert_allclose(calls[-1]["default"], [0.5, 0.75, 0.5, 0.5])
    assert calls[-1]["shrinkage"] == 2.0


@pytest.mark.slow
def test_single_block_warns_and_trains_without_validation():
    X, y = _lazy_data(n_samples=200, block=200)
    with pytest.warns(UserWarning, match="single row block"):
        clf = KerasMultiLabelClassifier(**DASK_FAST).fit(X, y)
    assert set(clf.history_) == {"loss"}


@pytest.mark.slow
def test_early_stopping_restores_the_mean_of_the_best_epoch_and_the_next():
    X, y = _lazy_data(n_samples=600, block=100)
    params = {**FAST, "epochs": 30, "patience": 1, "learning_rate_init": 0.1}
    clf = KerasMultiLabelClassifier(**params).fit(X, y)  # average_epochs: min(5, 1 + 1)
    best = KerasMultiLabelClassifier(**params, average_epochs=1).fit(X, y)
    val = clf.history_["val_loss"]
    assert len(val) < 30  # stopped
    assert int(np.argmin(val)) == len(val) - 2  # the best epoch, then one more
    # The same training; the restored weights differ: the mean of the best epoch's and the
    # next one's (tested exactly for fit in test_training).
    assert clf.history_ == best.history_
    X_mem = X.compute()
    averaged, alone = clf.predict_proba(X_mem), best.predict_proba(X_mem)
    assert averaged.shape == (600, N_LABELS)
    assert not np.allclose(averaged, alone, atol=1e-4)


@pytest.mark.slow
def test_warm_start_continues_on_dask_data(lazy_fitted):
    clf, X, y = lazy_fitted
    clf = pickle.loads(pickle.dumps(clf)).set_params(warm_start=True, early_stopping=False)
    last = clf.history_["loss"][-1]
    network = clf.model_
    clf.fit(X, y)
    assert clf.model_ is network and clf.n_iter_ == 4
    assert clf.history_["loss"][0] < last + 0.05


def test_refused_inputs():
    X, y = _lazy_data(n_samples=400)
    sparse_X = X.map_blocks(sp.csr_matrix, meta=sp.csr_matrix((0, 0), dtype=np.float32))
    with pytest.raises(TypeError, match="sparse blocks"):
        KerasMultiLabelClassifier(**DASK_FAST).fit(sparse_X, y)
    with pytest.raises(ValueError, match="class_weight='balanced'"):
        KerasMultiLabelClassifier(**DASK_FAST, class_weight="balanced").fit(X, y)
    with pytest.raises(ValueError, match="threshold_cv"):
        KerasMultiLabelClassifier(**DASK_FAST, threshold="f1", threshold_cv=3).fit(X, y)
    y_unknown = y.compute()
    y_unknown = da.from_array(y_unknown, chunks=(150, -1))
    y_unknown._chunks = ((np.nan,) * y_unknown.numblocks[0], y_unknown.chunks[1])
    with pytest.raises(ValueError, match="row blocks of X"):
        KerasMultiLabelClassifier(**DASK_FAST).fit(X, y_unknown)


@pytest.mark.slow
def test_binary_target_from_dask():
    X, y = _lazy_data(n_samples=600)
    clf = KerasMultiLabelClassifier(**DASK_FAST).fit(X, y[:, 0])
    assert list(clf.classes_) == [0, 1]
    assert clf.predict(X).compute().shape == (600,)
    assert clf.predict_proba(X).compute().shape == (600, 2)


# ------------------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env=WORKER_ENV,
        ) as cluster,
        distributed.Client(cluster, timeout=START_TIMEOUT) as client,
    ):
        client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield client


@pytest.mark.slow
def test_fit_and_predict_on_a_local_cluster(client):
    X, y = _lazy_data(n_samples=1200, block=200)

    def run():
        clf = KerasMultiLabelClassifier(**DASK_FAST).fit(X, y)  # blocks drawn on the workers
        proba = clf.predict_proba(X)  # the model runs on the workers
        return clf, proba.compute(), clf.predict(X).compute()

    clf, proba, predicted = _with_timeout(run)
    # Each worker got the estimator by pickle and computed its blocks' probabilities.
    processed = client.run(lambda: True)
    assert len(processed) == 2
    with dask.config.set(scheduler="threads"):
        X_mem = X.compute()
        local = KerasMultiLabelClassifier(**DASK_FAST).fit(X, y)
    assert_allclose(proba, clf.predict_proba(X_mem), atol=1e-5)
    assert_allclose(predicted, clf.predict(X_mem))
    # Same random_state, same blocks, same order: the cluster trains the same network.
    assert_allclose(local.predict_proba(X_mem), proba, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clf.score(X_mem, y.compute()) >= 0


@pytest.mark.slow
def test_out_of_core_benchmark_smoke(tmp_path):
    import json

    from benchmarks import out_of_core

    argv = ["--rows", "20000", "--features", "20", "--block-rows", "4000"]
    argv += ["--memory-rows", "4000", "--out", str(tmp_path)]
    assert out_of_core.main(argv) == 0
    result = json.loads((tmp_path / "out_of_core.json").read_text())
    assert result["blocks"] == 5 and result["data_mib"] > 1.5
    assert result["dask_rows_per_second"] > 0 and result["dask_fit_peak_rss_mib"] > 0
    assert result["auc_dask"] > 0.7  # the labels are learnable from the streamed blocks
    assert "Dask array, streamed" in (tmp_path / "out_of_core.md").read_text()

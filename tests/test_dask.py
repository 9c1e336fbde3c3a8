"""Searches on a dask.distributed cluster through joblib's dask backend.

A real ``LocalCluster`` (two single-threaded worker processes on loopback) runs GridSearchCV and
RandomizedSearchCV; their ``cv_results_`` must match the same search run with ``n_jobs=1``.
``skml.parallel.dask_backend`` must report the death of workers mid-search as
``WorkerLostError`` and let every other error through unchanged.
"""

import os
import sys
import threading
import time

import joblib
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import make_multilabel_classification
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from skml import KerasMultiLabelClassifier
from skml.metrics import SCORING
from skml.model_selection import MultilabelStratifiedKFold
from skml.parallel import WorkerLostError, dask_backend
from tests.conftest import FAST

distributed = pytest.importorskip("distributed")

# Every test on a cluster is slow: starting two worker processes and importing TensorFlow in
# each takes most of a minute on a loaded two-core machine.
# One TensorFlow thread per single-threaded worker, so that n workers use n cores. The workers
# inherit these before TensorFlow is imported: TensorFlow reads them when it creates its thread
# pools and ignores them afterwards.
WORKER_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
N_WORKERS = 2
# Generous limits, so that a broken cluster fails the test instead of hanging it.
START_TIMEOUT = 120
SEARCH_TIMEOUT = 300
N_SPLITS = 2  # two folds of 60 rows: each search still sends every fit to the workers


def _mean_proba(estimator, X, y):
    """A continuous score: unlike F1 and hamming, it moves with the last bit of the weights."""
    return float(np.mean(estimator.predict_proba(X)))


SCORERS = {
    "f1_macro": SCORING["f1_macro"],
    "hamming": SCORING["hamming"],
    "mean_proba": _mean_proba,
}


def _call_with_timeout(function, timeout):
    """``function()`` in a daemon thread; fail the test if it is still running after timeout."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"{function} did not finish within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _tensorflow_threads():
    """On a worker: the environment and the threads that TensorFlow's first op starts.

    Must run before the worker has executed any TensorFlow op. TensorFlow names its inter-op
    pool threads ``tf_Compute`` and leaves its intra-op (Eigen) pool threads unnamed, so they
    keep the process name, ``python``. Linux only (``/proc``).
    """
    import tensorflow as tf

    def threads():
        tasks = "/proc/self/task"
        return {tid: open(f"{tasks}/{tid}/comm").read().strip() for tid in os.listdir(tasks)}

    before = threads()
    (tf.ones((64, 64)) @ tf.ones((64, 64))).numpy()
    after = threads()
    new = [after[tid] for tid in after.keys() - before.keys()]
    return {
        "env": {name: os.environ.get(name) for name in WORKER_ENV},
        "inter_op": sum(name.startswith("tf_Compute") for name in after.values()),
        "intra_op": sum(not name.startswith("tf_") for name in new),
    }


@pytest.fixture(scope="module")
def data():
    return make_multilabel_classification(
        n_samples=120, n_features=10, n_classes=3, random_state=0
    )


def _local_cluster_client():
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env=WORKER_ENV,
        ) as cluster,
        distributed.Client(cluster, timeout=START_TIMEOUT) as client,
    ):
        client.wait_for_workers(N_WORKERS, timeout=START_TIMEOUT)
        yield client


@pytest.fixture(scope="module")
def client():
    yield from _local_cluster_client()


@pytest.fixture
def own_client():
    """A cluster of its own, for a test that kills its workers."""
    yield from _local_cluster_client()


def _grid_search():
    return GridSearchCV(
        KerasMultiLabelClassifier(**FAST),
        {"network__hidden_layer_sizes": [(4,), (8,)], "network__dropout": [0.0, 0.2]},
        cv=MultilabelStratifiedKFold(n_splits=N_SPLITS, random_state=0),
        scoring=SCORERS,
        refit="f1_macro",
    )


def _randomized_search():
    return RandomizedSearchCV(
        KerasMultiLabelClassifier(**FAST),
        {"learning_rate_init": loguniform(1e-3, 1e-1), "network__l2": [0.0, 1e-4]},
        n_iter=4,
        cv=MultilabelStratifiedKFold(n_splits=N_SPLITS, random_state=0),
        scoring=SCORERS,
        refit="f1_macro",
        random_state=0,
    )


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_workers_run_tensorflow_on_one_thread(client):
    # A fresh process for each worker, so that this test sees TensorFlow's first op whatever
    # ran before it.
    _call_with_timeout(lambda: client.restart(timeout=START_TIMEOUT), START_TIMEOUT)
    by_worker = _call_with_timeout(lambda: client.run(_tensorflow_threads), START_TIMEOUT)
    assert len(by_worker) == N_WORKERS
    for threads in by_worker.values():
        assert threads == {"env": WORKER_ENV, "inter_op": 1, "intra_op": 1}


@pytest.mark.slow
@pytest.mark.parametrize("make_search", [_grid_search, _randomized_search])
def test_search_on_cluster_matches_n_jobs_1(client, data, make_search, record_property):
    X, y = data
    start = time.perf_counter()
    local = make_search().set_params(n_jobs=1).fit(X, y)
    local_s = time.perf_counter() - start

    def fit_on_cluster():
        with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as ts:
            search = make_search().fit(X, y)
        return search, ts.data

    start = time.perf_counter()
    remote, tasks = _call_with_timeout(fit_on_cluster, SEARCH_TIMEOUT)
    remote_s = time.perf_counter() - start
    record_property("wall_s_n_jobs_1", round(local_s, 2))
    record_property("wall_s_dask", round(remote_s, 2))
    print(f"{type(local).__name__}: n_jobs=1 {local_s:.1f} s, dask {remote_s:.1f} s")

    # The fits ran on the workers, on all of them.
    assert {task["worker"] for task in tasks} == set(client.scheduler_info()["workers"])
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    assert remote.best_params_ == local.best_params_
    # Same seeds, same folds, same float32 operations on the same CPU, one process or another:
    # the weights come out bit for bit the same. F1 and hamming are ratios of counts (one flipped
    # label moves a fold's hamming by 1/180), so 1e-6 leaves room only for float64 rounding; the
    # mean probability allows a few float32 ulps (eps = 1.2e-7).
    for name in ("f1_macro", "hamming"):
        for key in [f"split{k}_test_{name}" for k in range(N_SPLITS)] + [f"mean_test_{name}"]:
            np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key], atol=1e-6)
    for key in [f"split{k}_test_mean_proba" for k in range(N_SPLITS)]:
        np.testing.assert_allclose(
            remote.cv_results_[key], local.cv_results_[key], rtol=1e-6, atol=0
        )


def _kill_all_workers_once_busy(client):
    """From a thread: once a task runs, end every worker process as a crash would."""

    def kill():
        deadline = time.monotonic() + SEARCH_TIMEOUT
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            client.run(os._exit, 1)
        except Exception:  # the workers die before they answer
            pass

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_worker_death_mid_search_raises_worker_lost_and_rerun_succeeds(own_client, data):
    client = own_client
    X, y = data
    workers_before = set(client.ncores())

    def search_while_workers_die():
        killer = _kill_all_workers_once_busy(client)
        with dask_backend(client):
            _grid_search().fit(X, y)
        killer.join()

    with pytest.raises(WorkerLostError) as info:
        _call_with_timeout(search_while_workers_die, SEARCH_TIMEOUT)
    message = str(info.value)
    print(message)
    assert "was lost mid-computation" in message
    assert "killed, ran out of memory or crashed" in message
    assert "re-running the same call on the same client works" in message
    assert "memory" in message
    # Dask's own error stays attached: the scattered X and y went with the workers.
    cause = info.value.__cause__
    assert isinstance(cause, distributed.client.FutureCancelledError | distributed.KilledWorker)
    assert type(cause).__name__ in message
    assert set(info.value.workers) <= workers_before
    assert all(address in message for address in info.value.workers)

    # The nannies start new workers; the same search on the same client then runs through.
    _call_with_timeout(lambda: client.wait_for_workers(1, timeout=START_TIMEOUT), START_TIMEOUT)

    def search_again():
        with dask_backend(client):
            return _grid_search().fit(X, y)

    search = _call_with_timeout(search_again, SEARCH_TIMEOUT)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_f1_macro"]))


@pytest.mark.slow
def test_other_errors_pass_through_dask_backend_unchanged(client, data):
    X, y = data

    def bad_search():
        return GridSearchCV(
            KerasMultiLabelClassifier(**FAST),
            {"network__dropout": [0.0, 2.0]},
            cv=MultilabelStratifiedKFold(n_splits=3, random_state=0),
            error_score="raise",
        )

    with pytest.raises(Exception) as local:
        bad_search().set_params(n_jobs=1).fit(X, y)

    def fit_on_cluster():
        with dask_backend(client):
            bad_search().fit(X, y)

    with pytest.raises(Exception) as remote:
        _call_with_timeout(fit_on_cluster, SEARCH_TIMEOUT)
    assert not isinstance(remote.value, WorkerLostError)
    assert type(remote.value) is type(local.value)
    assert str(remote.value) == str(local.value)
    assert "dropout" in str(remote.value)


def test_dask_backend_without_distributed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"skml\[dask\]"):
        with dask_backend():
            pass

"""Training by successive calls, one pass over the rows given each time (``partial_fit``, Dask)."""

import numpy as np

from skml._training.backend import is_tensorflow
from skml._training.epoch import EpochRunner
from skml._training.keras_fit import evaluate_keras, fit_keras
from skml._training.rows import prepare

__all__ = ["Trainer"]


class Trainer:
    """One network trained by successive calls, each one pass over the rows it is given.

    ``partial_fit`` and training on Dask blocks use it: the optimizer state (Adam moments,
    iteration count) and the random generator states of the network persist from call to
    call, as over the epochs of one fit. On TensorFlow each call runs the traced epoch of the
    fast path, traced once for this network (and each layout of rows: dense, CSR) on the
    first call. Other backends (and ``fast=False``) call ``Model.fit``. Rows are dense or CSR,
    in the same order either way.

    Parameters
    ----------
    network : keras.Model
        A network compiled with its loss and optimizer.
    batch_size : int
    fast : bool, default=True
        Use the traced epoch on TensorFlow (False: ``Model.fit``, as under a strategy).
    """

    def __init__(self, network, *, batch_size, fast=True):
        self.network = network
        self.batch_size = batch_size
        self.fast = fast and is_tensorflow()
        self._runners = {}  # runners on the network itself, by layout, kept between calls

    def _data(self, X, y, sample_weight):
        import tensorflow as tf

        layout, X = prepare(X, self.network)
        y, sample_weight = (np.asarray(a, dtype=np.float32) for a in (y, sample_weight))
        rows = tf.range(X.shape[0], dtype=tf.int64)
        data = (layout.tensors(X), tf.convert_to_tensor(y), tf.convert_to_tensor(sample_weight))
        return layout, data, rows

    def _acquire(self, layout, y):
        # A runner on the network itself, not a cached template: calls are many (chunks,
        # blocks), and copying the weights and optimizer state in and out of a template at
        # every call would cost more than the one trace.
        key = (layout.key, tuple(y.shape[1:]))
        if key not in self._runners:
            self._runners[key] = EpochRunner(
                self.network,
                batch_size=self.batch_size,
                layout=layout,
                target_shape=tuple(y.shape[1:]),
            )
        runner = self._runners[key]
        runner.lock.acquire()
        return runner

    def epoch(self, X, y, sample_weight, key):
        """One pass over ``(X, y, sample_weight)`` in the order keyed by ``key = (seed, n)``.

        Returns
        -------
        logs : dict of str to float
            The epoch's mean ``loss`` (and any compiled metric).
        """
        import tensorflow as tf

        layout, data, rows = self._data(X, y, sample_weight)
        if not self.fast:
            history = fit_keras(
                self.network,
                layout=layout,
                data=data,
                train_rows=rows,
                val_rows=None,
                epochs=1,
                batch_size=self.batch_size,
                patience=0,
                seed=int(key[0]),
                verbose=0,
                first_epoch=int(key[1]),
                recompile=False,
            )
            return {k: float(v[-1]) for k, v in history.items()}
        runner = self._acquire(layout, data[1])
        try:
            logs = runner.train_epoch(*data, rows, tf.constant([int(k) for k in key], tf.int64))
            return {k: float(v) for k, v in logs.items()}
        finally:
            runner.lock.release()

    def evaluate(self, X, y, sample_weight):
        """Mean loss (and metrics) of the network on ``(X, y, sample_weight)``."""
        layout, data, rows = self._data(X, y, sample_weight)
        if not self.fast:
            return evaluate_keras(
                self.network, layout=layout, data=data, rows=rows, batch_size=self.batch_size
            )
        runner = self._acquire(layout, data[1])
        try:
            return {k: float(v) for k, v in runner.evaluate(*data, rows).items()}
        finally:
            runner.lock.release()

    def finish(self):
        """As at the end of ``Model.fit``: an optimizer with ``use_ema`` writes its averages."""
        network = self.network
        if network.optimizer is not None and network.optimizer.built:
            network.optimizer.finalize_variable_values(network.trainable_variables)

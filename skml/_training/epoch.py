"""Traced functions that run one epoch, or one evaluation, of a compiled network.

One ``tf.function`` call runs a whole epoch: a ``tf.while_loop`` cuts each batch from the rows
(:meth:`skml._training.rows.Layout.gather`, in the order of the epoch's permutation) and calls
the model's own ``train_step``, so the loss, sample weights, regularisation and optimizer (and
any override of them) behave exactly as in ``Model.fit``, with no ``tf.data`` pipeline and no
per-batch Python work.
"""

import threading

from skml._training.backend import count_trace, trace
from skml._training.rows import permutation

__all__ = ["EVAL_BATCH_SIZE", "EpochRunner"]

EVAL_BATCH_SIZE = 1024


class EpochRunner:
    """Traced epoch and evaluation functions over one compiled network.

    ``model`` is either the network being trained (no copies) or a private template shared
    by fits of the same configuration (``load`` and ``store`` copy the state in and out).

    Parameters
    ----------
    model : keras.Model
        A compiled network.
    batch_size : int
    layout : skml._training.rows.Layout
        How the rows reach the traced functions.
    target_shape : tuple of int
        Shape of one row of the targets.
    """

    def __init__(self, model, *, batch_size, layout, target_shape):
        import tensorflow as tf

        self.model = model
        self.batch_size = batch_size
        self.layout = layout
        self.lock = threading.Lock()
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        # Initial optimizer state (zero moments, zero iterations), restored before each fit.
        self._optimizer_init = [tf.identity(v.value) for v in optimizer.variables]
        x_specs = layout.specs()
        y_spec = tf.TensorSpec([None, *target_shape], tf.float32)
        w_spec = tf.TensorSpec([None], tf.float32)
        rows_spec = tf.TensorSpec([None], tf.int64)
        seed_spec = tf.TensorSpec([2], tf.int64)
        self.train_epoch = trace(
            self._train_epoch, [x_specs, y_spec, w_spec, rows_spec, seed_spec]
        )
        self.evaluate = trace(self._evaluate, [x_specs, y_spec, w_spec, rows_spec])
        step = model.train_step
        # As Model.fit does: XLA for the step, on accelerators (sparse batches have no XLA).
        if model.jit_compile and not layout.sparse_batches:
            step = tf.function(step, jit_compile=True, reduce_retracing=True)
        self._step = step

    def _batch(self, X, y, sample_weight, idx):
        import tensorflow as tf

        with tf.device("/CPU:0"):  # the data stays in host memory; batches travel
            return (
                self.layout.gather(X, idx),
                tf.gather(y, idx),
                tf.gather(sample_weight, idx),
            )

    def _train_epoch(self, X, y, sample_weight, rows, key):
        """One pass over ``rows`` in the order keyed by ``key``; the epoch's metrics."""
        import tensorflow as tf

        count_trace("train_traces")
        model = self.model
        model.reset_metrics()
        n_samples = tf.size(rows, out_type=tf.int64)
        order = tf.gather(rows, permutation(n_samples, key[0], key[1]))
        batch_size = tf.constant(self.batch_size, tf.int64)
        n_batches = (n_samples + batch_size - 1) // batch_size

        def body(i):
            idx = order[i * batch_size : (i + 1) * batch_size]
            self._step(self._batch(X, y, sample_weight, idx))
            return (i + 1,)

        tf.while_loop(lambda i: i < n_batches, body, (tf.constant(0, tf.int64),))
        return model.get_metrics_result()

    def _evaluate(self, X, y, sample_weight, rows):
        """The metrics (the loss) over ``rows``, in chunks of rows in their order."""
        import tensorflow as tf

        count_trace("train_traces")
        model = self.model
        model.reset_metrics()
        n_samples = tf.size(rows, out_type=tf.int64)
        chunk = tf.constant(max(self.batch_size, EVAL_BATCH_SIZE), tf.int64)

        def body(start):
            stop = start + chunk
            model.test_step(self._batch(X, y, sample_weight, rows[start:stop]))
            return (stop,)

        tf.while_loop(lambda s: s < n_samples, body, (tf.constant(0, tf.int64),))
        return model.get_metrics_result()

    def load(self, network, optimizer, resume=False):
        """Copy ``network``'s weights into the template, and a fresh optimizer state (or,
        with ``resume``, ``optimizer``'s own state: moments and iteration count)."""
        if network is self.model:
            return
        template = self.model
        for target, source in zip(template.variables, network.variables):
            target.assign(source.value)
        if resume:
            if not optimizer.built:
                optimizer.build(network.trainable_variables)
            for target, source in zip(template.optimizer.variables, optimizer.variables):
                target.assign(source.value)
            return
        for target, value in zip(template.optimizer.variables, self._optimizer_init):
            target.assign(value)
        learning_rate = optimizer.get_config().get("learning_rate")
        if isinstance(learning_rate, float):
            template.optimizer.learning_rate = learning_rate

    def snapshot(self):
        """The current weights (as ``Model.get_weights``: random generator states excluded)."""
        import tensorflow as tf

        return [tf.identity(v.value) for v in self.model.weights]

    def store(self, network, optimizer, best_weights):
        """Copy the trained state to ``network`` and ``optimizer``; then ``best_weights``."""
        if network is not self.model:
            for target, source in zip(network.variables, self.model.variables):
                target.assign(source.value)
            if not optimizer.built:
                optimizer.build(network.trainable_variables)
            for target, source in zip(optimizer.variables, self.model.optimizer.variables):
                target.assign(source.value)
        if best_weights is not None:
            for target, value in zip(network.weights, best_weights):
                target.assign(value)

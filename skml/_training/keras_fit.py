"""The one ``Model.fit`` set-up: other backends, ``fast=False``, ``tf.distribute``.

A ``tf.data`` pipeline yields the batches of the fast path: epoch ``e`` visits the rows in the
order of :func:`skml._training.rows.permutation` keyed by ``(seed, e)``, each batch cut by
:meth:`skml._training.rows.Layout.gather` (dense rows, or CSR rows as a ``tf.SparseTensor``,
densified per batch where the network reads dense input). With validation rows, Keras'
``EarlyStopping(restore_best_weights=True)`` with the restored weights averaged as on the fast
path (:class:`skml._training.loop.EarlyStopping`, the same code), and without them the same
mean of the last epochs' weights (:class:`skml._training.loop.TailAverage`): the same network.
"""

from skml._training.backend import import_keras, is_tensorflow
from skml._training.epoch import EVAL_BATCH_SIZE
from skml._training.loop import progress_callback, weight_keeper
from skml._training.rows import permutation

__all__ = ["evaluate_keras", "fit_keras", "make_dataset"]


def make_dataset(layout, data, rows, *, batch_size, shuffle, seed, epochs=1, first_epoch=0):
    """A ``tf.data.Dataset`` of ``(X, y, sample_weight)`` batches of ``rows``.

    Parameters
    ----------
    layout : skml._training.rows.Layout
    data : tuple
        ``(X_tensors, y, sample_weight)``, tensors.
    rows : tf.Tensor of int64
        The rows to visit.
    batch_size : int
    shuffle : bool
        Visit ``rows`` in the order of each epoch's permutation; else in their order, once.
    seed : int or None
    epochs, first_epoch : int, default=1, 0
        With ``shuffle``, the dataset holds ``epochs`` passes one after the other, numbered
        from ``first_epoch`` (a continued training continues the numbering).
    """
    import tensorflow as tf

    X, y, sample_weight = data
    n_rows = tf.size(rows, out_type=tf.int64)

    def gather(idx):
        return (layout.gather(X, idx), tf.gather(y, idx), tf.gather(sample_weight, idx))

    if shuffle:
        dataset = tf.data.Dataset.range(first_epoch, first_epoch + epochs).flat_map(
            lambda epoch: tf.data.Dataset.from_tensor_slices(
                tf.gather(rows, permutation(n_rows, seed, epoch))
            ).batch(batch_size)
        )
    else:
        dataset = tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)
    return dataset.map(gather).prefetch(tf.data.AUTOTUNE)


def _steps_per_execution(n_batches):
    """The largest divisor of ``n_batches`` up to 64: executions never straddle epochs."""
    for steps in range(min(n_batches, 64), 0, -1):
        if n_batches % steps == 0:
            return steps
    return 1


def _recompile(network, layout, n_batches):
    """Compile again for the run (the optimizer object, and so its state, is kept)."""
    import tensorflow as tf

    # Under a tf.distribute strategy, Keras' multi-step execution fails on the partial last
    # batch ("You must feed a value for placeholder tensor"): run one step per call there.
    distributed = is_tensorflow() and tf.distribute.has_strategy()
    options = {"steps_per_execution": 1 if distributed else _steps_per_execution(n_batches)}
    if layout.sparse_batches:
        options["jit_compile"] = False  # XLA has no sparse matmul
    network.compile(optimizer=network.optimizer, loss=network.loss, **options)


def fit_keras(
    network,
    *,
    layout,
    data,
    train_rows,
    val_rows,
    epochs,
    batch_size,
    patience,
    seed,
    verbose,
    first_epoch=0,
    recompile=True,
    average=1,
):
    """Train the compiled ``network`` with ``Model.fit``; return its history.

    Takes the arguments of :func:`skml._training.loop.fit_fast`. ``recompile=False`` keeps
    the network's compilation as it is (successive calls of a :class:`Trainer`).
    """
    n_batches = -(-int(train_rows.shape[0]) // batch_size)
    if recompile:
        _recompile(network, layout, n_batches)
    train_ds = make_dataset(
        layout,
        data,
        train_rows,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        epochs=epochs,
        first_epoch=first_epoch,
    )
    callbacks, val_ds = [], None
    if val_rows is not None:
        val_ds = make_dataset(
            layout,
            data,
            val_rows,
            batch_size=max(batch_size, EVAL_BATCH_SIZE),
            shuffle=False,
            seed=None,
        )
    stopping = weight_keeper(val_rows, patience, average, epochs)
    if stopping is not None:
        callbacks.append(_weight_keeper_callback(stopping))
    if verbose == 1:
        callbacks.append(progress_callback(epochs))
    history = network.fit(
        train_ds,
        epochs=epochs,
        steps_per_epoch=n_batches,
        validation_data=val_ds,
        callbacks=callbacks,
        shuffle=False,  # the dataset holds every epoch's permutation
        verbose=2 if verbose >= 2 else 0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def _weight_keeper_callback(stopping):
    """A Keras callback driving ``stopping`` (:func:`skml._training.loop.weight_keeper`) on
    ``val_loss``; restores its weights at the end."""
    keras = import_keras()

    class WeightKeeper(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            val_loss = (logs or {}).get("val_loss")
            val_loss = None if val_loss is None else float(val_loss)
            if stopping.update(epoch, val_loss, self.model.get_weights):
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            weights = stopping.best_weights  # a mean: computed once
            if weights is not None:
                self.model.set_weights(weights)

    return WeightKeeper()


def evaluate_keras(network, *, layout, data, rows, batch_size):
    """``Model.evaluate`` over ``rows``: the loss (and metrics) as a dict of floats."""
    dataset = make_dataset(
        layout, data, rows, batch_size=max(batch_size, EVAL_BATCH_SIZE), shuffle=False, seed=None
    )
    logs = network.evaluate(dataset, return_dict=True, verbose=0)
    return {k: float(v) for k, v in logs.items()}

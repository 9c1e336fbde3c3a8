"""The epoch loop of the fast path (TensorFlow): epochs, early stopping, progress display.

Each epoch is one call of a traced function (:mod:`skml._training.epoch`), on a cached
template or on the network itself (:mod:`skml._training.cache`); the validation loss is a
second traced function. Early stopping is that of
``keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True)``, with the
restored weights averaged over the best epoch and the few after it (:class:`EarlyStopping`);
the progress display is that of ``Model.fit``: one bar over epochs (``verbose=1``) or one line
per epoch (``verbose=2``).
"""

import sys

from skml._training import cache
from skml._training.backend import import_keras

__all__ = ["EarlyStopping", "TailAverage", "fit_fast", "mean_weights", "progress_callback"]


def progress_callback(epochs):
    """A Keras callback printing one progress bar over epochs, with the epoch's logs."""
    keras = import_keras()

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._progress = _EpochBar(epochs)

        def on_epoch_end(self, epoch, logs=None):
            self._progress.update(epoch, logs)

        def on_train_end(self, logs=None):
            self._progress.close()

    return EpochProgress()


class _EpochBar:
    """One progress bar over epochs (``verbose=1``)."""

    def __init__(self, epochs):
        keras = import_keras()
        self.epochs = epochs
        self._done = 0
        self._bar = keras.utils.Progbar(target=epochs, unit_name="epoch")

    def start_epoch(self, epoch):
        pass

    def update(self, epoch, logs):
        values = [(k, float(v)) for k, v in (logs or {}).items()]
        self._done = epoch + 1
        self._bar.update(epoch + 1, values=values, finalize=epoch + 1 == self.epochs)

    def close(self):
        if self._done < self.epochs:  # stopped early: close the line
            sys.stdout.write("\n")
            sys.stdout.flush()


class _EpochLines:
    """One line per epoch (``verbose=2``), as ``Model.fit(verbose=2)`` prints them."""

    def __init__(self, epochs, n_batches):
        self.epochs = epochs
        self.n_batches = n_batches

    def start_epoch(self, epoch):
        keras = import_keras()
        sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")
        self._bar = keras.utils.Progbar(target=self.n_batches, verbose=2)

    def update(self, epoch, logs):
        self._bar.update(self.n_batches, values=list(logs.items()), finalize=True)

    def close(self):
        pass


class _Silent:
    def start_epoch(self, epoch):
        pass

    def update(self, epoch, logs):
        pass

    def close(self):
        pass


def _progress(verbose, epochs, n_batches):
    if verbose == 1:
        return _EpochBar(epochs)
    if verbose >= 2:
        return _EpochLines(epochs, n_batches)
    return _Silent()


class EarlyStopping:
    """``keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True)``, whose
    restored weights are the mean of those of the best epoch and the ``average - 1`` epochs
    after it (as many as were run); ``average=1`` restores the best epoch's weights.

    ``update`` is called after every epoch with a ``snapshot`` function returning the weights
    (a list of arrays or tensors, as ``Model.get_weights``); ``best_weights`` is what to
    restore, or None before the first epoch.
    """

    def __init__(self, patience, average=1):
        self.patience = patience
        self.average = average
        self.wait = 0
        self.best = None
        self._kept = []  # the best epoch's weights, then those of the epochs after it

    @property
    def best_weights(self):
        return mean_weights(self._kept) if self._kept else None

    def update(self, epoch, val_loss, snapshot):
        """Record the epoch; return True when training must stop (never without a loss)."""
        if val_loss is None:  # a model whose metrics lack the loss: nothing to stop on
            return False
        self.wait += 1
        if self.best is None or val_loss < self.best:
            self.best = val_loss
            self._kept = [snapshot()]
            self.wait = 0
            return False
        if len(self._kept) < self.average:
            self._kept.append(snapshot())
        return self.wait >= self.patience and epoch > 0


class TailAverage:
    """Without validation rows: the mean of the weights of the last ``average`` of ``epochs``
    epochs (the counterpart of :class:`EarlyStopping`'s window when the epoch count is known
    beforehand); it never stops training."""

    def __init__(self, epochs, average):
        self.first = epochs - average
        self._kept = []

    @property
    def best_weights(self):
        return mean_weights(self._kept) if self._kept else None

    def update(self, epoch, val_loss, snapshot):
        """Record the epoch; return False (training runs its epochs)."""
        if epoch >= self.first:
            self._kept.append(snapshot())
        return False


def weight_keeper(val_rows, patience, average, epochs):
    """What decides the weights a training ends with: :class:`EarlyStopping` on validation
    rows, :class:`TailAverage` over the last ``average`` epochs without them, or None (the
    last epoch's weights)."""
    if val_rows is not None:
        return EarlyStopping(patience, average)
    return TailAverage(epochs, average) if average > 1 else None


def mean_weights(snapshots):
    """The element-wise mean of weight lists, in float64 then cast back to each weight's dtype.

    A weight that is not floating point (a counter) keeps its value in the first list; one list
    is returned as it is.
    """
    import numpy as np

    if len(snapshots) == 1:
        return snapshots[0]
    mean = []
    for values in zip(*snapshots):
        arrays = [np.asarray(v) for v in values]
        if np.issubdtype(arrays[0].dtype, np.floating):
            mean.append(np.mean(arrays, axis=0, dtype=np.float64).astype(arrays[0].dtype))
        else:
            mean.append(arrays[0])
    return mean


def fit_fast(
    network,
    *,
    loss,
    optimizer,
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
    resume=False,
    average=1,
):
    """Train the compiled ``network`` with traced epochs; return its history.

    ``data`` is ``(X_tensors, y, sample_weight)`` as tensors, ``X_tensors`` those of
    ``layout``; ``train_rows`` and ``val_rows`` (or None) int64 tensors of row indices. The
    other parameters are those of :func:`skml._training.fit_network`.
    """
    import tensorflow as tf

    runner = cache.runner(
        network,
        loss,
        optimizer,
        batch_size=batch_size,
        layout=layout,
        target_shape=data[1].shape[1:],
    )
    try:
        runner.load(network, optimizer, resume=resume)
        history = {}
        progress = _progress(verbose, epochs, -(-int(train_rows.shape[0]) // batch_size))
        stopping = weight_keeper(val_rows, patience, average, epochs)
        for epoch in range(epochs):
            progress.start_epoch(epoch)
            key = tf.constant([seed, first_epoch + epoch], tf.int64)
            logs = {k: float(v) for k, v in runner.train_epoch(*data, train_rows, key).items()}
            if val_rows is not None:
                val_logs = runner.evaluate(*data, val_rows)
                logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
            for k, v in logs.items():
                history.setdefault(k, []).append(v)
            progress.update(epoch, logs)
            # val_loss is None without validation rows, or for a model whose metrics lack it.
            if stopping is not None and stopping.update(
                epoch, logs.get("val_loss"), runner.snapshot
            ):
                break
        progress.close()
        # As Model.fit: an optimizer keeping moving averages (use_ema) writes them now.
        runner.model.optimizer.finalize_variable_values(runner.model.trainable_variables)
        runner.store(network, optimizer, None if stopping is None else stopping.best_weights)
    finally:
        runner.lock.release()
    return history

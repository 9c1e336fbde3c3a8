"""Training and inference machinery shared by skml's estimators (Keras, no scikit-learn).

* Batches come from a ``tf.data`` pipeline that shuffles *indices* with an explicit op seed and
  gathers rows per batch, so training is reproducible without any global seed, the data is not
  copied into a shuffle buffer, and there is no per-epoch Python work.
* Inference on the TensorFlow backend runs through one ``tf.function`` with a fixed input
  signature (no retracing between calls of different sizes); other backends call the model.
"""

import os
import sys

import numpy as np

_PREDICT_CHUNK = 65_536


def import_keras():
    """Import Keras, keeping TensorFlow's C++ start-up log quiet unless the user chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def make_dataset(X, y, sample_weight, *, batch_size, shuffle, seed):
    """Return a ``tf.data.Dataset`` of ``(X, y, sample_weight)`` batches."""
    import tensorflow as tf

    n_samples = X.shape[0]
    tensors = tuple(tf.constant(a) for a in (X, y, sample_weight))

    def gather(idx):
        return tuple(tf.gather(t, idx) for t in tensors)

    ds = tf.data.Dataset.range(n_samples)
    if shuffle:
        ds = ds.shuffle(n_samples, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(gather)
    return ds.prefetch(tf.data.AUTOTUNE)


def progress_callback(epochs):
    """A callback printing one progress bar over epochs, with the epoch's logs."""
    keras = import_keras()

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._bar = keras.utils.Progbar(target=epochs, unit_name="epoch")

        def on_epoch_end(self, epoch, logs=None):
            values = [(k, float(v)) for k, v in (logs or {}).items()]
            self._bar.update(epoch + 1, values=values, finalize=epoch + 1 == epochs)

        def on_train_end(self, logs=None):
            if self._bar._seen_so_far < epochs:  # stopped early: close the line
                sys.stdout.write("\n")
                sys.stdout.flush()

    return EpochProgress()


def _steps_per_execution(n_train, batch_size):
    """Run a whole epoch per compiled call, bounded so progress stays responsive."""
    steps = -(-n_train // batch_size)
    return int(max(1, min(steps, 64)))


def train(network, *, loss, optimizer, train, validation, epochs, batch_size, patience, seed,
          verbose):
    """Train ``network`` in place and return its history.

    Parameters
    ----------
    network : keras.Model
        Uncompiled network; compiled here with ``loss`` and ``optimizer``.
    loss, optimizer : keras objects
    train : tuple of ndarray
        ``(X, y, sample_weight)``, float32.
    validation : tuple of ndarray or None
        Held-out ``(X, y, sample_weight)``; when given, training stops after ``patience``
        epochs without improvement of its loss and the best weights are restored.
    epochs, batch_size, patience : int
    seed : int
        Seed of the per-epoch shuffling.
    verbose : int
        0 silent, 1 one progress bar over epochs, 2 one line per epoch.

    Returns
    -------
    history : dict of str to list of float
        ``loss`` (and ``val_loss``) per epoch.
    """
    keras = import_keras()
    network.compile(
        optimizer=optimizer,
        loss=loss,
        steps_per_execution=_steps_per_execution(train[0].shape[0], batch_size),
    )
    train_ds = make_dataset(*train, batch_size=batch_size, shuffle=True, seed=seed)
    callbacks = []
    val_ds = None
    if validation is not None:
        val_ds = make_dataset(
            *validation, batch_size=max(batch_size, 1024), shuffle=False, seed=None
        )
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        )
    if verbose == 1:
        callbacks.append(progress_callback(epochs))
    history = network.fit(
        train_ds,
        epochs=epochs,
        validation_data=val_ds,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself, with its own seed
        verbose=2 if verbose >= 2 else 0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


class Predictor:
    """Fast, picklable-by-omission inference for a fitted Keras model."""

    def __init__(self, model):
        self.model = model
        self._fn = None

    def _compiled(self):
        keras = import_keras()
        if keras.backend.backend() != "tensorflow":
            return None
        if self._fn is None:
            import tensorflow as tf

            model = self.model
            spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)

            @tf.function(input_signature=[spec], reduce_retracing=True)
            def forward(x):
                return model(x, training=False)

            self._fn = forward
        return self._fn

    def __call__(self, X):
        """Return the model's outputs for ``X`` (float32 ndarray) as a float64 ndarray."""
        keras = import_keras()
        fn = self._compiled()
        out = []
        for start in range(0, max(X.shape[0], 1), _PREDICT_CHUNK):
            chunk = X[start : start + _PREDICT_CHUNK]
            if fn is not None:
                out.append(fn(chunk).numpy())
            else:
                out.append(keras.ops.convert_to_numpy(self.model(chunk, training=False)))
        return np.concatenate(out).astype(np.float64)

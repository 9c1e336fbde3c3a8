"""Sparse input (TF-IDF and the like) without densifying the whole matrix.

A SciPy CSR matrix of 200,000 x 50,000 at 0.1% density is about 120 MB; its dense float32 copy
would be 40 GB. Training reads it through a ``keras.utils.PyDataset`` that densifies one batch of
rows at a time, and prediction densifies one chunk of rows at a time, so peak memory stays
proportional to ``batch_size x n_features``. Works on every Keras backend.
"""

import numpy as np
import scipy.sparse as sp

from skml._training import import_keras, progress_callback

__all__ = ["predict_sparse", "train_sparse"]

_CHUNK_VALUES = 4_194_304  # dense values per chunk: 16 MB of float32


def _chunk_rows(n_features, most=2048):
    """Rows per densified chunk, so a chunk stays near 16 MB however wide the rows are."""
    return int(max(1, min(most, _CHUNK_VALUES // max(n_features, 1))))


def _batches(X, y, sample_weight, *, batch_size, shuffle, seed):
    """A PyDataset of dense ``(X, y, sample_weight)`` batches from CSR ``X``."""
    keras = import_keras()

    class SparseBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self._epoch = 0
            self._order = self._permutation()

        def _permutation(self):
            if not shuffle:
                return np.arange(X.shape[0])
            return np.random.default_rng([seed, self._epoch]).permutation(X.shape[0])

        def __len__(self):
            return -(-X.shape[0] // batch_size)

        def __getitem__(self, index):
            rows = np.sort(self._order[index * batch_size : (index + 1) * batch_size])
            return X[rows].toarray(), y[rows], sample_weight[rows]

        def on_epoch_end(self):
            self._epoch += 1
            self._order = self._permutation()

    return SparseBatches()


def train_sparse(
    network, *, loss, optimizer, train, validation, epochs, batch_size, patience, seed, verbose
):
    """Train ``network`` on CSR rows; same contract as :func:`skml._training.train`."""
    keras = import_keras()
    network.compile(optimizer=optimizer, loss=loss)
    X, y, w = train
    data = _batches(sp.csr_matrix(X), y, w, batch_size=batch_size, shuffle=True, seed=seed)
    callbacks, val_data = [], None
    if validation is not None:
        X_val, y_val, w_val = validation
        val_data = _batches(
            sp.csr_matrix(X_val),
            y_val,
            w_val,
            batch_size=_chunk_rows(X.shape[1], most=1024),
            shuffle=False,
            seed=seed,
        )
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        )
    if verbose == 1:
        callbacks.append(progress_callback(epochs))
    history = network.fit(
        data,
        epochs=epochs,
        validation_data=val_data,
        callbacks=callbacks,
        verbose=2 if verbose >= 2 else 0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def predict_sparse(predictor, X):
    """Run ``predictor`` (dense float32 rows -> outputs) over CSR ``X`` chunk by chunk."""
    X = sp.csr_matrix(X)
    step = _chunk_rows(X.shape[1])
    out = [predictor(X[start : start + step].toarray()) for start in range(0, X.shape[0], step)]
    return np.concatenate(out) if out else predictor(np.zeros((0, X.shape[1]), np.float32))

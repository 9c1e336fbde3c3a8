"""Sparse input (TF-IDF and the like) without densifying the whole matrix.

A SciPy CSR matrix of 200,000 x 50,000 at 0.1% density is about 77 MB; its dense float32 copy
would be 37 GB. On the TensorFlow backend the built-in MLP takes ``tf.SparseTensor`` batches
(``keras.Input(sparse=True)``): nothing is ever densified, and the first layer multiplies the
sparse rows directly. Other backends and user models get dense batches, densified one batch of
rows at a time. Either way, batches are cut from the matrix by row index (no copy of the training
rows), shuffled per epoch from the estimator's seed (never from global random state), and
prefetched one at a time, so peak memory stays proportional to one batch.
"""

import weakref

import numpy as np
import scipy.sparse as sp

from skml._training import _trace, import_keras, progress_callback

__all__ = ["predict_sparse", "sparse_input_supported", "train_sparse"]

_CHUNK_VALUES = 4_194_304  # dense values per chunk: 16 MB of float32


def _chunk_rows(n_features, most=2048):
    """Rows per densified chunk, so a chunk stays near 16 MB however wide the rows are."""
    return int(max(1, min(most, _CHUNK_VALUES // max(n_features, 1))))


def sparse_input_supported():
    """Whether the active Keras backend trains on ``tf.SparseTensor`` batches."""
    return import_keras().backend.backend() == "tensorflow"


def _to_tf_sparse(X):
    import tensorflow as tf

    coo = X.tocoo()
    indices = np.column_stack([coo.row, coo.col]).astype(np.int64)
    tensor = tf.SparseTensor(indices, coo.data.astype(np.float32), coo.shape)
    return tf.sparse.reorder(tensor)


def _order(n_rows, shuffle, seed, epoch):
    if not shuffle:
        return np.arange(n_rows)
    return np.random.default_rng([seed, epoch]).permutation(n_rows)


def _tf_dataset(X, rows, y, sample_weight, *, batch_size, shuffle, seed, epochs):
    """``tf.data`` of ``(tf.SparseTensor, y, w)`` batches over ``X[rows]``, ``epochs`` times."""
    import tensorflow as tf

    def batches():
        for epoch in range(epochs):
            order = rows[_order(len(rows), shuffle, seed, epoch)]
            for start in range(0, len(order), batch_size):
                idx = np.sort(order[start : start + batch_size])
                yield _to_tf_sparse(X[idx]), y[idx], sample_weight[idx]

    signature = (
        tf.SparseTensorSpec((None, X.shape[1]), tf.float32),
        tf.TensorSpec((None, y.shape[1]), tf.float32),
        tf.TensorSpec((None,), tf.float32),
    )
    # A known length lets Keras stop after the last batch instead of running into the end of
    # the generator, which it reports as "Your input ran out of data; interrupting training"
    # once per epoch for the validation set although nothing is interrupted.
    n_batches = -(-len(rows) // batch_size) * epochs
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(1)


def _py_dataset(X, rows, y, sample_weight, *, batch_size, shuffle, seed):
    """A PyDataset of dense batches over ``X[rows]``, densified one batch at a time."""
    keras = import_keras()

    class DenseBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self._epoch = 0

        def __len__(self):
            return -(-len(rows) // batch_size)

        def __getitem__(self, index):
            order = rows[_order(len(rows), shuffle, seed, self._epoch)]
            idx = np.sort(order[index * batch_size : (index + 1) * batch_size])
            return X[idx].toarray(), y[idx], sample_weight[idx]

        def on_epoch_end(self):
            self._epoch += 1

    return DenseBatches()


def train_sparse(
    network,
    *,
    loss,
    optimizer,
    X,
    y,
    sample_weight,
    train_rows,
    val_rows,
    epochs,
    batch_size,
    patience,
    seed,
    verbose,
):
    """Train ``network`` on the CSR rows ``X[train_rows]``; return its history.

    Same contract as :func:`skml._training.train`, but the rows are given by index into the
    whole matrix, so the training and validation rows are never copied.
    """
    keras = import_keras()
    network.compile(optimizer=optimizer, loss=loss)
    sparse_network = getattr(network.inputs[0], "sparse", False)
    n_batches = -(-len(train_rows) // batch_size)
    val_batch = batch_size if sparse_network else _chunk_rows(X.shape[1], most=1024)

    def data(rows, size, shuffle, n_epochs):
        if sparse_network:
            return _tf_dataset(
                X,
                rows,
                y,
                sample_weight,
                batch_size=size,
                shuffle=shuffle,
                seed=seed,
                epochs=n_epochs,
            )
        return _py_dataset(X, rows, y, sample_weight, batch_size=size, shuffle=shuffle, seed=seed)

    callbacks, val_data = [], None
    if val_rows is not None:
        val_data = data(val_rows, val_batch, False, 1)
        if sparse_network:
            val_data = val_data.cache()  # the validation rows are read every epoch
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        )
    if verbose == 1:
        callbacks.append(progress_callback(epochs))
    history = network.fit(
        data(train_rows, batch_size, True, epochs),
        epochs=epochs,
        steps_per_epoch=n_batches if sparse_network else None,
        validation_data=val_data,
        callbacks=callbacks,
        shuffle=False,  # batches are shuffled per epoch from ``seed``, not from global state
        verbose=2 if verbose >= 2 else 0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


_FORWARD = weakref.WeakKeyDictionary()


def _sparse_forward(network):
    """One traced inference function per sparse-input network, with a fixed signature."""
    if network not in _FORWARD:
        import tensorflow as tf

        spec = tf.SparseTensorSpec((None, network.input_shape[-1]), tf.float32)
        _FORWARD[network] = _trace(lambda x: network(x, training=False), [spec])
    return _FORWARD[network]


def predict_sparse(network, predictor, X):
    """Outputs of ``network`` for CSR ``X``, one chunk of rows at a time (float64)."""
    X = sp.csr_matrix(X)
    if getattr(network.inputs[0], "sparse", False):
        forward = _sparse_forward(network)
        step = 2048
        out = [
            forward(_to_tf_sparse(X[start : start + step])).numpy()
            for start in range(0, X.shape[0], step)
        ]
    else:
        step = _chunk_rows(X.shape[1])
        out = [
            predictor(X[start : start + step].toarray()) for start in range(0, X.shape[0], step)
        ]
    if not out:
        return np.zeros((0, network.output_shape[-1]))
    return np.concatenate(out).astype(np.float64)

"""``fit_network``: the one entry point of a fit, whatever the rows and the path."""

import numpy as np

from skml._training.backend import is_tensorflow
from skml._training.keras_fit import fit_keras
from skml._training.loop import fit_fast
from skml._training.rows import prepare

__all__ = ["fit_network"]


def fit_network(
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
    fast=True,
    first_epoch=0,
    resume=False,
    average_epochs=1,
):
    """Train ``network`` in place on the rows ``train_rows`` of ``X``; return its history.

    Parameters
    ----------
    network : keras.Model
        Uncompiled network; compiled here with ``loss`` and ``optimizer``. With ``resume``,
        a compiled network whose training continues with its own optimizer state.
    loss, optimizer : keras objects
        Ignored with ``resume`` (the network's own are used).
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, ...)
        float32 rows. A sparse matrix is never densified whole: a network built with
        ``keras.Input(sparse=True)`` reads ``tf.SparseTensor`` batches, any other network
        batches densified one at a time.
    y : ndarray of shape (n_samples, n_outputs)
        float32 targets.
    sample_weight : ndarray of shape (n_samples,)
        float32 weights.
    train_rows : ndarray of int
        Rows of ``X`` to train on (no copy of them is made).
    val_rows : ndarray of int or None
        Held-out rows: training stops after ``patience`` epochs without improvement of their
        loss, and the mean of the weights of the best epoch and the ``average_epochs - 1``
        epochs after it is restored. None: no early stopping.
    epochs, batch_size, patience : int
    seed : int
        Seed of the shuffling: epoch ``e`` visits ``train_rows`` in the order of a stateless
        permutation keyed by ``(seed, e)``, the same for dense and sparse rows.
    verbose : int
        0 silent, 1 one progress bar over epochs, 2 one line per epoch.
    fast : bool, default=True
        Use the traced epoch loop on TensorFlow; False goes through ``Model.fit`` (as under a
        ``tf.distribute`` strategy, whose scope the caller has entered). Both give the same
        network.
    first_epoch : int, default=0
        Number of the first epoch, which keys its shuffle: a continued training passes the
        number of epochs already run, so it never repeats an order.
    resume : bool, default=False
        Continue the training of a compiled network: keep its optimizer state (Adam moments,
        iteration count) instead of starting from a fresh one.
    average_epochs : int, default=1
        Epochs whose weights early stopping averages, from the best one on; 1 restores the
        best epoch's weights. Without ``val_rows``: the last ``average_epochs`` epochs'
        weights are averaged (1: the last epoch's, as they are).

    Returns
    -------
    history : dict of str to list of float
        ``loss`` (and ``val_loss``) per epoch.
    """
    import tensorflow as tf

    if resume:
        loss = network.loss
    else:
        network.compile(optimizer=optimizer, loss=loss)
    layout, X = prepare(X, network)
    y, sample_weight = (np.asarray(a, dtype=np.float32) for a in (y, sample_weight))
    data = (layout.tensors(X), tf.convert_to_tensor(y), tf.convert_to_tensor(sample_weight))
    train_rows = tf.convert_to_tensor(np.asarray(train_rows, dtype=np.int64))
    if val_rows is not None:
        val_rows = tf.convert_to_tensor(np.asarray(val_rows, dtype=np.int64))
    kwargs = dict(
        layout=layout,
        data=data,
        train_rows=train_rows,
        val_rows=val_rows,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        verbose=verbose,
        first_epoch=first_epoch,
        average=average_epochs,
    )
    if fast and is_tensorflow():
        return fit_fast(network, loss=loss, optimizer=network.optimizer, resume=resume, **kwargs)
    return fit_keras(network, **kwargs)

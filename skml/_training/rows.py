"""The rows a fit reads, dense or CSR, and the order in which an epoch visits them.

Every epoch visits the training rows in the order of a stateless permutation keyed by
``(seed, epoch)`` (:func:`permutation`), whatever the path (the traced loop or ``Model.fit``)
and whatever the storage of the rows, and without touching any global random state.

Dense rows travel as one float32 tensor, a batch gathered from it by index. A CSR matrix
travels as its three arrays (row pointers, column indices, values), never densified: a batch's
rows are cut from them inside the graph and assembled into a ``tf.SparseTensor`` whose row
``i`` is the batch's ``i``-th row, so a sparse batch holds the same rows in the same order as
the dense one. A network that reads dense input (any backend but TensorFlow, or a network
without ``keras.Input(sparse=True)``) gets each batch densified on its own.
"""

import numpy as np
import scipy.sparse as sp

from skml._training.backend import is_tensorflow

__all__ = ["Layout", "canonical_csr", "permutation", "prepare", "sparse_tensor", "takes_sparse"]


def permutation(n_samples, seed, epoch):
    """Order of the rows in ``epoch``: a stateless shuffle keyed by ``(seed, epoch)``."""
    import tensorflow as tf

    key = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(
        tf.range(n_samples, dtype=tf.int64), seed=key, alg="philox"
    )


def takes_sparse(network):
    """Whether ``network`` reads ``tf.SparseTensor`` batches (``keras.Input(sparse=True)``)."""
    if not is_tensorflow():
        return False
    try:
        inputs = network.inputs
    except (AttributeError, ValueError):  # a subclassed model has no symbolic inputs
        return False
    return bool(inputs) and bool(getattr(inputs[0], "sparse", False))


def canonical_csr(X):
    """``X`` as a float32 CSR matrix with sorted column indices and no duplicates.

    The arrays of ``X`` are shared when it already is one; otherwise copied (never densified).
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def sparse_tensor(X):
    """A ``tf.SparseTensor`` of the canonical CSR matrix ``X`` (for a chunk of rows)."""
    import tensorflow as tf

    rows = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))
    indices = np.column_stack([rows, X.indices.astype(np.int64)])
    return tf.SparseTensor(indices, X.data, X.shape)


class Layout:
    """How a traced function receives the rows, and how it cuts a batch from them.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one row.
    sparse : bool, default=False
        The rows are a CSR matrix (``sample_shape`` is then ``(n_features,)``).
    densify : bool, default=False
        Densify each sparse batch (the network reads dense input).
    """

    def __init__(self, sample_shape, sparse=False, densify=False):
        self.sample_shape = tuple(int(d) for d in sample_shape)
        self.sparse = bool(sparse)
        self.densify = bool(densify) and self.sparse

    @property
    def key(self):
        """What shapes the traced graph."""
        return (self.sample_shape, self.sparse, self.densify)

    @property
    def sparse_batches(self):
        """Whether the network receives ``tf.SparseTensor`` batches."""
        return self.sparse and not self.densify

    def specs(self):
        """The ``tf.TensorSpec`` of each tensor of :meth:`tensors`."""
        import tensorflow as tf

        if not self.sparse:
            return (tf.TensorSpec([None, *self.sample_shape], tf.float32),)
        index = tf.TensorSpec([None], tf.int64)
        return (index, index, tf.TensorSpec([None], tf.float32))

    def tensors(self, X):
        """The tensors of the rows ``X`` (as :func:`prepare` returns them)."""
        import tensorflow as tf

        if not self.sparse:
            return (tf.convert_to_tensor(X, tf.float32),)
        return (
            tf.convert_to_tensor(X.indptr.astype(np.int64)),
            tf.convert_to_tensor(X.indices.astype(np.int64)),
            tf.convert_to_tensor(X.data, tf.float32),
        )

    def gather(self, tensors, idx):
        """The batch of rows ``idx`` (int64 vector), in that order, inside a graph."""
        import tensorflow as tf

        if not self.sparse:
            return tf.gather(tensors[0], idx)
        indptr, indices, values = tensors
        spans = tf.ragged.range(tf.gather(indptr, idx), tf.gather(indptr, idx + 1))
        positions = spans.flat_values
        coordinates = tf.stack([spans.value_rowids(), tf.gather(indices, positions)], axis=1)
        n_rows = tf.size(idx, out_type=tf.int64)
        shape = tf.stack([n_rows, tf.constant(self.sample_shape[0], tf.int64)])
        batch = tf.SparseTensor(coordinates, tf.gather(values, positions), shape)
        return tf.sparse.to_dense(batch) if self.densify else batch


def prepare(X, network):
    """The rows ``X`` in the form ``network`` trains on, and their :class:`Layout`.

    Returns
    -------
    layout : Layout
    X : ndarray or scipy.sparse.csr_matrix
        float32; a CSR matrix in canonical form (dense ``X`` for a sparse-input network is
        converted to one).
    """
    sparse_network = takes_sparse(network)
    if sp.issparse(X) or sparse_network:
        X = canonical_csr(X)
        return Layout(X.shape[1:], sparse=True, densify=not sparse_network), X
    X = np.asarray(X, dtype=np.float32)
    return Layout(X.shape[1:]), X

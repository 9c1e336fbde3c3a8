"""What every network spec of :mod:`skml.networks` provides to the estimator.

A *spec* is a small scikit-learn style object (``get_params``/``set_params``, cloned with the
estimator, searchable as ``network__<param>``) that holds an architecture's parameters and
builds the Keras network for a fitted problem. It never holds fitted state: the estimator keeps
the built network in ``model_``.
"""

import numpy as np
from sklearn.base import BaseEstimator

__all__ = ["Network"]


class Network(BaseEstimator):
    """Base class of the network specs: an architecture's parameters and its ``build``.

    Subclasses set ``_parameter_constraints`` and implement :meth:`build`; they override
    :meth:`input_checks` and :meth:`as_input` when they read something other than 2-D rows.
    """

    _parameter_constraints: dict = {}

    #: Whether the network reads SciPy sparse rows (as ``tf.SparseTensor`` batches).
    accepts_sparse = False

    #: The member specs ``fit`` trains one by one and then packs with ``pack(networks,
    #: sample_shape, sparse=...)`` (:class:`~skml.networks.Ensemble`); None trains the
    #: network :meth:`build` returns.
    separate_members = None

    #: The spec of the out-of-fold networks that tune a threshold rule; None: this one.
    tuning_network = None

    def check(self):
        """Validate the parameters; raise ``ValueError`` naming the bad one. Return self."""
        self._validate_params()
        return self

    def input_checks(self):
        """Keyword arguments of :func:`sklearn.utils.validation.validate_data` for ``X``."""
        return {
            "dtype": np.float32,
            "accept_sparse": ("csr", "csc") if self.accepts_sparse else False,
        }

    def as_input(self, X, fitted_shape=None):
        """``X`` as the network reads it, and the shape of one sample.

        ``fitted_shape`` is the sample shape of the fit; a different one is a ``ValueError``.
        """
        return (X.tocsr() if hasattr(X, "tocsr") else X), tuple(X.shape[1:])

    def export_signature(self, sample_shape, n_features):
        """The input shape an export's ``serve`` takes, and the sample shape to reshape to."""
        return (None, *sample_shape), None

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the uncompiled Keras network.

        Parameters
        ----------
        sample_shape : tuple of int
            Shape of one input sample, as :meth:`as_input` returns it.
        n_outputs : int
            Output units.
        output_activation : {"sigmoid", "softmax"}
            Activation of the output layer, chosen by the estimator's output head.
        seed : int
            Seed of every random component of the network.
        sparse : bool, default=False
            Build for ``tf.SparseTensor`` input (only when :attr:`accepts_sparse`).
        context : dict or None, default=None
            What the estimator knows of the fit (``classes_``, ``target_type_``, ``loss``,
            ``optimizer``), for networks that need it (a user's build function reads it as
            scikeras' ``meta`` and ``compile_kwargs``); the built-in networks ignore it.

        Returns
        -------
        network : keras.Model
        """
        raise NotImplementedError

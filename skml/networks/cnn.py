"""CNN: the convolutional network, for images and sequences."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from skml.networks._base import Network
from skml.networks.mlp import check_units

__all__ = ["CNN"]


class CNN(Network):
    """A convolutional network: convolution blocks, global pooling, dense layers, outputs.

    Reads images ``(n, height, width, channels)``, or 2-D flattened rows together with
    ``input_shape`` (so scikit-learn transformers and splitters that want 2-D ``X`` still
    work): images ``(height, width, channels)`` or sequences ``(steps, channels)``. Each
    block is a convolution, batch normalisation, ReLU and pooling by 2 along each spatial
    axis; see :func:`skml.networks.build_cnn` for the layers.

    ``input_shape=(None, 1)`` reads each 2-D row as a sequence of ``n_features`` steps with
    one channel (a spectrum, a signal): a one-dimensional CNN for whatever width ``X`` has.

    Parameters
    ----------
    filters : tuple of int, default=(16, 32, 64)
        Filters of each convolution block.
    kernel_size : int, default=3
        Side of the convolution kernels.
    pooling : {"max", "average"} or None, default="max"
        2x2 pooling after each block.
    dense_units : tuple of int, default=(256,)
        Units of the dense layers between the pooled features and the outputs.
    dropout : float, default=0.2
        Dropout rate after each dense layer, in [0, 1).
    batch_normalization : bool, default=True
        Batch normalisation in each convolution block.
    l2 : float, default=1e-3
        L2 penalty on every kernel.
    augmentation : None, "light" or list of keras layers, default=None
        Preprocessing layers active only while training; "light" (images only) is a
        horizontal flip, a rotation of up to 5% of a turn and a zoom of up to 10%.
    backbone : keras.Model or None, default=None
        A feature extractor replacing the convolution blocks (``filters``, ``kernel_size``
        and ``pooling`` must then keep their defaults); the pooling, dense layers and outputs
        go on top of it.
    input_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of 2-D flattened image rows, or ``(steps, channels)``
        of flattened sequences (``steps`` may be None: ``n_features // channels``); None
        reads 4-D images.

    Examples
    --------
    >>> from skml import KerasMultiLabelClassifier
    >>> from skml.networks import CNN
    >>> clf = KerasMultiLabelClassifier(network=CNN(filters=(8, 16), input_shape=(8, 8, 1)))
    >>> clf.get_params()["network__filters"]
    (8, 16)
    """

    _parameter_constraints = {
        "filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"max", "average"}), None],
        "dense_units": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "l2": [Interval(Real, 0, None, closed="left")],
        "augmentation": [StrOptions({"light"}), list, None],
        "backbone": [HasMethods(["fit", "predict"]), None],
        "input_shape": ["array-like", None],
    }

    def __init__(
        self,
        filters=(16, 32, 64),
        *,
        kernel_size=3,
        pooling="max",
        dense_units=(256,),
        dropout=0.2,
        batch_normalization=True,
        l2=1e-3,
        augmentation=None,
        backbone=None,
        input_shape=None,
    ):
        self.filters = filters
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.dense_units = dense_units
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.l2 = l2
        self.augmentation = augmentation
        self.backbone = backbone
        self.input_shape = input_shape

    def check(self):
        """Validate the parameters; raise ``ValueError`` naming the bad one. Return self."""
        super().check()
        check_units("filters", self.filters)
        check_units("dense_units", self.dense_units)
        if self.backbone is not None:
            defaults = CNN()
            changed = [
                name
                for name in ("filters", "kernel_size", "pooling")
                if getattr(self, name) != getattr(defaults, name)
            ]
            if changed:
                raise ValueError(
                    f"CNN {', '.join(changed)} describe(s) the convolution blocks, which "
                    "backbone replaces; leave them at their defaults when giving a backbone."
                )
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if len(shape) == 2 and shape[0] is None:
                shape = shape[1:]  # steps from the width of X
            if len(tuple(self.input_shape)) not in (2, 3) or not all(
                isinstance(d, Integral) and not isinstance(d, bool) and d > 0 for d in shape
            ):
                raise ValueError(
                    "input_shape must be (height, width, channels) or (steps, channels) of "
                    f"positive integers (steps may be None); got {self.input_shape!r}."
                )
        return self

    def input_checks(self):
        """Keyword arguments of ``validate_data``: 4-D images unless ``input_shape``."""
        return {"dtype": np.float32, "allow_nd": self.input_shape is None}

    def as_input(self, X, fitted_shape=None):
        """Images or sequences: 2-D rows reshaped with ``input_shape``, else 4-D ``X``."""
        if self.input_shape is not None:
            return self._reshaped(X)
        if X.ndim != 4:
            raise ValueError(
                "The CNN needs X of shape (n_samples, height, width, channels), or 2-D "
                f"flattened rows together with CNN(input_shape=...); got X with shape {X.shape}."
            )
        shape = tuple(X.shape[1:])
        if fitted_shape is not None and shape != tuple(fitted_shape):
            raise ValueError(
                f"X holds images of shape {shape} (height, width, channels), but the "
                f"estimator was fitted on images of shape {tuple(fitted_shape)}."
            )
        return X, shape

    def _reshaped(self, X):
        shape = tuple(self.input_shape)
        n_columns = X.shape[1] if X.ndim == 2 else None
        if shape[0] is None and n_columns is not None and n_columns % shape[1] == 0:
            shape = (n_columns // shape[1], shape[1])
        if n_columns is None or None in shape or int(np.prod(shape)) != n_columns:
            raise ValueError(
                f"input_shape={tuple(self.input_shape)} must describe the {n_columns} columns "
                "of 2-D X: height * width * channels (or steps * channels) == the number of "
                f"columns; got X with shape {X.shape}."
            )
        shape = tuple(int(d) for d in shape)
        return X.reshape((X.shape[0], *shape)), shape

    def export_signature(self, sample_shape, n_features):
        """Flattened rows when fitted with ``input_shape`` (reshaped in the export)."""
        if self.input_shape is not None:
            return (None, int(n_features)), tuple(sample_shape)
        return (None, *sample_shape), None

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the uncompiled Keras CNN (see :meth:`Network.build`)."""
        from skml.networks._layers import build_cnn

        return build_cnn(
            tuple(sample_shape),
            n_outputs,
            filters=tuple(self.filters),
            kernel_size=self.kernel_size,
            pooling=self.pooling,
            dense_units=tuple(self.dense_units),
            dropout=self.dropout,
            batch_normalization=self.batch_normalization,
            l2=self.l2,
            augmentation=self.augmentation,
            backbone=self.backbone,
            output_activation=output_activation,
            seed=seed,
        )

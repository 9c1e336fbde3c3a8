"""Keras networks for multi-label classification.

Pure Keras: this module knows nothing of scikit-learn. Every random component (weight
initialisers, dropout) receives an explicit seed, so a network built twice with the same
``seed`` is the same network, without touching any global random state.
"""

import keras

__all__ = ["build_mlp"]


def _seeds(seed):
    """Yield a fresh integer seed per random component, derived from ``seed``."""
    i = 0
    while True:
        yield None if seed is None else int(seed) * 1_000_003 + i
        i += 1


def build_mlp(
    n_features,
    n_outputs,
    *,
    hidden_layer_sizes=(256,),
    activation="relu",
    dropout=0.0,
    batch_normalization=False,
    l2=0.0,
    output_activation="sigmoid",
    seed=None,
):
    """Build a fully connected network ending in one unit per output.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    n_outputs : int
        Number of output units: one per label for ``"sigmoid"``, one per class for
        ``"softmax"``.
    hidden_layer_sizes : tuple of int, default=(256,)
        Units per hidden layer; ``()`` gives a linear model per output.
    activation : str, default="relu"
        Activation of the hidden layers (any Keras activation name).
    dropout : float, default=0.0
        Dropout rate after each hidden layer.
    batch_normalization : bool, default=False
        Insert a ``BatchNormalization`` layer before each hidden activation.
    l2 : float, default=0.0
        L2 penalty on the kernels of every ``Dense`` layer.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        Activation of the output layer.
    seed : int or None, default=None
        Seed of the initialisers and dropout masks.

    Returns
    -------
    model : keras.Model
        Uncompiled functional model mapping ``(batch, n_features)`` to
        ``(batch, n_outputs)`` probabilities.
    """
    seeds = _seeds(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(n_features,), name="features")
    x = inputs
    for i, units in enumerate(hidden_layer_sizes):
        x = keras.layers.Dense(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            kernel_regularizer=regularizer,
            use_bias=not batch_normalization,
            name=f"dense_{i}",
        )(x)
        if batch_normalization:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        x = keras.layers.Activation(activation, name=f"activation_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=next(seeds), name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        n_outputs,
        activation=output_activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
        kernel_regularizer=regularizer,
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name="mlp")

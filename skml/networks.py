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


_POOLING = {"max": keras.layers.MaxPooling2D, "average": keras.layers.AveragePooling2D}
_GLOBAL_POOLING = {
    "average": keras.layers.GlobalAveragePooling2D,
    "max": keras.layers.GlobalMaxPooling2D,
}


def _check_positive_ints(name, values, allow_empty=True):
    values = tuple(values)
    if not allow_empty and not values:
        raise ValueError(f"{name} must not be empty, got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must contain positive ints, got {values!r}")
    return values


def _check_rate(name, value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def _augmentation_layers(augmentation, seeds):
    if augmentation is None:
        return []
    if isinstance(augmentation, str):
        if augmentation != "light":
            raise ValueError(
                f'augmentation must be None, "light" or a list of Keras layers, '
                f"got {augmentation!r}"
            )
        return [
            keras.layers.RandomFlip("horizontal", seed=next(seeds), name="random_flip"),
            keras.layers.RandomRotation(0.05, seed=next(seeds), name="random_rotation"),
            keras.layers.RandomZoom(0.1, seed=next(seeds), name="random_zoom"),
        ]
    layers = list(augmentation)
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                f"augmentation must contain Keras layers, got {type(layer).__name__}: {layer!r}"
            )
    return layers


def build_cnn(
    input_shape,
    n_outputs,
    *,
    filters=(32, 64),
    kernel_size=3,
    pooling="max",
    conv_dropout=0.0,
    global_pooling=None,
    dense_units=(128,),
    dropout=0.25,
    batch_normalization=True,
    l2=0.0,
    augmentation=None,
    backbone=None,
    output_activation="sigmoid",
    seed=None,
):
    """Build a convolutional network for images ending in one unit per output."""
    seeds = _seeds(seed)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    filters = _check_positive_ints("filters", filters)
    dense_units = _check_positive_ints("dense_units", dense_units)
    if pooling is not None and pooling not in _POOLING:
        raise ValueError(f'pooling must be "max", "average" or None, got {pooling!r}')
    if global_pooling is not None and global_pooling not in _GLOBAL_POOLING:
        raise ValueError(
            f'global_pooling must be "average", "max" or None, got {global_pooling!r}'
        )
    _check_rate("dropout", dropout)
    _check_rate("conv_dropout", conv_dropout)
    regularizer = keras.regularizers.L2(l2) if l2 else None

    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for layer in _augmentation_layers(augmentation, seeds):
        x = layer(x)
    if backbone is not None:
        x = backbone(x)
        if len(x.shape) == 4:
            x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
        elif len(x.shape) > 2:
            x = keras.layers.Flatten(name="flatten")(x)
    else:
        for i, n_filters in enumerate(filters):
            x = keras.layers.Conv2D(
                n_filters,
                kernel_size,
                padding="same",
                kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
                kernel_regularizer=regularizer,
                use_bias=not batch_normalization,
                name=f"conv_{i}",
            )(x)
            if batch_normalization:
                x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = keras.layers.Activation("relu", name=f"activation_{i}")(x)
            if pooling is not None:
                x = _POOLING[pooling](2, name=f"pool_{i}")(x)
            if conv_dropout:
                x = keras.layers.SpatialDropout2D(
                    conv_dropout, seed=next(seeds), name=f"conv_dropout_{i}"
                )(x)
        if global_pooling is None:
            x = keras.layers.Flatten(name="flatten")(x)
        else:
            x = _GLOBAL_POOLING[global_pooling](name="global_pool")(x)
    for i, units in enumerate(dense_units):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            kernel_regularizer=regularizer,
            name=f"dense_{i}",
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=next(seeds), name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(
        n_outputs,
        activation=output_activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
        kernel_regularizer=regularizer,
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name="cnn")

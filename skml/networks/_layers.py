"""The Keras layer stacks of the built-in networks (pure Keras: no scikit-learn).

:mod:`skml.networks` holds the estimator-facing specs (:class:`~skml.networks.MLP`,
:class:`~skml.networks.CNN`); their ``build`` methods call the functions here. Every random
component (weight initialisers, dropout, augmentation) receives an explicit seed, so a network
built twice with the same ``seed`` is the same network, without touching any global random
state.
"""

import numbers

import keras

__all__ = ["build_cnn", "build_mlp"]

# Every layer computes in float32 whatever the user's Keras ``floatx`` (for example float16
# in ``~/.keras/keras.json``): skml's training and inference functions are traced for float32.
_FLOAT = "float32"


def _seeds(seed):
    """Yield a fresh integer seed per random component, derived from ``seed``."""
    i = 0
    while True:
        # Kept below 2**31 - 1: JAX seeds are uint32, TensorFlow's int64.
        yield None if seed is None else (int(seed) * 1_000_003 + i) % (2**31 - 1)
        i += 1


def _output_layer(n_outputs, activation, regularizer, seed):
    """The last layer of every built-in network: one unit per output."""
    return keras.layers.Dense(
        n_outputs,
        activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        kernel_regularizer=regularizer,
        dtype=_FLOAT,
        name="output",
    )


def periodic_embedding(n_frequencies, units, scale, seed):
    """The periodic embedding layer of the built-in networks (before their first layer)."""
    from skml.networks._embeddings import PeriodicEmbedding

    return PeriodicEmbedding(
        n_frequencies=n_frequencies,
        units=units,
        scale=scale,
        seed=seed,
        dtype=_FLOAT,
        name="periodic_embedding",
    )


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
    sparse=False,
    seed=None,
    embedding=None,
    embedding_scale=0.01,
    embedding_frequencies=16,
    embedding_units=16,
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
    sparse : bool, default=False
        Take sparse input tensors (``keras.Input(sparse=True)``), so wide sparse rows are never
        densified.
    seed : int or None, default=None
        Seed of the initialisers and dropout masks.
    embedding : {None, "periodic"}, default=None
        ``"periodic"`` embeds each feature first
        (:class:`skml.networks._embeddings.PeriodicEmbedding`).
    embedding_scale : float, default=0.01
        Standard deviation of the periodic embeddings' initial frequencies.
    embedding_frequencies : int, default=16
        Trainable frequencies per feature of the periodic embeddings.
    embedding_units : int, default=16
        Width of each feature's periodic embedding.

    Returns
    -------
    model : keras.Model
        Uncompiled functional model mapping ``(batch, n_features)`` to
        ``(batch, n_outputs)`` probabilities.
    """
    seeds = _seeds(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(n_features,), sparse=sparse, dtype=_FLOAT, name="features")
    x = inputs
    if embedding == "periodic":
        x = periodic_embedding(
            embedding_frequencies, embedding_units, embedding_scale, next(seeds)
        )(x)
    for i, units in enumerate(hidden_layer_sizes):
        x = keras.layers.Dense(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            kernel_regularizer=regularizer,
            use_bias=not batch_normalization,
            dtype=_FLOAT,
            name=f"dense_{i}",
        )(x)
        if batch_normalization:
            x = keras.layers.BatchNormalization(dtype=_FLOAT, name=f"batch_norm_{i}")(x)
        x = keras.layers.Activation(activation, dtype=_FLOAT, name=f"activation_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=next(seeds), dtype=_FLOAT, name=f"dropout_{i}")(
                x
            )
    outputs = _output_layer(n_outputs, output_activation, regularizer, next(seeds))(x)
    return keras.Model(inputs, outputs, name="mlp")


# Layer classes by the number of spatial axes: 1 for sequences, 2 for images.
_CONV = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}
_SPATIAL_DROPOUT = {1: keras.layers.SpatialDropout1D, 2: keras.layers.SpatialDropout2D}
_POOLING = {
    "max": {1: keras.layers.MaxPooling1D, 2: keras.layers.MaxPooling2D},
    "average": {1: keras.layers.AveragePooling1D, 2: keras.layers.AveragePooling2D},
}
_GLOBAL_POOLING = {
    "max": {1: keras.layers.GlobalMaxPooling1D, 2: keras.layers.GlobalMaxPooling2D},
    "average": {1: keras.layers.GlobalAveragePooling1D, 2: keras.layers.GlobalAveragePooling2D},
}


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_ints(name, values, *, allow_empty=True):
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive ints, got {values!r}") from None
    if not all(_is_int(v) and v >= 1 for v in values) or not (values or allow_empty):
        qualifier = "a tuple" if allow_empty else "a non-empty tuple"
        raise ValueError(f"{name} must be {qualifier} of positive ints, got {values!r}")
    return tuple(int(v) for v in values)


def _check_rate(name, value):
    if not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")


def _augmentation_layers(augmentation, seeds, rank=2):
    if augmentation is None:
        return []
    if isinstance(augmentation, str):
        if augmentation != "light":
            raise ValueError(
                f'augmentation must be None, "light" or a list of Keras layers, '
                f"got {augmentation!r}"
            )
        if rank != 2:
            raise ValueError(
                'augmentation="light" flips, rotates and zooms images; sequences '
                "(input_shape (steps, channels)) take None or a list of Keras layers."
            )
        return [
            keras.layers.RandomFlip(
                "horizontal", seed=next(seeds), dtype=_FLOAT, name="random_flip"
            ),
            keras.layers.RandomRotation(
                0.05, seed=next(seeds), dtype=_FLOAT, name="random_rotation"
            ),
            keras.layers.RandomZoom(0.1, seed=next(seeds), dtype=_FLOAT, name="random_zoom"),
        ]
    layers = list(augmentation) if isinstance(augmentation, list | tuple) else [augmentation]
    for layer in layers:
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(
                f'augmentation must be None, "light" or a list of Keras layers, '
                f"got an element {layer!r}"
            )
    return layers


def build_cnn(
    input_shape,
    n_outputs,
    *,
    filters=(16, 32, 64),
    kernel_size=3,
    pooling="max",
    conv_dropout=0.0,
    global_pooling="max",
    dense_units=(128,),
    dropout=0.25,
    batch_normalization=True,
    l2=0.0,
    augmentation=None,
    backbone=None,
    output_activation="sigmoid",
    seed=None,
):
    """Build a convolutional network for images or sequences ending in one unit per output.

    The network is ``[augmentation] -> features -> [global pooling] -> dense head -> output``.
    The features are either the convolution blocks described by ``filters`` or a
    user-supplied ``backbone``. Each convolution block is ``Conv2D(f, kernel_size,
    padding="same")``, ``BatchNormalization`` (optional), ReLU, 2x2 pooling (optional) and
    ``SpatialDropout2D`` (optional). A sequence input ``(steps, channels)`` (a spectrum, a
    signal, the columns of a table read in order) gets the same blocks in one dimension:
    ``Conv1D``, pooling by 2 and ``SpatialDropout1D``.

    The defaults (three blocks of 16, 32 and 64 filters, global max pooling, one dense layer
    of 128 units) suit small images such as the 32x32 canvases of
    :func:`skml.datasets.make_multilabel_digits`: about 34,000 weights, a few seconds per
    epoch of 4,000 images on two CPU cores. Global max pooling answers "is this pattern
    anywhere in the image?", which is the question a multi-label image task asks of each
    label, and it keeps the head small whatever the image size.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one image, ``(height, width, channels)``, or of one sequence,
        ``(steps, channels)``.
    n_outputs : int
        Number of output units: one per label for ``"sigmoid"``, one per class for
        ``"softmax"``.
    filters : tuple of int, default=(16, 32, 64)
        Filters of each convolution block; ignored when ``backbone`` is given.
    kernel_size : int or tuple of int, default=3
        Size of the convolution windows along each spatial axis (height and width, or
        steps).
    pooling : {"max", "average"} or None, default="max"
        2x2 pooling at the end of each block, which halves height and width; None keeps
        the full resolution. Each pooling step needs an image at least twice as large.
    conv_dropout : float, default=0.0
        Rate of ``SpatialDropout2D`` (whole feature maps dropped) after each block.
    global_pooling : {"max", "average"} or None, default="max"
        How the last feature map (of the blocks or of a 4-D ``backbone`` output) becomes a
        vector: global max or average pooling over height and width, or None to flatten
        it (more weights, and tied to the image size).
    dense_units : tuple of int, default=(128,)
        Units of the ReLU layers of the head; ``()`` connects the features to the output.
    dropout : float, default=0.25
        Dropout rate after each dense layer of the head.
    batch_normalization : bool, default=True
        Insert a ``BatchNormalization`` layer before each block's activation. Its momentum
        is 0.9 so that the moving statistics used at inference settle within the few
        hundred steps of a short fit (Keras' 0.99 needs thousands).
    l2 : float, default=0.0
        L2 penalty on the kernels of every ``Conv2D`` and ``Dense`` layer built here.
    augmentation : None, "light" or list of keras.layers.Layer, default=None
        Layers applied to the inputs. ``"light"`` (images only) is ``RandomFlip("horizontal")``,
        ``RandomRotation(0.05)`` and ``RandomZoom(0.1)``; a horizontal flip changes what
        some symbols mean (digits, letters), so choose it knowingly. Keras' random
        preprocessing layers act only while training and pass images through unchanged at
        inference. Layers given in a list are used as they are, with their own seeds.
    backbone : keras.Model or keras.layers.Layer, default=None
        A network mapping the images (after augmentation) to a feature map
        ``(batch, h, w, c)`` or a feature vector ``(batch, d)``, for instance a
        ``keras.applications`` model built with ``include_top=False``. It replaces the
        convolution blocks; the head is put on top. The instance itself becomes a layer of
        the returned model, so its weights are shared with it and are trained with it
        unless you set ``backbone.trainable = False`` before compiling (in Keras 3 a frozen
        backbone also runs its ``BatchNormalization`` layers in inference mode). Any input
        scaling a pretrained backbone expects is yours to do, in the data or in the
        backbone.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        Activation of the output layer.
    seed : int or None, default=None
        Seed of the initialisers, the dropout masks and the ``"light"`` augmentation. The
        same seed builds the same network; no global random state is read or changed.

    Returns
    -------
    model : keras.Model
        Uncompiled functional model mapping ``(batch, *input_shape)`` inputs to
        ``(batch, n_outputs)`` probabilities.

    Raises
    ------
    ValueError
        If an argument is out of range, or if the image is too small for the number of
        pooling steps.
    """
    input_shape, filters, kernel_sizes, dense_units = _check_cnn_arguments(
        input_shape,
        n_outputs,
        filters=filters,
        kernel_size=kernel_size,
        pooling=pooling,
        conv_dropout=conv_dropout,
        global_pooling=global_pooling,
        dense_units=dense_units,
        dropout=dropout,
        l2=l2,
        backbone=backbone,
    )
    seeds = _seeds(seed)
    rank = len(input_shape) - 1
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=input_shape, dtype=_FLOAT, name="images" if rank == 2 else "inputs")
    x = inputs
    for layer in _augmentation_layers(augmentation, seeds, rank):
        x = layer(x)
    if backbone is not None:
        x = backbone(x)
    else:
        x = _conv_blocks(
            x,
            filters,
            kernel_sizes,
            pooling,
            conv_dropout,
            batch_normalization,
            regularizer,
            seeds,
        )
    if len(x.shape) in (3, 4) and global_pooling is not None:
        pool = _GLOBAL_POOLING[global_pooling][len(x.shape) - 2]
        x = pool(dtype=_FLOAT, name="global_pool")(x)
    elif len(x.shape) > 2:
        x = keras.layers.Flatten(dtype=_FLOAT, name="flatten")(x)
    for i, units in enumerate(dense_units):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            kernel_regularizer=regularizer,
            dtype=_FLOAT,
            name=f"dense_{i}",
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=next(seeds), dtype=_FLOAT, name=f"dropout_{i}")(
                x
            )
    outputs = _output_layer(n_outputs, output_activation, regularizer, next(seeds))(x)
    return keras.Model(inputs, outputs, name="cnn")


def _check_cnn_arguments(
    input_shape,
    n_outputs,
    *,
    filters,
    kernel_size,
    pooling,
    conv_dropout,
    global_pooling,
    dense_units,
    dropout,
    l2,
    backbone,
):
    """Raise ``ValueError`` for a bad :func:`build_cnn` argument; return the normalised ones."""
    try:
        input_shape = tuple(input_shape)
    except TypeError:
        input_shape = (input_shape,)
    if len(input_shape) not in (2, 3) or not all(_is_int(v) and v >= 1 for v in input_shape):
        raise ValueError(
            "input_shape must be (height, width, channels) or (steps, channels) of positive "
            f"ints, got {input_shape!r}"
        )
    rank = len(input_shape) - 1
    if not _is_int(n_outputs) or n_outputs < 1:
        raise ValueError(f"n_outputs must be a positive int, got {n_outputs!r}")
    filters = _check_positive_ints("filters", filters, allow_empty=backbone is not None)
    kernel_sizes = (kernel_size,) * rank if _is_int(kernel_size) else kernel_size
    if not (
        isinstance(kernel_sizes, tuple | list)
        and len(kernel_sizes) == rank
        and all(_is_int(v) and v >= 1 for v in kernel_sizes)
    ):
        raise ValueError(
            f"kernel_size must be a positive int or {rank} of them (one per spatial axis), "
            f"got {kernel_size!r}"
        )
    if pooling not in (*_POOLING, None):
        raise ValueError(f'pooling must be "max", "average" or None, got {pooling!r}')
    if global_pooling not in (*_GLOBAL_POOLING, None):
        raise ValueError(
            f'global_pooling must be "max", "average" or None, got {global_pooling!r}'
        )
    _check_rate("conv_dropout", conv_dropout)
    _check_rate("dropout", dropout)
    dense_units = _check_positive_ints("dense_units", dense_units)
    if not isinstance(l2, numbers.Real) or l2 < 0:
        raise ValueError(f"l2 must be a float >= 0, got {l2!r}")
    if backbone is not None and not isinstance(backbone, keras.layers.Layer):
        raise ValueError(f"backbone must be None or a Keras model, got {backbone!r}")
    if backbone is None and pooling is not None:
        smallest = 2 ** len(filters)
        if min(input_shape[:rank]) < smallest:
            axes = "height and width" if rank == 2 else "steps"
            raise ValueError(
                f"input_shape {input_shape!r} is too small for {len(filters)} pooling steps "
                f"(each halves {axes}): {axes} must be at least {smallest}; use fewer "
                f"filters or pooling=None"
            )
    return input_shape, filters, kernel_sizes, dense_units


def _conv_blocks(
    x, filters, kernel_sizes, pooling, conv_dropout, batch_normalization, regularizer, seeds
):
    """Convolution, batch normalisation, ReLU, pooling and spatial dropout, per filter count."""
    rank = len(kernel_sizes)
    for i, n_filters in enumerate(filters):
        x = _CONV[rank](
            n_filters,
            tuple(kernel_sizes),
            padding="same",
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            kernel_regularizer=regularizer,
            use_bias=not batch_normalization,
            dtype=_FLOAT,
            name=f"conv_{i}",
        )(x)
        if batch_normalization:
            x = keras.layers.BatchNormalization(
                momentum=0.9, dtype=_FLOAT, name=f"batch_norm_{i}"
            )(x)
        x = keras.layers.Activation("relu", dtype=_FLOAT, name=f"activation_{i}")(x)
        if pooling is not None:
            x = _POOLING[pooling][rank](2, dtype=_FLOAT, name=f"pool_{i}")(x)
        if conv_dropout:
            x = _SPATIAL_DROPOUT[rank](
                conv_dropout, seed=next(seeds), dtype=_FLOAT, name=f"conv_dropout_{i}"
            )(x)
    return x

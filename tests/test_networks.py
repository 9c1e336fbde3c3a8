"""Tests of skml.networks: shapes, seeding, augmentation at inference, backbones, arguments."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from skml.networks import CNN, MLP, build_cnn, build_mlp

N_OUTPUTS = 4
IMAGE_SHAPE = (8, 8, 1)
# Tiny networks: the tests check wiring, not capacity.
TINY_CNN = dict(filters=(4, 8), dense_units=(8,))


def _images(n=6, shape=IMAGE_SHAPE, seed=0):
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def _assert_same_weights(model_a, model_b):
    weights_a, weights_b = model_a.get_weights(), model_b.get_weights()
    assert len(weights_a) == len(weights_b)
    for a, b in zip(weights_a, weights_b, strict=True):
        assert_array_equal(a, b)


def _differs(model_a, model_b):
    return any(
        not np.array_equal(a, b)
        for a, b in zip(model_a.get_weights(), model_b.get_weights(), strict=True)
    )


# ------------------------------------------------------------------------------ build_mlp


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"hidden_layer_sizes": ()},
        {"hidden_layer_sizes": (8, 4), "dropout": 0.5, "batch_normalization": True, "l2": 1e-3},
    ],
)
def test_build_mlp_output_shape_and_range(kwargs):
    model = build_mlp(5, N_OUTPUTS, seed=0, **kwargs)
    X = np.random.default_rng(0).normal(size=(7, 5)).astype("float32")
    proba = _numpy(model(X, training=False))
    assert model.output_shape == (None, N_OUTPUTS)
    assert proba.shape == (7, N_OUTPUTS)
    assert np.all((proba > 0) & (proba < 1))


def test_build_mlp_softmax_rows_sum_to_one():
    model = build_mlp(5, N_OUTPUTS, hidden_layer_sizes=(8,), output_activation="softmax", seed=0)
    proba = _numpy(model(np.ones((3, 5), dtype="float32")))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_build_mlp_seed_gives_identical_weights():
    kwargs = dict(hidden_layer_sizes=(8, 4), dropout=0.2, seed=3)
    _assert_same_weights(build_mlp(5, N_OUTPUTS, **kwargs), build_mlp(5, N_OUTPUTS, **kwargs))
    assert _differs(
        build_mlp(5, N_OUTPUTS, hidden_layer_sizes=(8,), seed=3),
        build_mlp(5, N_OUTPUTS, hidden_layer_sizes=(8,), seed=4),
    )


# ------------------------------------------------------------------------------ build_cnn


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"pooling": "average", "global_pooling": "average", "conv_dropout": 0.2},
        {"pooling": None, "global_pooling": None, "batch_normalization": False, "l2": 1e-3},
        {"kernel_size": (3, 5), "dense_units": (), "dropout": 0.0},
        {"augmentation": "light"},
    ],
)
def test_build_cnn_output_shape_and_range(kwargs):
    model = build_cnn(IMAGE_SHAPE, N_OUTPUTS, seed=0, **{**TINY_CNN, **kwargs})
    proba = _numpy(model(_images(), training=False))
    assert model.output_shape == (None, N_OUTPUTS)
    assert proba.shape == (6, N_OUTPUTS)
    assert np.all((proba > 0) & (proba < 1))


def test_build_cnn_default_architecture():
    model = build_cnn((32, 32, 1), 13, seed=0)
    assert model.output_shape == (None, 13)
    names = [layer.name for layer in model.layers]
    assert names[0] == "images" and names[-1] == "output"
    assert "global_pool" in names and "flatten" not in names
    n_conv = sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)
    assert n_conv == len(build_cnn.__kwdefaults__["filters"])


def test_build_cnn_non_square_rgb_and_softmax():
    model = build_cnn((8, 12, 3), 3, output_activation="softmax", seed=0, **TINY_CNN)
    proba = _numpy(model(_images(shape=(8, 12, 3))))
    assert proba.shape == (6, 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("augmentation", [None, "light"])
def test_build_cnn_seed_gives_identical_weights(augmentation):
    kwargs = dict(TINY_CNN, conv_dropout=0.1, augmentation=augmentation, seed=7)
    model_a = build_cnn(IMAGE_SHAPE, N_OUTPUTS, **kwargs)
    # The global Keras seed must not matter: every component has its own seed.
    keras.utils.set_random_seed(123)
    model_b = build_cnn(IMAGE_SHAPE, N_OUTPUTS, **kwargs)
    _assert_same_weights(model_a, model_b)
    # The seeds also drive dropout and augmentation: same noise in training mode.
    X = _images()
    assert_allclose(_numpy(model_a(X, training=True)), _numpy(model_b(X, training=True)))


def test_build_cnn_different_seed_gives_different_weights():
    model_a = build_cnn(IMAGE_SHAPE, N_OUTPUTS, seed=0, **TINY_CNN)
    model_b = build_cnn(IMAGE_SHAPE, N_OUTPUTS, seed=1, **TINY_CNN)
    assert _differs(model_a, model_b)


@pytest.mark.parametrize(
    "augmentation",
    ["light", [keras.layers.RandomTranslation(0.2, 0.2, seed=0), keras.layers.GaussianNoise(0.5)]],
    ids=["light", "layers"],
)
def test_build_cnn_augmentation_only_while_training(augmentation):
    # No dropout and no batch normalisation: augmentation is the only train/test difference.
    kwargs = dict(TINY_CNN, dropout=0.0, batch_normalization=False, seed=0)
    model = build_cnn(IMAGE_SHAPE, N_OUTPUTS, augmentation=augmentation, **kwargs)
    plain = build_cnn(IMAGE_SHAPE, N_OUTPUTS, **kwargs)
    X = _images()

    first = _numpy(model(X, training=False))
    assert_array_equal(_numpy(model(X, training=False)), first)
    assert_allclose(_numpy(model.predict(X, verbose=0)), first, rtol=1e-5, atol=1e-6)
    assert not np.allclose(_numpy(model(X, training=True)), first)
    # Without augmentation, training mode changes nothing.
    assert_allclose(_numpy(plain(X, training=True)), _numpy(plain(X, training=False)))


def test_build_cnn_light_augmentation_layers():
    model = build_cnn(IMAGE_SHAPE, N_OUTPUTS, augmentation="light", seed=0, **TINY_CNN)
    kinds = [type(layer) for layer in model.layers]
    for kind in (keras.layers.RandomFlip, keras.layers.RandomRotation, keras.layers.RandomZoom):
        assert kind in kinds


def _backbone(flat):
    layers = [
        keras.Input(shape=IMAGE_SHAPE),
        keras.layers.Conv2D(4, 3, kernel_initializer=keras.initializers.GlorotUniform(seed=0)),
    ]
    if flat:
        layers.append(keras.layers.GlobalMaxPooling2D())
    return keras.Sequential(layers, name="my_backbone")


@pytest.mark.parametrize("flat", [False, True], ids=["feature_map", "vector"])
def test_build_cnn_puts_head_on_backbone(flat):
    backbone = _backbone(flat)
    weights = backbone.get_weights()
    model = build_cnn(IMAGE_SHAPE, N_OUTPUTS, backbone=backbone, dense_units=(8,), seed=0)

    assert model.get_layer("my_backbone") is backbone
    names = [layer.name for layer in model.layers]
    assert ("global_pool" in names) is not flat
    assert not any(name.startswith("conv_") for name in names)
    assert _numpy(model(_images(), training=False)).shape == (6, N_OUTPUTS)
    # The backbone is used, not rebuilt: its weights are untouched and shared.
    _assert_same_weights(backbone, keras.Model(backbone.inputs, backbone.outputs))
    for a, b in zip(backbone.get_weights(), weights, strict=True):
        assert_array_equal(a, b)
    assert backbone.trainable


def test_build_cnn_frozen_backbone_is_not_trained():
    backbone = _backbone(flat=False)
    backbone.trainable = False
    model = build_cnn(IMAGE_SHAPE, N_OUTPUTS, backbone=backbone, dense_units=(), seed=0)
    n_backbone = len(backbone.weights)
    assert len(model.non_trainable_weights) == n_backbone
    assert len(model.trainable_weights) == 2  # the output kernel and bias
    before = backbone.get_weights()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    y = np.random.default_rng(0).integers(0, 2, size=(6, N_OUTPUTS)).astype("float32")
    model.fit(_images(), y, epochs=1, batch_size=6, verbose=0)
    for a, b in zip(backbone.get_weights(), before, strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_shape": (8,)}, "input_shape must be"),
        ({"input_shape": (8, 8, 1, 1)}, "input_shape must be"),
        ({"input_shape": (8, 8, 0)}, "input_shape must be"),
        ({"n_outputs": 0}, "n_outputs must be"),
        ({"filters": (4, 0)}, "filters must"),
        ({"filters": (4, 2.5)}, "filters must"),
        ({"filters": ()}, "filters must"),
        ({"kernel_size": 0}, "kernel_size must"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size must"),
        ({"pooling": "min"}, "pooling must be"),
        ({"global_pooling": "sum"}, "global_pooling must be"),
        ({"filters": (4, 4, 4, 4)}, "too small"),
        ({"input_shape": (8, 3, 1)}, "too small"),
        ({"input_shape": (3, 1)}, "too small"),
        ({"input_shape": (8, 1), "kernel_size": (3, 3)}, "kernel_size must"),
        ({"input_shape": (8, 1), "augmentation": "light"}, "sequences"),
        ({"dropout": 1.0}, "dropout must be"),
        ({"conv_dropout": -0.1}, "conv_dropout must be"),
        ({"dense_units": (8, -1)}, "dense_units must"),
        ({"l2": -1.0}, "l2 must be"),
        ({"augmentation": "heavy"}, "augmentation must be"),
        ({"augmentation": ["flip"]}, "augmentation must"),
        ({"backbone": "resnet"}, "backbone must be"),
    ],
)
def test_build_cnn_bad_arguments(kwargs, match):
    kwargs = {"input_shape": IMAGE_SHAPE, "n_outputs": N_OUTPUTS, **TINY_CNN, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


@pytest.mark.parametrize("pooling", ["max", "average", None])
def test_build_cnn_on_sequences(pooling):
    # (steps, channels): the same blocks in one dimension.
    model = build_cnn((8, 2), N_OUTPUTS, pooling=pooling, conv_dropout=0.1, seed=0, **TINY_CNN)
    assert any(isinstance(layer, keras.layers.Conv1D) for layer in model.layers)
    proba = _numpy(model(np.random.default_rng(0).random((6, 8, 2), dtype=np.float32)))
    assert proba.shape == (6, N_OUTPUTS)
    assert np.all((proba > 0) & (proba < 1))


def test_build_cnn_small_image_without_pooling():
    # Pooling is what needs room; without it any image size works.
    model = build_cnn((3, 3, 1), N_OUTPUTS, filters=(4, 4, 4), pooling=None, seed=0)
    assert _numpy(model(_images(shape=(3, 3, 1)))).shape == (6, N_OUTPUTS)


# ------------------------------------------------------------------------------ learning


@pytest.mark.slow
def test_build_cnn_learns_multilabel_digits():
    from sklearn.metrics import f1_score

    from skml.datasets import make_multilabel_digits

    data = make_multilabel_digits(2000, canvas_size=32, max_digits=3, random_state=0)
    X, y = data.data, data.target.astype("float32")
    X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]

    keras.utils.set_random_seed(0)  # fit's shuffling draws from the global state
    model = build_cnn(X.shape[1:], y.shape[1], seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(X_train, y_train, epochs=8, batch_size=32, verbose=0)
    y_pred = model.predict(X_test, verbose=0) >= 0.5

    # Predicting every label everywhere scores about 0.43 here, the majority rule 0.18; the
    # default CNN reaches about 0.8 after 8 epochs (about 10 s on two CPU cores).
    all_ones = f1_score(y_test, np.ones_like(y_test), average="macro")
    score = f1_score(y_test, y_pred, average="macro", zero_division=0)
    assert score > all_ones + 0.15


# ------------------------------------------------------------------- the specs


@pytest.mark.slow
def test_specs_are_estimator_like_and_do_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys; from skml.networks import CNN, MLP; "
        "MLP(dropout=0.1).get_params(); CNN().set_params(filters=(4,)); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize(
    "spec, message",
    [
        (MLP(dropout=1.0), "'dropout' parameter of MLP"),
        (MLP(l2=-1.0), "'l2' parameter of MLP"),
        (MLP((4, 0)), "hidden_layer_sizes must be a tuple of positive integers"),
        (MLP(embedding="piecewise"), "'embedding' parameter of MLP"),
        (MLP(embedding="periodic", embedding_scale=0.0), "'embedding_scale' parameter of MLP"),
        (
            MLP(embedding=None, embedding_scale=0.1),
            "embedding_scale=0.1 applies to the periodic embeddings only; embedding is None",
        ),
        (
            MLP(embedding=None, embedding_units=8),
            "embedding_units=8 applies to the periodic embeddings only",
        ),
        (MLP(embedding_frequencies=0), "'embedding_frequencies' parameter of MLP"),
        (MLP(embedding_units=2.5), "'embedding_units' parameter of MLP"),
        (CNN(filters=(4, -1)), "filters must be a tuple of positive integers"),
        (CNN(dense_units=(2.5,)), "dense_units must be a tuple of positive integers"),
        (CNN(pooling="median"), "'pooling' parameter of CNN"),
        (CNN(input_shape=(8, 8, 1, 1)), r"input_shape must be \(height, width, channels\)"),
        (CNN(input_shape=(8,)), r"or \(steps, channels\)"),
        (CNN(input_shape=(8, None)), r"steps may be None"),
    ],
)
def test_spec_check_names_the_bad_parameter(spec, message):
    with pytest.raises(ValueError, match=message):
        spec.check()


def test_cnn_backbone_refuses_block_parameters():
    backbone = keras.Sequential([keras.Input(IMAGE_SHAPE), keras.layers.Conv2D(2, 3)])
    CNN(backbone=backbone).check()  # the defaults are fine
    with pytest.raises(ValueError, match="filters, kernel_size describe"):
        CNN(backbone=backbone, filters=(8,), kernel_size=5).check()


def test_spec_build_matches_the_builder():
    spec = MLP((6,), dropout=0.0, l2=0.0)
    built = spec.build((5,), N_OUTPUTS, output_activation="sigmoid", seed=3)
    embedded = build_mlp(5, N_OUTPUTS, hidden_layer_sizes=(6,), seed=3, embedding="periodic")
    _assert_same_weights(built, embedded)
    plain = MLP((6,), dropout=0.0, embedding=None).build(
        (5,), N_OUTPUTS, output_activation="sigmoid", seed=3
    )
    _assert_same_weights(plain, build_mlp(5, N_OUTPUTS, hidden_layer_sizes=(6,), seed=3))
    cnn = CNN(filters=(4,), dense_units=(8,)).build(
        IMAGE_SHAPE, N_OUTPUTS, output_activation="softmax", seed=1
    )
    assert cnn.output_shape == (None, N_OUTPUTS)
    assert cnn.layers[-1].activation.__name__ == "softmax"


def test_auto_embedding_embeds_rows_of_at_most_512_features():
    from skml.networks.mlp import AUTO_EMBEDDING_FEATURES

    assert AUTO_EMBEDDING_FEATURES == 512
    for n_features, embedded in ((512, True), (513, False)):
        for sparse in (False, True):
            model = MLP((4,)).build(
                (n_features,), N_OUTPUTS, output_activation="sigmoid", seed=0, sparse=sparse
            )
            names = [layer.name for layer in model.layers]
            assert ("periodic_embedding" in names) is embedded, (n_features, sparse)
    assert MLP(embedding="periodic").embedding_for(10_000) == "periodic"
    assert MLP(embedding=None).embedding_for(3) is None


def test_periodic_embedding_widens_each_feature_and_reads_sparse_rows():
    from skml.networks._embeddings import PeriodicEmbedding

    spec = MLP(
        (6,),
        embedding="periodic",
        embedding_scale=0.1,
        embedding_frequencies=48,
        embedding_units=24,
    )
    model = spec.build((5,), N_OUTPUTS, output_activation="sigmoid", seed=3)
    embedding = model.get_layer("periodic_embedding")
    assert isinstance(embedding, PeriodicEmbedding)
    assert embedding.output.shape == (None, 5 * 24)
    assert embedding.frequencies.shape == (5, 48) and embedding.kernel.shape == (5, 96, 24)
    assert 0.05 < float(np.std(embedding.frequencies.numpy())) < 0.15  # the scale
    again = spec.build((5,), N_OUTPUTS, output_activation="sigmoid", seed=3)
    _assert_same_weights(model, again)
    default = MLP((6,)).build((5,), N_OUTPUTS, output_activation="sigmoid", seed=3)
    assert default.get_layer("periodic_embedding").kernel.shape == (5, 32, 16)
    # Each feature has its own embedding: changing one feature moves only its block.
    x = np.zeros((2, 5), np.float32)
    x[1, 2] = 1.0
    out = keras.ops.convert_to_numpy(embedding(x))
    moved = np.flatnonzero(out[0] != out[1])
    assert moved.size and moved.min() >= 2 * 24 and moved.max() < 3 * 24
    # Sparse rows: the same network, the same outputs (a zero still embeds to a vector).
    sparse = spec.build((5,), N_OUTPUTS, output_activation="sigmoid", seed=3, sparse=True)
    _assert_same_weights(model, sparse)
    import tensorflow as tf

    rows = tf.sparse.from_dense(tf.constant(x))
    assert_allclose(
        keras.ops.convert_to_numpy(sparse(rows)), keras.ops.convert_to_numpy(model(x)), atol=1e-6
    )


def test_periodic_embedding_trains_the_same_network_on_sparse_input(multilabel_data):
    import scipy.sparse as sp

    from skml import KerasMultiLabelClassifier

    X, y = multilabel_data
    clf = KerasMultiLabelClassifier(
        network=MLP((8,), embedding="periodic"), epochs=3, random_state=0
    )
    dense = clone(clf).fit(X, y)
    proba = dense.predict_proba(X)
    assert proba.shape == y.shape and np.isfinite(proba).all()
    sparse = clone(clf).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-5)
    assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), proba, atol=1e-5, rtol=0)

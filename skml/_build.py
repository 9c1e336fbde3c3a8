"""The network, optimizer, strategy and validation split an estimator's parameters describe.

Helpers of :class:`skml.KerasMultiLabelClassifier` (``fit``, ``partial_fit``, Dask ``fit``),
kept out of the class so that it holds the scikit-learn contract and delegates.
"""

import numpy as np

__all__ = ["build_network", "get_strategy", "make_optimizer", "validation_split"]


def validation_split(clf, y_net, seed):
    """Indices (train, validation), stratified on the targets, or None if too small."""
    n_samples = y_net.shape[0]
    n_val = int(np.ceil(clf.validation_fraction * n_samples))
    if n_val < 1 or n_samples - n_val < 1:
        return None
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    if clf._target_kind == "multilabel":
        from skml.model_selection import MultilabelStratifiedShuffleSplit

        splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
        return next(splitter.split(np.zeros(n_samples), y_net))
    codes = (y_net.argmax(axis=1) if y_net.shape[1] > 1 else y_net[:, 0]).astype(int)
    n_classes = max(y_net.shape[1], 2)
    counts = np.bincount(codes, minlength=n_classes)
    if counts.min() >= 2 and min(n_val, n_samples - n_val) >= n_classes:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    else:
        splitter = ShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    return next(splitter.split(np.zeros(n_samples), codes))


def get_strategy(clf):
    """The ``tf.distribute`` strategy to train under, or None."""
    spec = clf.distribute_strategy
    if spec is None:
        return None
    import tensorflow as tf

    if spec == "mirrored":
        return tf.distribute.MirroredStrategy()
    strategy = spec() if callable(spec) else spec
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(
            "distribute_strategy must be None, 'mirrored', a tf.distribute.Strategy or a "
            f"function returning one; got {strategy!r}."
        )
    return strategy


def build_network(clf, input_shape, targets, loss, seed, sparse=False):
    output_activation = "softmax" if targets.kind == "multiclass" else "sigmoid"
    n_features = int(np.prod(input_shape))
    if clf.model is None and clf.architecture == "cnn":
        from skml.networks import build_cnn

        return build_cnn(
            tuple(input_shape),
            clf.n_outputs_,
            filters=tuple(clf.filters),
            kernel_size=clf.kernel_size,
            pooling=clf.pooling,
            dense_units=tuple(clf.hidden_layer_sizes),
            dropout=clf.dropout,
            batch_normalization=clf.batch_normalization is not False,
            l2=clf.l2,
            augmentation=clf.augmentation,
            backbone=clf.backbone,
            output_activation=output_activation,
            seed=seed,
        )
    if clf.model is None:
        from skml.networks import build_mlp

        return build_mlp(
            n_features,
            clf.n_outputs_,
            hidden_layer_sizes=tuple(clf.hidden_layer_sizes),
            activation=clf.activation,
            dropout=clf.dropout,
            batch_normalization=bool(clf.batch_normalization),
            l2=clf.l2,
            output_activation=output_activation,
            sparse=sparse,
            seed=seed,
        )
    from skml._scikeras import build_user_model

    meta = {
        "n_features_in_": n_features,
        "X_shape_": (None, *input_shape),
        "X_dtype_": np.float32,
        "target_type_": {"multilabel": "multilabel-indicator"}.get(targets.kind, targets.kind),
        "classes_": clf.classes_,
        "n_classes_": clf.n_labels_,
        "n_labels_": clf.n_labels_,
        "n_outputs_": 1,
        "n_outputs_expected_": clf.n_outputs_,
    }
    network = build_user_model(
        clf.model,
        model_kwargs=clf.model_kwargs,
        meta=meta,
        compile_kwargs={"loss": loss, "optimizer": clf.optimizer},
    )
    if tuple(network.output_shape[1:]) != (clf.n_outputs_,):
        raise ValueError(
            f"model must output {clf.n_outputs_} probabilities per sample "
            f"({output_activation}); its output shape is {network.output_shape}."
        )
    return network


def make_optimizer(clf, keras):
    if isinstance(clf.optimizer, str):
        try:
            optimizer = keras.optimizers.get(clf.optimizer)
        except ValueError as exc:
            raise ValueError(f"Unknown optimizer {clf.optimizer!r}.") from exc
        optimizer.learning_rate = clf.learning_rate
        return optimizer
    return clf.optimizer.__class__.from_config(clf.optimizer.get_config())

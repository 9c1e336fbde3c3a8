"""What an estimator's parameters describe: network spec, optimizer, strategy, split, seeds.

Helpers of :class:`skml.KerasMultiLabelClassifier` (``fit``, ``partial_fit``, Dask ``fit``),
kept out of the class so that it holds the scikit-learn contract and delegates. This is also
where a parameter that does not apply to the fit at hand is refused: skml never ignores a
parameter silently.
"""

import numpy as np

__all__ = [
    "build_network",
    "check_applicable",
    "get_strategy",
    "make_optimizer",
    "network_spec",
    "tune_rule",
    "validation_split",
]

DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_PATIENCE = 10
#: Epochs whose weights early stopping averages, from the best one on (chosen on the suite).
DEFAULT_AVERAGE_EPOCHS = 5
DEFAULT_VALIDATION_FRACTION = 0.1


#: The threshold rule whose default network (``network=None``) is an :class:`Ensemble`.
ENSEMBLE_RULE = "f1"


def network_spec(clf, *, check=True, streamed=False):
    """The network spec of ``clf.network``, checked.

    None is the default: ``Ensemble()`` (5 default MLPs) under ``threshold="f1"`` in an
    in-memory ``fit``, where it gained macro-F1 on 7 of the development suite's 8 sets at
    twice the tuned fit, and ``MLP()`` otherwise: at threshold 0.5 5 networks tie one for 5
    times the fit, and a ``streamed`` fit (Dask blocks, ``partial_fit`` chunks) would train
    the members together on one early stopping, a design the suite rejected.
    """
    from skml.networks import MLP, Ensemble, Network
    from skml.networks._user import UserNetwork

    network = clf.network
    if network is None:
        tuned_f1 = isinstance(clf.threshold, str) and clf.threshold == ENSEMBLE_RULE
        return Ensemble() if tuned_f1 and not streamed else MLP()
    if isinstance(network, Network):
        return network.check() if check else network
    if isinstance(network, type) and issubclass(network, Network):
        raise TypeError(
            f"network must be a network spec instance such as {network.__name__}(); got the "
            f"class {network.__name__}."
        )
    return UserNetwork(network)


#: Folds of the out-of-fold predictions that tune a threshold rule when ``threshold_cv=None``.
DEFAULT_THRESHOLD_CV = 3


def threshold_folds(clf, n_samples):
    """Folds whose out-of-fold predictions tune the thresholds; None: the validation split.

    ``threshold_cv=None`` takes :data:`DEFAULT_THRESHOLD_CV` folds, or the validation split
    when the data has fewer than two rows per fold or is streamed (``n_samples`` None: the
    blocks of a Dask fit).
    """
    if not isinstance(clf.threshold, str) or clf.threshold_cv == "validation":
        return None
    if clf.threshold_cv is None:
        enough = n_samples is not None and n_samples >= 2 * DEFAULT_THRESHOLD_CV
        return DEFAULT_THRESHOLD_CV if enough else None
    return clf.threshold_cv


def tune_rule(clf, head, y_true, scores, y_rates):
    """Tune the rule ``clf.threshold`` on ``scores`` of rows labelled ``y_true`` into
    ``clf.thresholds_`` (in-memory and Dask fits alike).

    Rare labels are shrunk with the pseudo-count ``threshold_shrinkage`` toward the safe value
    of the network's loss: 0.5 in true probability, whatever positive weights the loss puts on
    it (``y_rates``: the rows whose label rates "balanced" class weights came from).
    """
    from skml.thresholds import DEFAULT_SHRINKAGE, tune_thresholds

    safe = head.safe_thresholds(clf.model_.loss, clf.class_weight, y_rates)
    shrinkage = clf.threshold_shrinkage
    tuned = tune_thresholds(
        y_true,
        scores,
        metric=clf.threshold,
        default=safe,
        shrinkage=DEFAULT_SHRINKAGE if shrinkage is None else shrinkage,
    )
    head.store_tuned(clf.thresholds_, tuned)


def final_epochs(clf, n_samples, *, continuing=False):
    """How the final network is trained: "out_of_fold" or "early_stopping" (or None when it
    trains without early stopping).

    ``final_epochs=None`` takes "out_of_fold" wherever it applies: thresholds tuned on
    out-of-fold predictions (their networks early-stop, so their best epochs are known),
    early stopping on, and a new network (not a ``warm_start`` fit ``continuing`` one).
    """
    if not clf.early_stopping:
        return None
    if clf.final_epochs is not None:
        return clf.final_epochs
    out_of_fold = threshold_folds(clf, n_samples) is not None and not continuing
    return "out_of_fold" if out_of_fold else "early_stopping"


def needs_split(clf, n_samples):
    """Whether training holds out a validation split (early stopping or threshold tuning)."""
    tune_on_split = isinstance(clf.threshold, str) and threshold_folds(clf, n_samples) is None
    return clf.early_stopping or tune_on_split


def check_applicable(clf, head=None, *, incremental=False, n_samples=None, continuing=False):
    """Raise ``ValueError`` for a parameter set to a value that this fit would not use
    (``continuing``: a ``warm_start`` fit continuing the fitted network)."""
    if clf.learning_rate_init is not None and not isinstance(clf.optimizer, str):
        raise ValueError(
            f"learning_rate_init={clf.learning_rate_init!r} sets the learning rate of an "
            "optimizer given by name; the optimizer instance given carries its own. Set its "
            "learning_rate instead, or leave learning_rate_init at None."
        )
    if clf.threshold_cv is not None and not isinstance(clf.threshold, str):
        raise ValueError(
            f"threshold_cv={clf.threshold_cv!r} tunes thresholds (threshold='f1' or "
            f"'accuracy'); threshold={clf.threshold!r} is fixed. Leave threshold_cv at None."
        )
    if clf.threshold_shrinkage is not None and not isinstance(clf.threshold, str):
        raise ValueError(
            f"threshold_shrinkage={clf.threshold_shrinkage!r} shrinks tuned thresholds "
            f"(threshold='f1' or 'accuracy'); threshold={clf.threshold!r} is fixed. Leave "
            "threshold_shrinkage at None."
        )
    uses_split = not incremental and needs_split(clf, n_samples)
    if clf.validation_fraction is not None and not uses_split:
        raise ValueError(
            f"validation_fraction={clf.validation_fraction!r} sizes the split held out for "
            "early stopping or threshold tuning, and this fit holds none out "
            f"(early_stopping={clf.early_stopping!r}, threshold={clf.threshold!r}, "
            f"threshold_cv={clf.threshold_cv!r}"
            f"{', partial_fit' if incremental else ''}). Leave it at None."
        )
    if clf.patience is not None and (incremental or not clf.early_stopping):
        raise ValueError(
            f"patience={clf.patience!r} applies to early stopping, which is off here "
            f"(early_stopping={clf.early_stopping!r}"
            f"{', partial_fit' if incremental else ''}). Leave it at None."
        )
    if clf.average_epochs is not None:
        if incremental or not clf.early_stopping:
            raise ValueError(
                f"average_epochs={clf.average_epochs!r} applies to early stopping, which is off "
                f"here (early_stopping={clf.early_stopping!r}"
                f"{', partial_fit' if incremental else ''}). Leave it at None."
            )
        if clf.average_epochs > most_average_epochs(clf):
            raise ValueError(
                f"average_epochs={clf.average_epochs!r} is more epochs than early stopping "
                f"runs after the best one: with patience={patience(clf)} training stops after "
                f"at most {most_average_epochs(clf)} epochs from the best on. Lower "
                "average_epochs or raise patience."
            )
    if clf.final_epochs is not None:
        folds = None if incremental else threshold_folds(clf, n_samples)
        if folds is None or not clf.early_stopping:
            raise ValueError(
                f"final_epochs={clf.final_epochs!r} chooses how the final network is trained "
                "when thresholds are tuned out of fold with early stopping on; this fit "
                f"{'tunes none out of fold' if folds is None else 'has no early stopping'} "
                f"(threshold={clf.threshold!r}, threshold_cv={clf.threshold_cv!r}, "
                f"early_stopping={clf.early_stopping!r}"
                f"{', partial_fit' if incremental else ''}). Leave it at None."
            )
        if continuing and clf.final_epochs == "out_of_fold":
            raise ValueError(
                "final_epochs='out_of_fold' trains a new network on every row; warm_start "
                "continues the fitted one. Set final_epochs='early_stopping' (or None), or "
                "warm_start=False."
            )
    if head is not None:
        head.check_decision(clf.threshold, clf.min_labels)


def validation_split(clf, head, y_net, seed):
    """Indices (train, validation), stratified on the targets, or None if too small."""
    n_samples = y_net.shape[0]
    fraction = clf.validation_fraction or DEFAULT_VALIDATION_FRACTION
    n_val = int(np.ceil(fraction * n_samples))
    if n_val < 1 or n_samples - n_val < 1:
        return None
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    y_split = head.split_targets(y_net)
    if head.stratify_multilabel:
        from skml.model_selection import MultilabelStratifiedShuffleSplit

        splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
        return next(splitter.split(np.zeros(n_samples), y_split))
    counts = np.bincount(y_split, minlength=head.n_labels)
    if counts.min() >= 2 and min(n_val, n_samples - n_val) >= head.n_labels:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    else:
        splitter = ShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    return next(splitter.split(np.zeros(n_samples), y_split))


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


def build_network(clf, spec, head, loss, optimizer, seed, *, sparse=False):
    """Build the Keras network of ``spec`` for the problem ``head`` describes."""
    context = {
        "classes_": clf.classes_,
        "n_classes_": clf.n_labels_,
        "n_labels_": clf.n_labels_,
        "target_type_": head.target_type,
        "loss": loss,
        "optimizer": optimizer,
    }
    return spec.build(
        clf._sample_shape,
        head.n_outputs,
        output_activation=head.activation,
        seed=seed,
        sparse=sparse and spec.accepts_sparse,
        context=context,
    )


def make_optimizer(clf, keras):
    """A fresh optimizer: by name with ``learning_rate_init``, or a copy of the instance."""
    if isinstance(clf.optimizer, str):
        try:
            optimizer = keras.optimizers.get(clf.optimizer)
        except ValueError as exc:
            raise ValueError(f"Unknown optimizer {clf.optimizer!r}.") from exc
        optimizer.learning_rate = learning_rate(clf)
        return optimizer
    return clf.optimizer.__class__.from_config(clf.optimizer.get_config())


def learning_rate(clf):
    """``learning_rate_init``, or the default for an optimizer given by name."""
    return DEFAULT_LEARNING_RATE if clf.learning_rate_init is None else clf.learning_rate_init


def patience(clf):
    """``patience``, or its default."""
    return DEFAULT_PATIENCE if clf.patience is None else clf.patience


def most_average_epochs(clf):
    """The most epochs early stopping can average: the best one and the ``patience`` after it
    (training stops at the first epoch without improvement when ``patience`` is 0)."""
    return max(patience(clf), 1) + 1


def average_epochs(clf):
    """``average_epochs``, or its default (bounded by what ``patience`` lets training run)."""
    if clf.average_epochs is not None:
        return clf.average_epochs
    return min(DEFAULT_AVERAGE_EPOCHS, most_average_epochs(clf))

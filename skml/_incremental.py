"""Training that continues: ``partial_fit``, ``warm_start`` and training on Dask blocks.

The estimator's first incremental call fixes the problem (number of features, target kind,
label set) and builds the network with one output unit per label: unlike ``fit``, no label is
dropped for being constant, because a label absent from the first chunk may well appear in a
later one. Every later call checks its chunk against that problem and runs one pass over it
with :class:`skml._training.Trainer`, which keeps the optimizer state (Adam moments, iteration
count) between calls. The pass over chunk ``n`` is shuffled by a stateless permutation keyed
by ``(seed, n)``, the seed drawn once from ``random_state``: the same chunks in the same order
give the same network, and no global random state is read.
"""

import contextlib

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from skml import _build
from skml._targets import EncodedTargets, _label_names, encode_targets
from skml._validation import as_numeric_labels, check_per_label

__all__ = ["check_continuation", "partial_fit", "prepare_chunk", "start", "train_pass"]


def _no_tuning(clf, method):
    if isinstance(clf.threshold, str):
        raise ValueError(
            f"threshold={clf.threshold!r} tunes thresholds on held-out data, which {method} "
            "does not have. Use a numeric threshold, or tune after training on held-out rows "
            "with skml.TunedThresholdMultiLabelClassifier(clf, cv='prefit')."
        )


def _no_balanced(clf, method):
    if isinstance(clf.class_weight, str):
        raise ValueError(
            f"class_weight='balanced' needs the label rates of the whole training set, which "
            f"{method} does not see at once. Pass per-label (or per-class) weights instead, "
            "for example skml.losses.compute_pos_weight(y_sample, 'balanced') on a sample."
        )


def _encode_first(y, label_names, classes):
    """Targets of the first chunk; 1-D targets may name their classes up front."""
    y = as_numeric_labels(y)
    one_dim = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
    if one_dim and classes is not None:
        y = column_or_1d(y, warn=True)
        classes = np.unique(np.asarray(classes))
        if classes.size < 2:
            raise ValueError(f"classes must hold at least 2 classes; got {classes!r}.")
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.size:
            raise ValueError(f"y holds classes {unknown!r} that are not in classes={classes!r}.")
        kind = "binary" if classes.size == 2 else "multiclass"
        return EncodedTargets(kind, _one_dim_net(y, classes, kind), classes)
    if one_dim and np.unique(column_or_1d(y)).size < 2:
        raise ValueError(
            "The first chunk of a 1-D y holds a single class: pass the classes of every chunk "
            "with partial_fit(X, y, classes=[...])."
        )
    targets = encode_targets(y, label_names=label_names)
    if classes is not None and targets.kind == "multilabel":
        classes = np.asarray(classes)
        if classes.shape != targets.classes.shape:
            raise ValueError(
                f"classes has {classes.size} entries but y has {targets.classes.size} label "
                "columns."
            )
        if label_names is None:
            targets.classes = classes
    return targets


def _one_dim_net(y, classes, kind):
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise ValueError(
            f"y holds classes {np.unique(y[unknown])!r} unseen in the first call; the classes "
            f"are fixed then: {classes!r}. Pass classes=[...] to the first partial_fit call."
        )
    codes = np.searchsorted(classes, y)
    if kind == "binary":
        return codes.astype(np.float32)[:, None]
    return np.eye(classes.size, dtype=np.float32)[codes]


def _encode_next(clf, y, label_names):
    """Network targets of a later chunk, checked against the problem the first call fixed."""
    y = as_numeric_labels(y)
    if clf._target_kind == "multilabel":
        if y.ndim != 2 or y.shape[1] != clf.n_labels_:
            raise ValueError(
                f"y has {1 if y.ndim == 1 else y.shape[1]} label column(s), but "
                f"{type(clf).__name__} was fitted on {clf.n_labels_} labels; the label set is "
                "fixed by the first fit or partial_fit call."
            )
        if label_names is not None and not np.array_equal(
            np.asarray(label_names, dtype=object), np.asarray(clf.classes_, dtype=object)
        ):
            raise ValueError(
                f"y has the label columns {np.asarray(label_names).tolist()}, but "
                f"{type(clf).__name__} was fitted on {np.asarray(clf.classes_).tolist()}; "
                "the label set is fixed by the first fit or partial_fit call."
            )
        return encode_targets(y, label_names=clf.classes_).y[:, clf._active_labels]
    if y.ndim == 2 and y.shape[1] > 1:
        raise ValueError(
            f"y has {y.shape[1]} label columns, but {type(clf).__name__} was fitted on a 1-D "
            f"{clf._target_kind} target; the target kind is fixed by the first call."
        )
    return _one_dim_net(column_or_1d(y, warn=True), np.asarray(clf.classes_), clf._target_kind)


def _class_sample_weight(clf, y_net):
    """Per-sample weights of a 1-D target's ``class_weight`` (a fixed per-class mapping)."""
    per_class = check_per_label(
        clf.class_weight, clf.classes_, name="class_weight", default=1.0, low=0
    ).astype(np.float32)
    codes = y_net[:, 0].astype(int) if clf._target_kind == "binary" else y_net.argmax(axis=1)
    return per_class[codes]


def previous_problem(clf):
    """What a fitted estimator was trained on, or None when there is no network to continue."""
    if getattr(clf, "model_", None) is None:
        return None
    return {
        "n_features_in_": clf.n_features_in_,
        "feature_names_in_": getattr(clf, "feature_names_in_", None),
    }


def check_continuation(clf, previous, targets):
    """Raise unless ``fit(warm_start=True)`` data matches the problem of the previous fit."""
    if clf.n_features_in_ != previous["n_features_in_"]:
        raise ValueError(
            f"warm_start=True continues the fitted network, which takes "
            f"{previous['n_features_in_']} features; X has {clf.n_features_in_}. Set "
            "warm_start=False to train a new network."
        )
    if targets.kind != clf._target_kind or not np.array_equal(
        np.asarray(targets.classes, dtype=object), np.asarray(clf.classes_, dtype=object)
    ):
        raise ValueError(
            f"warm_start=True continues the fitted network, trained on the "
            f"{clf._target_kind} labels {np.asarray(clf.classes_).tolist()}; y has the "
            f"{targets.kind} labels {np.asarray(targets.classes).tolist()}. Set "
            "warm_start=False to train a new network."
        )


def prepare_chunk(clf, X, y, sample_weight, *, first, classes=None, check_input=True):
    """Validate one chunk; on the first, fix the problem. Return ``(X_net, y_net, weights)``."""
    label_names = _label_names(y)
    y = as_numeric_labels(y)
    if check_input:
        X, y = validate_data(clf, X, y, reset=first, multi_output=True, **clf._x_checks())
    X = clf._as_network_input(X, reset=first)
    if first:
        targets = _encode_first(y, label_names, classes)
        clf._target_kind = targets.kind
        clf.classes_ = targets.classes
        clf.n_labels_ = len(targets.classes)
        n_outputs = targets.y.shape[1]
        # Every label gets a unit: one constant in this chunk may vary in the next.
        clf.constant_labels_ = np.array([], dtype=int)
        clf._constant_proba = np.array([])
        clf._active_labels = np.arange(n_outputs if targets.kind == "multilabel" else 0)
        clf.n_outputs_ = n_outputs
        y_net = targets.y
    else:
        y_net = _encode_next(clf, y, label_names)
    weights = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
    if clf._target_kind != "multilabel" and clf.class_weight is not None:
        weights = weights * _class_sample_weight(clf, y_net)
    return X, y_net, weights


def start(clf, X, y_net, seeds=None):
    """Build and compile the network for the problem fixed by :func:`prepare_chunk`.

    ``seeds`` are ``(network, shuffle)`` seeds; by default drawn from ``random_state``.
    """
    from skml import _sparse, _training
    from skml.losses import compute_pos_weight, get_loss

    keras = _training.import_keras()
    if seeds is None:
        # The first two of fit's seeds: network weights, then shuffling.
        seeds = check_random_state(clf.random_state).randint(2**31 - 1, size=2)
    seed_network, seed_shuffle = (int(s) for s in seeds)
    if clf._target_kind == "multiclass":
        loss = keras.losses.CategoricalCrossentropy()
    else:
        pos_weight = None
        if clf._target_kind == "multilabel" and clf.class_weight is not None:
            label_weight = check_per_label(
                clf.class_weight, clf.classes_, name="class_weight", default=1.0, low=0
            )
            pos_weight = compute_pos_weight(y_net, label_weight)
        loss = get_loss(clf.loss, pos_weight)
    strategy = _build.get_strategy(clf)
    sparse_input = sp.issparse(X) and clf.model is None and _sparse.sparse_input_supported()
    kind = EncodedTargets(clf._target_kind, y_net, clf.classes_)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        network = _build.build_network(
            clf, X.shape[1:], kind, loss, seed_network, sparse=sparse_input
        )
        network.compile(optimizer=_build.make_optimizer(clf, keras), loss=loss)
    clf.model_ = network
    clf._predictor = _training.Predictor(network)
    clf._shuffle_seed = seed_shuffle
    clf.n_iter_ = 0
    clf.history_ = {}


def _trainer(clf):
    from skml import _training

    trainer = getattr(clf, "_trainer", None)
    if trainer is None or trainer.network is not clf.model_:
        fast = clf.distribute_strategy is None
        trainer = _training.Trainer(clf.model_, batch_size=clf.batch_size, fast=fast)
        clf._trainer = trainer
    return trainer


def train_pass(clf, X, y_net, sample_weight, key):
    """One pass of the network over a prepared chunk, shuffled by ``key = (seed, n)``."""
    network = clf.model_
    if sp.issparse(X) or getattr(network.inputs[0], "sparse", False):
        from skml._sparse import train_sparse

        X = sp.csr_matrix(X)
        # train_sparse numbers its epochs from 0: key the seed by the pass instead.
        seed = int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0])
        history = train_sparse(
            network,
            loss=network.loss,
            optimizer=network.optimizer,  # compiling again keeps its state
            X=X,
            y=y_net,
            sample_weight=sample_weight,
            train_rows=np.arange(X.shape[0]),
            val_rows=None,
            epochs=1,
            batch_size=clf.batch_size,
            patience=0,
            seed=seed,
            verbose=0,
        )
        logs = {k: v[-1] for k, v in history.items()}
    else:
        logs = _trainer(clf).epoch(X, y_net, sample_weight, key)
    return logs


def partial_fit(clf, X, y, sample_weight=None, classes=None):
    """``KerasMultiLabelClassifier.partial_fit``: see its docstring."""
    from skml._training import float32_floatx

    _no_tuning(clf, "partial_fit")
    _no_balanced(clf, "partial_fit")
    first = getattr(clf, "model_", None) is None
    if first:
        from skml.classifier import _check_network_params

        _check_network_params(clf)
    X, y_net, weights = prepare_chunk(clf, X, y, sample_weight, first=first, classes=classes)
    clf.thresholds_ = clf._initial_thresholds()
    with float32_floatx():
        if first:
            start(clf, X, y_net)
        logs = train_pass(clf, X, y_net, weights, key=(clf._shuffle_seed, clf.n_iter_))
        _trainer(clf).finish()
    clf.n_iter_ += 1
    for key, value in logs.items():
        clf.history_.setdefault(key, []).append(float(value))
    return clf

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
from skml._head import label_names, make_head
from skml._validation import as_numeric_labels

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


def previous_problem(clf):
    """What a fitted estimator was trained on, or None when there is no network to continue."""
    if getattr(clf, "model_", None) is None:
        return None
    return {
        "n_features_in_": clf.n_features_in_,
        "feature_names_in_": getattr(clf, "feature_names_in_", None),
    }


def spec_settings(spec):
    """The settings of a network spec, its nested specs' included (``get_params(deep=True)``
    without the nested spec objects): what a continued fit compares with the fitted one's."""
    from sklearn.base import BaseEstimator

    params = spec.get_params(deep=True)
    return {name: value for name, value in params.items() if not isinstance(value, BaseEstimator)}


def check_same_network(clf, continuing, remedy):
    """Raise if ``clf.network`` now asks for another network than the fitted one, which
    ``continuing`` (a warm start, ``partial_fit``) would continue without applying it.

    ``network=None`` continues the fitted network, whatever the default now resolves to.
    """
    fitted = getattr(clf, "_spec_settings", None)
    if clf.network is None or fitted is None:
        return
    spec = _build.network_spec(clf)
    if type(spec) is not type(clf._spec):
        change = f"network is now {type(spec).__name__}, the fitted one {type(clf._spec).__name__}"
    else:
        now = spec_settings(spec)
        changed = [
            name for name in sorted(now.keys() | fitted.keys()) if not _same(now, fitted, name)
        ]
        if not changed:
            return
        name = changed[0]
        change = (
            f"network__{name} is now {now.get(name)!r}, the fitted network's {fitted.get(name)!r}"
        )
    raise ValueError(
        f"{continuing} continues the fitted network and cannot apply a new one: {change}. {remedy}"
    )


def _same(now, fitted, name):
    if name not in now or name not in fitted:
        return False
    a, b = now[name], fitted[name]
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # arrays and other values without one truth value
        return False


def check_continuation(clf, previous, head):
    """Raise unless ``fit(warm_start=True)`` data matches the problem of the previous fit."""
    if clf.n_features_in_ != previous["n_features_in_"]:
        raise ValueError(
            f"warm_start=True continues the fitted network, which takes "
            f"{previous['n_features_in_']} features; X has {clf.n_features_in_}. Set "
            "warm_start=False to train a new network."
        )
    if not head.same_problem(clf._head):
        raise ValueError(
            f"warm_start=True continues the fitted network, trained on the "
            f"{clf._head.describe()}; y has the {head.describe()}. Set warm_start=False to "
            "train a new network."
        )


def prepare_chunk(
    clf, X, y, sample_weight, *, first, classes=None, check_input=True, incremental=True
):
    """Validate one chunk; on the first, fix the problem. Return ``(X_net, y_net, weights)``.

    ``incremental=False`` for the blocks of a Dask ``fit``, which holds blocks out for early
    stopping and threshold tuning as ``fit`` holds rows out.
    """
    names = label_names(y)
    y = as_numeric_labels(y)
    if first:
        clf._spec = _build.network_spec(clf, streamed=True)
        clf._spec_settings = spec_settings(clf._spec)
    if check_input:
        X, y = validate_data(clf, X, y, reset=first, multi_output=True, **clf._spec.input_checks())
    X, sample_shape = clf._spec.as_input(X, None if first else clf._sample_shape)
    if first:
        one_dim = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
        if one_dim and classes is None and np.unique(column_or_1d(y)).size < 2:
            raise ValueError(
                "The first chunk of a 1-D y holds a single class: pass the classes of every "
                "chunk with partial_fit(X, y, classes=[...])."
            )
        # Every label gets a unit: one constant in this chunk may vary in the next.
        head, y_net = make_head(y, names=names, classes=classes, drop_constant=False)
        _build.check_applicable(clf, head, incremental=incremental)
        clf._head, clf._sample_shape = head, sample_shape
        clf.classes_ = head.classes
        clf.n_labels_ = head.n_labels
        clf.constant_labels_ = head.constant
        clf.n_outputs_ = head.n_outputs
    else:
        y_net = clf._head.encode(y, names)
    weights = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
    class_weights = clf._head.sample_weight(clf.class_weight, y_net)
    if class_weights is not None:
        weights = weights * class_weights
    return X, y_net, weights


def start(clf, X, y_net, seeds=None):
    """Build and compile the network for the problem fixed by :func:`prepare_chunk`.

    ``seeds`` are ``(network, shuffle)`` seeds; by default drawn from ``random_state``.
    """
    from skml import _training

    keras = _training.import_keras()
    if seeds is None:
        # The first two of fit's seeds: network weights, then shuffling.
        seeds = check_random_state(clf.random_state).randint(2**31 - 1, size=2)
    seed_network, seed_shuffle = (int(s) for s in seeds)
    loss = clf._head.loss(clf.loss, clf.class_weight, y_net)
    strategy = _build.get_strategy(clf)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        optimizer = _build.make_optimizer(clf, keras)
        network = _build.build_network(
            clf, clf._spec, clf._head, loss, optimizer, seed_network, sparse=sp.issparse(X)
        )
        network.compile(optimizer=optimizer, loss=loss)
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
    if sp.issparse(X):
        X = sp.csr_matrix(X)  # the traced epoch cuts CSR batches in the dense rows' order
    return _trainer(clf).epoch(X, y_net, sample_weight, key)


def partial_fit(clf, X, y, sample_weight=None, classes=None):
    """``KerasMultiLabelClassifier.partial_fit``: see its docstring."""
    from skml._training import float32_floatx

    _no_tuning(clf, "partial_fit")
    _no_balanced(clf, "partial_fit")
    first = getattr(clf, "model_", None) is None
    if not first:
        check_same_network(
            clf, "partial_fit", "Fit a new estimator (clone) to train the new network."
        )
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

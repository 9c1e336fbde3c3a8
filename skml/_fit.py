"""One ``fit`` of :class:`skml.KerasMultiLabelClassifier`, after validation.

Draws the seeds, holds out the validation split, makes the loss (through the output head),
builds the network from its spec, trains it (:func:`skml._training.fit_network`) and tunes the
thresholds, on the split or on out-of-fold predictions (``threshold_cv``).
"""

import contextlib
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from skml import _build

__all__ = ["train", "warn_if_unscaled"]

#: Largest absolute feature value before ``fit`` warns that ``X`` looks unscaled.
UNSCALED_ABOVE = 1e3


def warn_if_unscaled(X):
    """Warn when ``X`` holds values beyond :data:`UNSCALED_ABOVE` in absolute value.

    skml warns rather than scaling inside: scaling is a step of the user's ``Pipeline``
    (``StandardScaler`` for dense rows, ``MaxAbsScaler`` for sparse ones, which keeps the
    zeros), fitted on the training folds only, as scikit-learn's own ``MLPClassifier`` expects.
    """
    values = X.data if sp.issparse(X) else X
    largest = max(abs(float(values.max())), abs(float(values.min()))) if values.size else 0.0
    if largest > UNSCALED_ABOVE:
        warnings.warn(
            f"X holds values up to {largest:.4g} in absolute value: a neural network trains "
            "poorly on unscaled features (large inputs saturate its units and dominate its "
            "gradients). Scale them in a Pipeline first: StandardScaler for dense X, "
            "MaxAbsScaler for sparse X.",
            UserWarning,
            stacklevel=4,
        )


def train(clf, spec, head, X, y_net, sample_weight, network=None, X_given=None):
    """Train a new network on ``X``, or continue ``network`` (``warm_start``); tune.

    ``X_given`` is ``X`` as ``fit`` received it (before the spec's ``as_input``): the
    out-of-fold networks of ``threshold_cv`` are fitted on it, as the estimator itself was.
    """
    from skml import _training

    keras = _training.import_keras()
    if network is None:
        warn_if_unscaled(X)
    rng = check_random_state(clf.random_state)
    seed_network, seed_shuffle, seed_split = (int(s) for s in rng.randint(2**31 - 1, size=3))
    resume = network is not None
    if resume:
        seed_shuffle = clf._shuffle_seed  # continue the epoch numbering, never repeat
        if isinstance(clf.optimizer, str):
            network.optimizer.learning_rate = _build.learning_rate(clf)
    clf._shuffle_seed = seed_shuffle

    split = (
        _build.validation_split(clf, head, y_net, seed_split)
        if _build.needs_split(clf, X.shape[0])
        else None
    )
    train_rows, val_rows = (np.arange(X.shape[0]), None) if split is None else split
    sparse = sp.issparse(X)
    if sparse and clf.distribute_strategy is not None:
        raise ValueError("distribute_strategy needs dense X; got a sparse matrix.")
    strategy = _build.get_strategy(clf)
    # Under a strategy, variables must be created in its scope; Model.fit distributes.
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        optimizer = _build.make_optimizer(clf, keras)
        if resume:
            loss = network.loss
        else:
            loss = head.loss(clf.loss, clf.class_weight, y_net[train_rows])
            network = _build.build_network(
                clf, spec, head, loss, optimizer, seed_network, sparse=sparse
            )
        clf.history_ = _training.fit_network(
            network,
            loss=loss,
            optimizer=optimizer,
            X=X,
            y=y_net,
            sample_weight=sample_weight,
            train_rows=train_rows,
            val_rows=val_rows if clf.early_stopping else None,
            epochs=clf.epochs,
            batch_size=clf.batch_size,
            patience=_build.patience(clf),
            seed=seed_shuffle,
            verbose=clf.verbose,
            fast=strategy is None,
            first_epoch=clf.n_iter_,
            resume=resume,
        )
    if network is not getattr(clf, "model_", None) or clf.__dict__.get("_predictor") is None:
        clf._predictor = _training.Predictor(network)
    clf.model_ = network
    if isinstance(clf.threshold, str):
        X_given = X if X_given is None else X_given
        _tune(clf, head, X, X_given, y_net, sample_weight, val_rows, seed_split)


def _tune(clf, head, X, X_given, y_net, sample_weight, val_rows, seed):
    from skml.thresholds import tune_thresholds

    folds = _build.threshold_folds(clf, X.shape[0])
    if folds is not None:
        y_true = y_net
        scores = _out_of_fold_outputs(clf, head, X_given, y_net, sample_weight, seed, folds)
    else:
        if val_rows is None:
            warnings.warn(
                "Too few samples to hold out a validation split: thresholds are tuned on the "
                "training data, which overfits them.",
                UserWarning,
                stacklevel=4,
            )
            val_rows = np.arange(X.shape[0])
        y_true, scores = y_net[val_rows], clf._predictor(X[val_rows])
    # The safe value of the rare-label shrinkage: 0.5 in true probability, whatever the
    # positive weights of the loss made of it.
    safe = head.safe_thresholds(clf.model_.loss, clf.class_weight, y_net)
    tuned = tune_thresholds(y_true, scores, metric=clf.threshold, default=safe)
    head.store_tuned(clf.thresholds_, tuned)


def _out_of_fold_outputs(clf, head, X, y_net, sample_weight, seed, n_splits):
    """Network outputs for every training row from networks that did not train on it."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from skml.model_selection import MultilabelStratifiedKFold

    inner = clone(clf).set_params(
        threshold=0.5, threshold_cv=None, min_labels=0, verbose=0, random_state=seed
    )
    y_split = head.split_targets(y_net)
    if head.stratify_multilabel:
        splitter = MultilabelStratifiedKFold(n_splits, shuffle=True, random_state=seed)
        y_fit = y_net.astype(int)
    else:
        counts = np.bincount(y_split, minlength=2)
        splitter_class = StratifiedKFold if counts.min() >= n_splits else KFold
        splitter = splitter_class(n_splits, shuffle=True, random_state=seed)
        y_fit = y_split
    oof = np.empty(y_net.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # labels constant in a fold
        for fit_rows, test_rows in splitter.split(X, y_split):
            fold = clone(inner).fit(X[fit_rows], y_fit[fit_rows], sample_weight[fit_rows])
            proba = fold.predict_proba(X[test_rows])
            oof[test_rows] = proba if head.stratify_multilabel else proba[:, 1:]
    return oof

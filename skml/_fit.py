"""One ``fit`` of :class:`skml.KerasMultiLabelClassifier`, after validation.

Draws the seeds, holds out the validation split, makes the loss (through the output head),
builds the network from its spec, trains it (:func:`skml._training.fit_network`) and tunes the
thresholds, on the split or on out-of-fold predictions (``threshold_cv``). With out-of-fold
tuning (and ``final_epochs`` at its default), the out-of-fold networks are fitted first and the
final network trains on every row for their mean best epoch.
"""

import contextlib
import warnings
from typing import NamedTuple

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

    A spec with separately trained members (:class:`skml.networks.Ensemble`) trains each
    member as a lone fit with its own ``random_state`` would (its own weights, batch order
    and validation split; member 0 is the lone fit of this estimator), then packs them into
    one network. ``X_given`` is ``X`` as ``fit`` received it (before the spec's
    ``as_input``): the out-of-fold networks of ``threshold_cv`` are fitted on it, as the
    estimator itself was.
    """
    from skml import _training

    keras = _training.import_keras()
    resume = network is not None
    if not resume:
        warn_if_unscaled(X)
    sparse = sp.issparse(X)
    if sparse and clf.distribute_strategy is not None:
        raise ValueError("distribute_strategy needs dense X; got a sparse matrix.")
    members = None if resume else spec.separate_members
    rng = check_random_state(clf.random_state)
    runs = [_Run(clf, head, y_net, rng) for _ in members or [spec]]
    folds = _build.threshold_folds(clf, X.shape[0])
    out_of_fold = None
    if folds is not None:
        # The out-of-fold networks first: they tune the thresholds, and their best epochs set
        # the final network's (unless no fold trained one: every label constant in its rows).
        X_given = X if X_given is None else X_given
        out_of_fold = _out_of_fold_outputs(
            clf, head, X_given, y_net, sample_weight, runs[0].seed_split, folds
        )
        every_row = _build.final_epochs(clf, X.shape[0], continuing=resume) == "out_of_fold"
        if every_row and out_of_fold.best_epochs:
            for run in runs:
                run.on_every_row(clf, out_of_fold.best_epochs)
    if resume:
        runs[0].seed_shuffle = clf._shuffle_seed  # continue the epoch numbering, never repeat
        if isinstance(clf.optimizer, str):
            network.optimizer.learning_rate = _build.learning_rate(clf)
    clf._shuffle_seed = runs[0].seed_shuffle
    strategy = _build.get_strategy(clf)
    # Under a strategy, variables must be created in its scope; Model.fit distributes.
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        trained = []
        for run, member in zip(runs, members or [spec]):
            optimizer = _build.make_optimizer(clf, keras)
            if resume:
                loss = network.loss
            else:
                loss = head.loss(clf.loss, clf.class_weight, y_net[run.train_rows])
                network = _build.build_network(
                    clf, member, head, loss, optimizer, run.seed_network, sparse=sparse
                )
            run.history = _training.fit_network(
                network,
                loss=loss,
                optimizer=optimizer,
                X=X,
                y=y_net,
                sample_weight=sample_weight,
                train_rows=run.train_rows,
                val_rows=run.val_rows if clf.early_stopping else None,
                epochs=run.epochs,
                batch_size=clf.batch_size,
                patience=_build.patience(clf),
                average_epochs=run.average_epochs,
                seed=run.seed_shuffle,
                verbose=clf.verbose,
                fast=strategy is None,
                first_epoch=clf.n_iter_,
                resume=resume,
            )
            trained.append(network)
        if members is not None:
            network = spec.pack(trained, clf._sample_shape, sparse=sparse and spec.accepts_sparse)
            # Member 0's loss: with class weights from the training rows ("balanced"), each
            # member's differ a little; the lone network's are what safe thresholds and a
            # continued training (warm_start, partial_fit) use.
            network.compile(loss=trained[0].loss, optimizer=_build.make_optimizer(clf, keras))
            # A fresh, built optimizer state: what warm_start continues and a pickle stores.
            network.optimizer.build(network.trainable_variables)
    clf.history_ = runs[0].history  # an ensemble's: that of its first member
    if network is not getattr(clf, "model_", None) or clf.__dict__.get("_predictor") is None:
        clf._predictor = _training.Predictor(network)
    clf.model_ = network
    if isinstance(clf.threshold, str):
        # On the validation split, an ensemble's thresholds are tuned on member 0's
        # predictions (the other members trained on some of those rows), as its out-of-fold
        # tuning is on single members; a continued ensemble (warm_start) likewise.
        first = clf._predictor
        if spec.separate_members is not None:
            first = _training.Predictor(network.get_layer("member_0"))
        _tune(clf, head, X, y_net, runs[0], first, out_of_fold)


class _Run:
    """The seeds, rows and epochs of one network's training, drawn from ``rng`` in a fixed
    order."""

    def __init__(self, clf, head, y_net, rng):
        self.seed_network, self.seed_shuffle, self.seed_split = (
            int(s) for s in rng.randint(2**31 - 1, size=3)
        )
        n_samples = y_net.shape[0]
        split = (
            _build.validation_split(clf, head, y_net, self.seed_split)
            if _build.needs_split(clf, n_samples)
            else None
        )
        self.n_samples = n_samples
        self.train_rows, self.val_rows = (np.arange(n_samples), None) if split is None else split
        self.epochs = clf.epochs
        # Early stopping's window; without it (a split held out for tuning alone, or none) the
        # last epoch's weights, as they are.
        stops = clf.early_stopping and self.val_rows is not None
        self.average_epochs = _build.average_epochs(clf) if stops else 1
        self.history = None

    def on_every_row(self, clf, best_epochs):
        """Train on every row, without validation, for the mean of ``best_epochs`` and the
        window of epochs after it that early stopping would average."""
        self.train_rows, self.val_rows = np.arange(self.n_samples), None
        best = max(1, int(np.rint(np.mean(best_epochs))))
        self.epochs = min(clf.epochs, best + _build.average_epochs(clf) - 1)
        self.average_epochs = min(_build.average_epochs(clf), self.epochs - best + 1)


class _OutOfFold(NamedTuple):
    """Out-of-fold network outputs for every training row, and the folds' best epochs."""

    scores: np.ndarray
    best_epochs: list


def _tune(clf, head, X, y_net, run, predictor, out_of_fold):
    """Tune the thresholds on ``out_of_fold`` outputs, or without them (None) on the run's
    validation split."""
    if out_of_fold is not None:
        y_true, scores = y_net, out_of_fold.scores
    else:
        val_rows = run.val_rows
        if val_rows is None:
            warnings.warn(
                "Too few samples to hold out a validation split: thresholds are tuned on the "
                "training data, which overfits them.",
                UserWarning,
                stacklevel=4,
            )
            val_rows = np.arange(X.shape[0])
        y_true, scores = y_net[val_rows], predictor(X[val_rows])
    _build.tune_rule(clf, head, y_true, scores, y_rates=y_net)


def _out_of_fold_outputs(clf, head, X, y_net, sample_weight, seed, n_splits):
    """Network outputs for every training row from networks that did not train on it, and
    each of those networks' best epoch."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold

    from skml.model_selection import MultilabelStratifiedKFold

    inner = clone(clf).set_params(
        threshold=0.5,
        threshold_cv=None,
        threshold_shrinkage=None,
        final_epochs=None,
        min_labels=0,
        verbose=0,
        random_state=seed,
    )
    # An ensemble's thresholds are tuned on single members: k times cheaper, and the mean of
    # members is calibrated close to one member.
    if clf._spec.tuning_network is not None:
        inner.set_params(network=clone(clf._spec.tuning_network))
    y_split = head.split_targets(y_net)
    if head.stratify_multilabel:
        splitter = MultilabelStratifiedKFold(n_splits, shuffle=True, random_state=seed)
        y_fit = y_net.astype(int)
    else:
        counts = np.bincount(y_split, minlength=2)
        splitter_class = StratifiedKFold if counts.min() >= n_splits else KFold
        splitter = splitter_class(n_splits, shuffle=True, random_state=seed)
        y_fit = y_split
    oof, best_epochs = np.empty(y_net.shape), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # labels constant in a fold
        for fit_rows, test_rows in splitter.split(X, y_split):
            fold = clone(inner).fit(X[fit_rows], y_fit[fit_rows], sample_weight[fit_rows])
            proba = fold.predict_proba(X[test_rows])
            oof[test_rows] = proba if head.stratify_multilabel else proba[:, 1:]
            if fold.history_.get("loss"):  # none when every label is constant in the fold
                best_epochs.append(_best_epoch(fold.history_))
    return _OutOfFold(oof, best_epochs)


def _best_epoch(history):
    """The epoch (from 1) of the lowest validation loss, the one early stopping kept (a NaN
    loss is never the best); the last epoch when there was none to monitor."""
    val_loss = np.asarray(history.get("val_loss", ()), dtype=float)
    if not np.isfinite(val_loss).any():
        return len(history["loss"])
    return int(np.nanargmin(np.where(np.isinf(val_loss), np.nan, val_loss))) + 1

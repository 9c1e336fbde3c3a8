"""Training on, and predicting for, Dask arrays and DataFrames larger than memory.

Imported only when ``fit`` or ``predict*`` is given a Dask collection (``dask`` extra).

Training streams the row blocks of ``X`` (and the matching blocks of ``y`` and
``sample_weight``) through the network, one block at a time:

* Every epoch visits the training blocks in a permutation keyed by the estimator's seed and
  the epoch, and runs one pass over each block (shuffled within the block from the seed, the
  epoch and the block's position) with :class:`skml._training.Trainer`, the traced epoch of
  the in-memory fast path, whose optimizer state carries over from block to block.
* Blocks are computed by ``dask.compute`` (the local scheduler, or the ``distributed`` client
  when one is active) in a background thread, one block ahead: at most two blocks are held in
  memory, the one training and the next one, whatever the size of the whole array.
* With ``early_stopping`` (or a tuned ``threshold``), a seeded choice of
  ``validation_fraction`` of the blocks (at least one) is held out; its loss is computed block
  by block after every epoch, and the weights of the best epoch and the ``average_epochs - 1``
  after it are averaged and restored, as in ``fit``. Tuned thresholds are chosen
  on the held-out blocks' probabilities (rows x labels, not rows x features, in memory).
* As in ``partial_fit``, every label gets an output unit (finding the constant labels would
  need a pass over ``y``), ``class_weight="balanced"`` and an integer ``threshold_cv`` are
  refused.

Prediction maps ``predict_proba`` / ``predict`` over the blocks (``map_blocks``) and returns
a lazy Dask array. The fitted estimator is one node of the graph, so a ``distributed``
cluster ships it to each worker once, by pickle.
"""

import uuid
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skml import _build, _incremental

__all__ = ["fit_dask", "predict_blocks"]

_PREFETCH = 1  # blocks computed ahead of the one training


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - the extra is installed in the tests
        raise ImportError(
            'Training on Dask collections needs Dask: pip install "skml[dask]".'
        ) from exc
    return dask, da


def _is_dask(obj):
    return type(obj).__module__.startswith("dask") and hasattr(obj, "__dask_graph__")


def _as_array(obj, *, lengths):
    """A Dask array of ``obj`` (array, DataFrame or Series), and its column names if any."""
    if hasattr(obj, "to_dask_array"):
        columns = getattr(obj, "columns", None)
        names = None if columns is None else list(columns)
        return obj.to_dask_array(lengths=True if lengths else None), names
    return obj, None


def _single_column_chunk(arr):
    """Rechunk so that each row block holds whole rows (one chunk along every other axis)."""
    if arr.ndim > 1 and any(len(c) > 1 for c in arr.chunks[1:]):
        arr = arr.rechunk({axis: -1 for axis in range(1, arr.ndim)})
    return arr


def _check_dense(arr, name):
    meta = getattr(arr, "_meta", None)
    if sp.issparse(meta) or type(meta).__module__.split(".")[0] in ("sparse", "cupyx"):
        raise TypeError(
            f"{name} is a Dask array of sparse blocks, which skml does not train on yet. Train "
            "on dense blocks (X.map_blocks(lambda b: b.toarray())) or call partial_fit with "
            "each sparse block."
        )


class _Blocks:
    """Row block ``i`` of X, y and sample_weight, as objects ``dask.compute`` accepts."""

    def __init__(self, X, y, sample_weight):
        self.X = X
        self.n_blocks = X.numblocks[0]
        known = not any(np.isnan(c) for c in X.chunks[0])
        self.offsets = np.cumsum((0, *X.chunks[0])).astype(int) if known else None
        self.y = self._align(y, "y")
        self.sample_weight = None if sample_weight is None else self._align(sample_weight, "w")

    def _align(self, values, name):
        if _is_dask(values):
            values = _single_column_chunk(values)
            if values.numblocks[0] != self.n_blocks:
                if self.offsets is None or any(np.isnan(c) for c in values.chunks[0]):
                    raise ValueError(
                        f"{name} must have the row blocks of X: X has {self.n_blocks} row "
                        f"blocks, {name} has {values.numblocks[0]}."
                    )
                values = values.rechunk({0: self.X.chunks[0]})
            return values
        values = np.asarray(values) if not sp.issparse(values) else values
        if values.shape[0] != self.offsets[-1]:
            raise ValueError(f"X has {self.offsets[-1]} rows but {name} has {values.shape[0]}.")
        return values

    def _part(self, values, i):
        if values is None:
            return None
        if _is_dask(values):
            return values.blocks[i]
        return values[self.offsets[i] : self.offsets[i + 1]]

    def parts(self, i):
        return self.X.blocks[i], self._part(self.y, i), self._part(self.sample_weight, i)


def _stream(dask, blocks, indices):
    """Yield the computed blocks ``indices`` in order, computing ``_PREFETCH`` ahead."""
    indices = iter(indices)

    def compute(i):
        X, y, w = dask.compute(*blocks.parts(i))
        if hasattr(X, "to_numpy"):
            X = X.to_numpy()
        if hasattr(y, "to_numpy"):
            y = y.to_numpy()
        if X.shape[0] != y.shape[0]:
            raise ValueError(
                f"Row block {i} of X has {X.shape[0]} rows but that of y has {y.shape[0]}: "
                "y must have the row blocks of X."
            )
        return X, y, w

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skml-dask-block")
    try:
        pending = deque(pool.submit(compute, i) for _, i in zip(range(_PREFETCH), indices))
        while pending:
            future = pending.popleft()
            following = next(indices, None)
            if following is not None:
                pending.append(pool.submit(compute, following))
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _held_out(clf, n_blocks, seed, needed):
    """Indices (train, validation) of the blocks; validation is empty when not needed."""
    blocks = np.arange(n_blocks)
    if not needed:
        return blocks, blocks[:0]
    if n_blocks < 2:
        warnings.warn(
            "X has a single row block, so no block can be held out for early stopping or "
            "threshold tuning: early stopping is off and thresholds are tuned on the training "
            "block. Rechunk X into more row blocks.",
            UserWarning,
            stacklevel=4,
        )
        return blocks, blocks[:0]
    fraction = clf.validation_fraction or _build.DEFAULT_VALIDATION_FRACTION
    n_val = min(n_blocks - 1, max(1, int(round(fraction * n_blocks))))
    order = np.random.default_rng(seed).permutation(n_blocks)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _dask_inputs(X, y, sample_weight):
    """The row blocks of ``X``, ``y`` and the weights; the feature and label names."""
    X, feature_names = _as_array(X, lengths=not (_is_dask(y) and hasattr(y, "to_dask_array")))
    _check_dense(X, "X")
    X = _single_column_chunk(X)
    if not _is_dask(y) and any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()  # one pass over X, a block at a time
    label_names = None
    if _is_dask(y):
        y, label_names = _as_array(y, lengths=False)
        if label_names is not None and getattr(y, "ndim", 2) == 1:
            label_names = None  # a Series: its name is not a label set
    return _Blocks(X, y, sample_weight), feature_names, label_names


def _classes(dask, y, label_names):
    """The classes of a 1-D target (one pass over ``y``), else the label names."""
    if getattr(y, "ndim", 2) == 1 or y.shape[1] == 1:
        return np.unique(np.asarray(dask.compute(y)[0]).ravel())
    return label_names


def fit_dask(clf, X, y, sample_weight=None):
    """``fit`` on Dask collections: see the module docstring."""
    dask, _ = _import_dask()
    if not _is_dask(X):  # only y (or the weights) is lazy: it fits in memory, as X does
        y = y.compute() if _is_dask(y) else y
        if _is_dask(sample_weight):
            sample_weight = sample_weight.compute()
        return clf.fit(X, y, sample_weight)
    _incremental._no_balanced(clf, "fit on Dask data")
    tune = isinstance(clf.threshold, str)
    if tune and clf.threshold_cv not in (None, "validation"):
        raise ValueError(
            f"threshold_cv={clf.threshold_cv!r} refits the network on folds of in-memory data; "
            "with Dask data use threshold_cv=None (thresholds are tuned on held-out blocks)."
        )
    from skml._training import _EarlyStopping, float32_floatx

    blocks, feature_names, label_names = _dask_inputs(X, y, sample_weight)

    warm = clf.warm_start and _incremental.previous_problem(clf) is not None
    if warm:
        _incremental.check_same_network(
            clf, "warm_start=True", "Set warm_start=False to train the new network."
        )
    fitted_names = _take_feature_names(clf, feature_names, warm)
    classes = _classes(dask, blocks.y, label_names)

    rng = check_random_state(clf.random_state)
    seed_network, seed_shuffle, seed_split, seed_order = (
        int(s) for s in rng.randint(2**31 - 1, size=4)
    )
    train_blocks, val_blocks = _held_out(
        clf, blocks.n_blocks, seed_split, clf.early_stopping or tune
    )
    first = not warm
    if warm:
        clf.thresholds_ = clf._initial_thresholds()
    history = {}
    stopping = (
        _EarlyStopping(_build.patience(clf), _build.average_epochs(clf))
        if clf.early_stopping and len(val_blocks)
        else None
    )

    def prepare(block):
        nonlocal first
        X_net, y_net, weights = _incremental.prepare_chunk(
            clf, *block, first=first, classes=classes, incremental=False
        )
        if first:
            clf.thresholds_ = clf._initial_thresholds()
            _incremental.start(clf, X_net, y_net, seeds=(seed_network, seed_shuffle))
            first = False
        return X_net, y_net, weights

    with float32_floatx():
        n_train = len(train_blocks)
        done = clf.n_iter_ if warm else 0  # passes run before this fit
        for epoch in range(clf.epochs):
            n = done + epoch
            order = np.random.default_rng([seed_order, n]).permutation(train_blocks)
            total, rows = 0.0, 0
            for position, block in enumerate(_stream(dask, blocks, order)):
                X_net, y_net, weights = prepare(block)
                key = (clf._shuffle_seed, n * n_train + position)
                logs = _incremental.train_pass(clf, X_net, y_net, weights, key=key)
                total += logs["loss"] * X_net.shape[0]
                rows += X_net.shape[0]
            clf.n_iter_ = n + 1
            history.setdefault("loss", []).append(total / max(rows, 1))
            if len(val_blocks):
                history.setdefault("val_loss", []).append(_loss(clf, dask, blocks, val_blocks))
            if clf.verbose:
                shown = ", ".join(f"{k}: {v[-1]:.4f}" for k, v in history.items())
                print(f"Epoch {epoch + 1}/{clf.epochs} - {shown}", flush=True)
            if stopping is not None and stopping.update(
                epoch, history["val_loss"][-1], clf.model_.get_weights
            ):
                break
        _incremental._trainer(clf).finish()
        weights = None if stopping is None else stopping.best_weights
        if weights is not None:
            clf.model_.set_weights(weights)
        clf.history_ = history
        if tune:
            _tune(clf, dask, blocks, val_blocks if len(val_blocks) else train_blocks)
    if feature_names is not None and all(isinstance(n, str) for n in feature_names):
        clf.feature_names_in_ = np.asarray(feature_names, dtype=object)
    elif fitted_names is not None and warm and feature_names is None:
        clf.feature_names_in_ = fitted_names
    return clf


def _take_feature_names(clf, feature_names, warm):
    """Check a warm start's feature names; remove them while the plain blocks are trained."""
    if warm and feature_names is not None and hasattr(clf, "feature_names_in_"):
        if list(clf.feature_names_in_) != [str(n) for n in feature_names]:
            raise ValueError(
                "warm_start=True continues a network fitted on the features "
                f"{list(clf.feature_names_in_)}; X has {feature_names}."
            )
    return clf.__dict__.pop("feature_names_in_", None)


def _loss(clf, dask, blocks, indices):
    """Mean loss over the blocks ``indices``, computed a block at a time."""
    trainer = _incremental._trainer(clf)
    total, rows = 0.0, 0
    for block in _stream(dask, blocks, indices):
        X_net, y_net, weights = _incremental.prepare_chunk(clf, *block, first=False)
        if sp.issparse(X_net):
            X_net = X_net.toarray()
        total += trainer.evaluate(X_net, y_net, weights)["loss"] * X_net.shape[0]
        rows += X_net.shape[0]
    return total / max(rows, 1)


def _tune(clf, dask, blocks, indices):
    """Tune the thresholds on the probabilities of the blocks ``indices``."""
    targets, scores = [], []
    for block in _stream(dask, blocks, indices):
        X_net, y_net, _ = _incremental.prepare_chunk(clf, *block, first=False)
        targets.append(y_net)
        scores.append(clf._predictor(X_net))
    y_true = np.concatenate(targets)
    _build.tune_rule(clf, clf._head, y_true, np.concatenate(scores), y_rates=y_true)


def _apply_block(block, estimator, method, empty):
    if block.shape[0] == 0:
        return empty
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return getattr(estimator, method)(block)


def predict_blocks(clf, X, method):
    """``predict_proba`` or ``predict`` of a Dask ``X``: a lazy Dask array, block-wise."""
    dask, da = _import_dask()
    check_is_fitted(clf)
    X, names = _as_array(X, lengths=False)
    fitted_names = getattr(clf, "feature_names_in_", None)
    if names is not None and fitted_names is not None and list(fitted_names) != names:
        raise ValueError(
            f"X has the columns {names}, but {type(clf).__name__} was fitted on "
            f"{list(fitted_names)}."
        )
    X = _single_column_chunk(X)
    if X.ndim == 2 and not np.isnan(X.shape[1]) and X.shape[1] != clf.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(clf).__name__} is expecting "
            f"{clf.n_features_in_} features as input."
        )
    # The output's dtype and trailing shape, from one row computed here.
    sample = _apply_block(np.zeros((1, *X.shape[1:]), np.float32), clf, method, None)
    empty = np.empty((0, *sample.shape[1:]), sample.dtype)
    model = dask.delayed(clf, name=f"skml-{type(clf).__name__}-{uuid.uuid4().hex}")
    kwargs = {"dtype": sample.dtype, "meta": empty}
    if sample.ndim == 1:
        kwargs.update(drop_axis=list(range(1, X.ndim)), chunks=(X.chunks[0],))
    else:
        dropped = list(range(2, X.ndim))
        if dropped:
            kwargs["drop_axis"] = dropped
        kwargs["chunks"] = (X.chunks[0], (sample.shape[1],))
    return da.map_blocks(_apply_block, X, model, method, empty, **kwargs)

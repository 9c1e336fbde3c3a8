"""KerasMultiLabelClassifier: the scikit-learn contract around a Keras network.

The class is a plain ``ClassifierMixin, BaseEstimator`` that *wraps* scikeras for user-supplied
models (see :mod:`skml._scikeras` for why it wraps rather than subclasses). Importing this module
does not import TensorFlow: Keras is loaded by ``fit`` and ``predict``.
"""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skml import _build, _incremental
from skml._targets import _label_names, encode_targets
from skml._validation import as_numeric_labels, check_per_label

__all__ = ["KerasMultiLabelClassifier"]

_LOSSES = ("binary_crossentropy", "bce", "focal", "asymmetric", "asl")


class KerasMultiLabelClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label classifier: a Keras network with one sigmoid unit per label.

    A 2-D 0/1 target ``y`` of shape ``(n_samples, n_labels)`` trains one sigmoid output per
    label with binary cross-entropy, so each label gets its own independent probability. A 1-D
    binary ``y`` trains one sigmoid, a 1-D multiclass ``y`` a softmax with categorical
    cross-entropy. A 2-D ``y`` is never re-typed: it stays multi-label even when every row
    carries exactly one label.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256,)
        Units per hidden layer of the built-in MLP (``()`` gives a logistic regression per
        label), or of the dense head after the convolution blocks of the CNN.
    architecture : {"mlp", "cnn"}, default="mlp"
        The built-in network. "mlp" reads 2-D rows, dense or SciPy sparse (on TensorFlow sparse
        rows reach the network as ``tf.SparseTensor`` batches and are never densified; other
        backends densify one batch at a time). "cnn" reads images ``(n, h, w, c)``, or 2-D
        flattened rows together with ``input_shape``.
    input_shape : tuple of int or None, default=None
        ``(height, width, channels)`` of 2-D flattened image rows for the CNN, so scikit-learn
        transformers and splitters that want 2-D ``X`` still work.
    filters : tuple of int, default=(16, 32, 64)
        CNN: filters of each convolution block (conv, batch norm, ReLU, pooling).
    kernel_size : int, default=3
        CNN: side of the convolution kernels.
    pooling : {"max", "average"} or None, default="max"
        CNN: 2x2 pooling after each block.
    augmentation : None, "light" or list of keras layers, default=None
        CNN: preprocessing layers active only while training; "light" is a horizontal flip, a
        rotation of up to 5% of a turn and a zoom of up to 10%.
    backbone : keras.Model or None, default=None
        CNN: a user feature extractor replacing the convolution blocks; skml puts the pooling,
        the dense head and the sigmoid outputs on top of it.
    activation : str, default="relu"
        Activation of the hidden layers (any Keras activation name).
    dropout : float, default=0.2
        Dropout rate after each hidden layer.
    batch_normalization : bool or None, default=None
        Batch normalisation before each hidden activation; None means the architecture's
        default: off for the MLP, on for the CNN.
    l2 : float, default=1e-3
        L2 penalty on every kernel.
    model : keras.Model, callable or None, default=None
        A user network replacing the built-in MLP: a Keras model (cloned before training, so the
        given instance is never modified) or a build function following scikeras' conventions
        (it may take ``meta``, ``compile_kwargs`` and the entries of ``model_kwargs`` by name).
        It must end in ``n_outputs_`` probabilities (sigmoid for multi-label). skml compiles it
        with its own ``loss`` and ``optimizer``.
    model_kwargs : dict or None, default=None
        Extra arguments of a ``model`` build function.
    loss : str or keras loss, default="binary_crossentropy"
        "binary_crossentropy", "focal", "asymmetric" or a loss object, for a multi-label or
        binary target. The skml losses (:mod:`skml.losses`) can be given as instances, whose
        parameters ``GridSearchCV`` reaches as ``loss__gamma`` and so on.
    class_weight : None, "balanced", array-like of shape (n_labels,), dict or Series, default=None
        Multi-label: per-label weight of the *positive* term inside the loss
        (:func:`skml.losses.compute_pos_weight`; "balanced" is ``n_neg / n_pos`` bounded to
        [0.1, 10]). An array is in label order; a dict or pandas Series is matched by label
        name (labels left out get 1, unknown names are an error). Binary or multiclass:
        scikit-learn's per-class sample weights.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Keras optimizer name or instance (an instance is cloned from its config).
    learning_rate : float, default=1e-3
        Learning rate of an optimizer given by name.
    epochs : int, default=200
        Maximum number of passes over the training data.
    batch_size : int, default=32
        Rows per gradient step.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training data, split by iterative (multi-label)
        stratification, and stop when its loss has not improved for ``patience`` epochs,
        restoring the best weights.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping and threshold tuning.
    patience : int, default=10
        Epochs without improvement of the validation loss before training stops.
    threshold : float, array-like of shape (n_labels,), dict, Series, "f1" or "accuracy", \
            default=0.5
        A label is predicted when its probability is >= its threshold. An array is in label
        order; a dict or pandas Series is matched by label name (labels left out keep 0.5,
        unknown names are an error); every value must lie in [0, 1]. "f1" tunes one threshold
        per label to maximise that label's F1, "accuracy" to minimise its error rate (the rule
        that follows hamming loss); both tune on predictions for data the network did not train
        on: the held-out validation split, or out-of-fold predictions when ``threshold_cv`` is
        set. Ignored for a multiclass ``y`` (argmax).
    threshold_cv : int or None, default=None
        Tune ``"f1"``/``"accuracy"`` thresholds on out-of-fold predictions of ``threshold_cv``
        extra networks trained on stratified folds of the training data, instead of on the
        validation split: every training row then informs the thresholds (on yeast, +0.01
        macro-F1 over the validation split), at the price of ``threshold_cv`` more fits.
    min_labels : int, default=0
        Every sample gets at least this many labels: the most probable ones when too few pass
        their thresholds.
    distribute_strategy : None, "mirrored", callable or tf.distribute.Strategy, default=None
        Train on several devices: "mirrored" is ``tf.distribute.MirroredStrategy()`` over all
        visible GPUs; a function returning a strategy (picklable and clonable, unlike a strategy
        object) or a strategy. Training then goes through Keras ``Model.fit`` (TensorFlow
        backend). Results match single-device training up to float32 reduction order.
    warm_start : bool, default=False
        ``fit`` continues training the fitted network (weights and optimizer state) instead
        of building a new one; the data must have the same number of features and the same
        labels (else a ValueError). Labels the first fit found constant stay untrained.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation split. No global
        random state (NumPy, TensorFlow, Keras) is read or changed.
    verbose : int, default=0
        0 is silent, 1 shows one progress bar over epochs, 2 prints one line per epoch.

    Attributes
    ----------
    classes_ : ndarray
        Label names (the columns of a DataFrame ``y``, else ``0..n_labels-1``) for multi-label
        targets; the class values for 1-D targets.
    n_labels_ : int
        Number of labels (multi-label) or classes (1-D targets).
    n_outputs_ : int
        Number of output units of the network.
    thresholds_ : ndarray of shape (n_labels,)
        Decision thresholds used by ``predict``.
    constant_labels_ : ndarray of int
        Indices of labels that were constant in the training data; they are not trained and
        get the smoothed training rate ``(n_pos + 1) / (n_samples + 2)`` as probability.
    model_ : keras.Model or None
        The trained network (``None`` when every label was constant).
    history_ : dict of str to list of float
        Training (and validation) loss per epoch of the last ``fit``; ``partial_fit``
        appends one entry per call.
    n_iter_ : int
        Passes over training data run so far (epochs of ``fit``, calls of ``partial_fit``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Names of features seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from skml import KerasMultiLabelClassifier
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    >>> clf = KerasMultiLabelClassifier(epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 4)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [str, callable],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean", None],
        "architecture": [StrOptions({"mlp", "cnn"})],
        "input_shape": ["array-like", None],
        "filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"max", "average"}), None],
        "augmentation": [StrOptions({"light"}), list, None],
        "backbone": [HasMethods(["fit", "predict"]), None],
        "l2": [Interval(Real, 0, None, closed="left")],
        "model": [HasMethods(["fit", "predict"]), callable, None],
        "model_kwargs": [dict, None],
        "loss": [StrOptions(set(_LOSSES)), HasMethods(["__call__"])],
        "class_weight": [StrOptions({"balanced"}), dict, "array-like", None],
        "optimizer": [str, HasMethods(["get_config"])],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "threshold": [
            Interval(Real, 0, 1, closed="both"),
            StrOptions({"f1", "accuracy"}),
            "array-like",
            dict,
        ],
        "threshold_cv": [Interval(Integral, 2, None, closed="left"), None],
        "min_labels": [Interval(Integral, 0, None, closed="left")],
        "distribute_strategy": [StrOptions({"mirrored"}), callable, HasMethods(["scope"]), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256,),
        *,
        architecture="mlp",
        input_shape=None,
        filters=(16, 32, 64),
        kernel_size=3,
        pooling="max",
        augmentation=None,
        backbone=None,
        activation="relu",
        dropout=0.2,
        batch_normalization=None,
        l2=1e-3,
        model=None,
        model_kwargs=None,
        loss="binary_crossentropy",
        class_weight=None,
        optimizer="adam",
        learning_rate=1e-3,
        epochs=200,
        batch_size=32,
        early_stopping=True,
        validation_fraction=0.1,
        patience=10,
        threshold=0.5,
        threshold_cv=None,
        min_labels=0,
        distribute_strategy=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.input_shape = input_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.augmentation = augmentation
        self.backbone = backbone
        self.activation = activation
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.l2 = l2
        self.model = model
        self.model_kwargs = model_kwargs
        self.loss = loss
        self.class_weight = class_weight
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.threshold = threshold
        self.threshold_cv = threshold_cv
        self.min_labels = min_labels
        self.distribute_strategy = distribute_strategy
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; must be finite. A Dask array or DataFrame (``dask`` extra) trains
            out of core, streaming its blocks: see :mod:`skml._dask` and the README.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 label indicator matrix (NumPy, SciPy sparse or pandas; the
            columns of a DataFrame become ``classes_``). With a Dask ``X``: a Dask
            collection with the same row blocks, or an in-memory array.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.

        Returns
        -------
        self : KerasMultiLabelClassifier
            The fitted estimator.
        """
        if _is_dask(X) or _is_dask(y) or _is_dask(sample_weight):
            from skml._dask import fit_dask

            return fit_dask(self, X, y, sample_weight)
        previous = _incremental.previous_problem(self) if self.warm_start else None
        label_names = _label_names(y)
        y = as_numeric_labels(y) if y is not None else y
        X, y = validate_data(self, X, y, multi_output=True, **self._x_checks())
        _check_network_params(self)
        X = self._as_network_input(X, reset=True)
        targets = encode_targets(y, label_names=label_names)
        if previous is not None:
            _incremental.check_continuation(self, previous, targets)
        self._target_kind = targets.kind
        self.classes_ = targets.classes
        self.n_labels_ = len(targets.classes)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        label_weight = None
        if targets.kind == "multilabel" and self.class_weight is not None:
            label_weight = self.class_weight
            if not isinstance(label_weight, str):
                label_weight = check_per_label(
                    label_weight, self.classes_, name="class_weight", default=1.0, low=0
                )
        elif self.class_weight is not None:
            from sklearn.utils.class_weight import compute_sample_weight

            class_weight = self.class_weight
            if hasattr(class_weight, "index") and hasattr(class_weight, "items"):  # Series
                class_weight = dict(class_weight.items())
            if not isinstance(class_weight, (str, dict)):
                class_weight = dict(zip(targets.classes, np.asarray(class_weight, float)))
            sample_weight = sample_weight * compute_sample_weight(
                class_weight, np.asarray(y).ravel()
            ).astype(np.float32)

        y_net = targets.y
        if previous is not None:  # the network's label units, as the first fit chose them
            if targets.kind == "multilabel":
                y_net = y_net[:, self._active_labels]
        else:
            self.constant_labels_ = np.array([], dtype=int)
            if targets.kind == "multilabel":
                y_net = self._split_constant_labels(y_net)
            self.n_outputs_ = y_net.shape[1]
            self.model_ = None
            self.n_iter_ = 0
        self.thresholds_ = self._initial_thresholds()
        self.history_ = {}
        if self.n_outputs_ == 0:
            return self
        from skml._training import float32_floatx

        with float32_floatx():
            self._train(X, y_net, sample_weight, targets, label_weight, self.model_)
        self.n_iter_ += len(self.history_.get("loss", ()))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train on one chunk of data: one pass (epoch) over it.

        The first call builds the network and fixes the problem: the number of features and
        the labels (the columns of ``y``, by name for a DataFrame; the classes of a 1-D
        ``y``). A later chunk that differs is a ValueError. Unlike ``fit``, every label gets
        an output unit even when it is constant in the first chunk, so later chunks train
        it. The optimizer state (Adam moments) persists between calls; the rows of call
        ``n`` are shuffled from ``random_state`` and ``n``, so the same chunks in the same
        order give the same network. There is no early stopping and no validation split,
        and a string ``threshold`` ("f1", "accuracy") is a ValueError: tune thresholds
        afterwards with :class:`skml.TunedThresholdMultiLabelClassifier` and
        ``cv="prefit"``. ``class_weight="balanced"`` is a ValueError too (it needs the label
        rates of all the data); per-label or per-class weights work. After ``fit``,
        ``partial_fit`` continues the fitted network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training rows (dense or SciPy sparse).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Its 0/1 label indicator matrix, or 1-D class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        classes : array-like or None, default=None
            1-D targets: every class of all the chunks, needed on the first call unless its
            chunk holds them all. Multi-label: optional label names, one per column.

        Returns
        -------
        self : KerasMultiLabelClassifier
            The updated estimator.
        """
        return _incremental.partial_fit(self, X, y, sample_weight, classes)

    def _split_constant_labels(self, y):
        """Drop labels constant in ``y`` from training; remember their smoothed rates."""
        n_samples = y.shape[0]
        positives = y.sum(axis=0)
        constant = (positives == 0) | (positives == n_samples)
        self.constant_labels_ = np.flatnonzero(constant)
        self._constant_proba = (positives[constant] + 1.0) / (n_samples + 2.0)
        self._active_labels = np.flatnonzero(~constant)
        if constant.any():
            names = ", ".join(str(self.classes_[i]) for i in self.constant_labels_)
            warnings.warn(
                f"Label(s) {names} are constant in the training data: they are not trained and "
                "are predicted from their training rate.",
                UserWarning,
                stacklevel=3,
            )
        return y[:, self._active_labels]

    def _initial_thresholds(self):
        # A binary target has one threshold: that of its positive class.
        labels = self.classes_ if self._target_kind == "multilabel" else self.classes_[1:2]
        if isinstance(self.threshold, str):
            return np.full(len(labels), 0.5)
        return check_per_label(
            self.threshold, labels, name="threshold", default=0.5, low=0.0, high=1.0
        )

    def _x_checks(self):
        """Keyword arguments of ``validate_data`` for this architecture."""
        if self.architecture == "mlp":
            return {"dtype": np.float32, "accept_sparse": ("csr", "csc")}
        return {"dtype": np.float32, "allow_nd": self.input_shape is None}

    def _as_network_input(self, X, reset):
        """Check image shapes for the CNN; reshape flattened rows with ``input_shape``."""
        if self.architecture == "mlp":
            return X.tocsr() if sp.issparse(X) else X
        if self.input_shape is not None:
            shape = tuple(int(d) for d in self.input_shape)
            if len(shape) != 3 or int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"input_shape={shape} must be (height, width, channels) with "
                    f"height * width * channels == {X.shape[1]}, the number of columns of X."
                )
            return X.reshape((X.shape[0], *shape))
        if X.ndim != 4:
            raise ValueError(
                "The CNN needs X of shape (n_samples, height, width, channels), or 2-D "
                f"flattened rows together with input_shape; got X with shape {X.shape}."
            )
        if reset:
            self.image_shape_ = tuple(X.shape[1:])
        elif tuple(X.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"X holds images of shape {tuple(X.shape[1:])} (height, width, channels), but "
                f"{type(self).__name__} was fitted on images of shape {self.image_shape_}."
            )
        return X

    def _train(self, X, y_net, sample_weight, targets, label_weight, network=None):
        """Train a new network, or continue ``network`` (``warm_start``)."""
        from skml import _sparse, _training
        from skml.losses import compute_pos_weight, get_loss

        keras = _training.import_keras()
        rng = check_random_state(self.random_state)
        seed_network, seed_shuffle, seed_split = (int(s) for s in rng.randint(2**31 - 1, size=3))
        resume = network is not None
        if resume:
            seed_shuffle = self._shuffle_seed  # continue the epoch numbering, never repeat
            if isinstance(self.optimizer, str):
                network.optimizer.learning_rate = self.learning_rate
        self._shuffle_seed = seed_shuffle

        tune = isinstance(self.threshold, str)
        split = None
        if self.early_stopping or tune:
            split = _build.validation_split(self, y_net, seed_split)
        if split is None:
            train_idx, val_idx = np.arange(X.shape[0]), None
        else:
            train_idx, val_idx = split

        if resume:
            loss = network.loss
        elif targets.kind == "multiclass":
            loss = keras.losses.CategoricalCrossentropy()
        else:
            pos_weight = None
            if label_weight is not None:
                if not isinstance(label_weight, str):
                    label_weight = label_weight[self._active_labels]
                pos_weight = compute_pos_weight(y_net[train_idx], label_weight)
            loss = get_loss(self.loss, pos_weight)

        use_validation = val_idx is not None and self.early_stopping
        common = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "seed": seed_shuffle,
            "verbose": self.verbose,
        }
        if sp.issparse(X):
            if self.distribute_strategy is not None:
                raise ValueError("distribute_strategy needs dense X; got a sparse matrix.")
            sparse_input = self.model is None and _sparse.sparse_input_supported()
            if resume:  # compiling again keeps the optimizer and its state
                loss, optimizer = network.loss, network.optimizer
                common["seed"] = int(
                    np.random.SeedSequence([seed_shuffle, self.n_iter_]).generate_state(1)[0]
                )
            else:
                optimizer = _build.make_optimizer(self, keras)
                network = _build.build_network(
                    self, X.shape[1:], targets, loss, seed_network, sparse=sparse_input
                )
            self.history_ = _sparse.train_sparse(  # rows are read by index, never copied
                network,
                loss=loss,
                optimizer=optimizer,
                X=X,
                y=y_net,
                sample_weight=sample_weight,
                train_rows=train_idx,
                val_rows=val_idx if use_validation else None,
                **common,
            )
        else:
            common["train"] = (X[train_idx], y_net[train_idx], sample_weight[train_idx])
            common["validation"] = (
                (X[val_idx], y_net[val_idx], sample_weight[val_idx]) if use_validation else None
            )
            strategy = _build.get_strategy(self)
            # Under a strategy, variables must be created in its scope; Model.fit distributes.
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                if not resume:
                    network = _build.build_network(self, X.shape[1:], targets, loss, seed_network)
                self.history_ = _training.train(
                    network,
                    loss=loss,
                    optimizer=_build.make_optimizer(self, keras),
                    fast=strategy is None,
                    first_epoch=self.n_iter_,
                    resume=resume,
                    **common,
                )
        if network is not getattr(self, "model_", None) or self.__dict__.get("_predictor") is None:
            self._predictor = _training.Predictor(network)
        self.model_ = network
        if tune and targets.kind != "multiclass":
            self._tune_thresholds(X, y_net, sample_weight, val_idx, seed_split)

    def _tune_thresholds(self, X, y_net, sample_weight, val_idx, seed):
        from skml.thresholds import tune_thresholds

        if self.threshold_cv is not None:
            y_true, scores = y_net, self._out_of_fold_proba(X, y_net, sample_weight, seed)
            tuned = tune_thresholds(y_true, scores, metric=self.threshold)
            if self._target_kind == "multilabel":
                self.thresholds_[self._active_labels] = tuned
            else:
                self.thresholds_ = tuned
            return
        if val_idx is None:
            warnings.warn(
                "Too few samples to hold out a validation split: thresholds are tuned on the "
                "training data, which overfits them.",
                UserWarning,
                stacklevel=4,
            )
            val_idx = np.arange(X.shape[0])
        scores = self._forward(X[val_idx])
        tuned = tune_thresholds(y_net[val_idx], scores, metric=self.threshold)
        if self._target_kind == "multilabel":
            self.thresholds_[self._active_labels] = tuned
        else:
            self.thresholds_ = tuned

    def _out_of_fold_proba(self, X, y_net, sample_weight, seed):
        """Probabilities of every training row from networks that did not train on it."""
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold

        from skml.model_selection import MultilabelStratifiedKFold

        inner = clone(self).set_params(
            threshold=0.5,
            threshold_cv=None,
            min_labels=0,
            verbose=0,
            random_state=seed,
            input_shape=None,  # the rows are already images
        )
        multilabel = self._target_kind == "multilabel"
        y_fit = y_net.astype(int) if multilabel else y_net[:, 0].astype(int)
        splitter = (MultilabelStratifiedKFold if multilabel else StratifiedKFold)(
            n_splits=self.threshold_cv, shuffle=True, random_state=seed
        )
        oof = np.empty(y_net.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # labels constant in a fold
            for train, test in splitter.split(X, y_fit):
                fold = clone(inner).fit(X[train], y_fit[train], sample_weight[train])
                proba = fold.predict_proba(X[test])
                oof[test] = proba if multilabel else proba[:, 1:]
        return oof

    # -------------------------------------------------------------- predict

    def _network_proba(self, X):
        """Probabilities of every label (multi-label) or the network outputs (1-D targets)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, **self._x_checks())
        X = self._as_network_input(X, reset=False)
        if self._target_kind != "multilabel" or not len(self.constant_labels_):
            return self._forward(X)
        proba = np.empty((X.shape[0], self.n_labels_))
        if len(self.constant_labels_):
            proba[:, self.constant_labels_] = self._constant_proba
        if self.model_ is not None:
            proba[:, self._active_labels] = self._forward(X)
        return proba

    def _forward(self, X):
        if sp.issparse(X) or getattr(self.model_.inputs[0], "sparse", False):
            from skml._sparse import predict_sparse

            return predict_sparse(self.model_, self._predictor, X)
        return self._predictor(X)

    def predict_proba(self, X):
        """Probability of each label (multi-label) or class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            Multi-label: one independent probability per label, strictly inside (0, 1), also
            for a single row. Binary: columns ``[1 - p, p]``. Multiclass: softmax probabilities.
        """
        if _is_dask(X):
            from skml._dask import predict_blocks

            return predict_blocks(self, X, "predict_proba")
        proba = self._network_proba(X)
        eps = 1e-7
        if self._target_kind == "binary":
            p = np.clip(proba[:, 0], eps, 1 - eps)
            return np.column_stack([1 - p, p])
        if self._target_kind == "multilabel":
            return np.clip(proba, eps, 1 - eps, out=proba)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predict labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels) or (n_samples,)
            Multi-label: a 0/1 matrix, label ``j`` set when its probability is
            >= ``thresholds_[j]`` (and the top ``min_labels`` labels always set). 1-D targets:
            class values.
        """
        if _is_dask(X):
            from skml._dask import predict_blocks

            return predict_blocks(self, X, "predict")
        proba = self.predict_proba(X)
        if self._target_kind == "multilabel":
            from skml.thresholds import apply_thresholds

            return apply_thresholds(proba, self.thresholds_, min_labels=self.min_labels)
        if self._target_kind == "binary":
            return self.classes_[(proba[:, 1] >= self.thresholds_[0]).astype(int)]
        return self.classes_[proba.argmax(axis=1)]

    def predict_top_k(self, X, k=3):
        """The ``k`` most probable labels of each sample, with their probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.
        k : int, default=3
            Number of labels per sample, from 1 to ``n_labels_``.

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Entries of ``classes_`` (label names when ``y`` was a DataFrame), most probable
            first; ties go to the label that comes first.
        proba : ndarray of shape (n_samples, k)
            Their probabilities.
        """
        from skml.thresholds import top_k

        indices, values = top_k(self.predict_proba(X), k)
        return np.asarray(self.classes_)[indices], values

    def export(self, path, *, overwrite=False):
        """Write a TensorFlow SavedModel computing ``predict_proba``, loadable without skml.

        Parameters
        ----------
        path : str or path-like
            Folder to create. Load it with plain TensorFlow:
            ``tf.saved_model.load(path).serve(X.astype("float32"))`` gives the same
            probabilities as ``predict_proba``. ``skml.json`` beside it holds ``classes``,
            ``thresholds`` and ``min_labels``, the decision rule of ``predict``.
        overwrite : bool, default=False
            Replace an existing non-empty folder; without it such a folder is an error.

        Returns
        -------
        path : pathlib.Path
            The folder written.
        """
        check_is_fitted(self)
        from skml._export import export_saved_model

        return export_saved_model(self, path, overwrite=overwrite)

    # ----------------------------------------------------------- sklearn API

    def __getstate__(self):
        from skml._persistence import dump_state

        state = dict(self.__dict__)
        state.pop("_trainer", None)  # traced functions: rebuilt on the next partial_fit
        if state.get("model_") is not None:
            # Keras' pickle resets the dropout generators; keep their state, so that training
            # continued after unpickling (partial_fit, warm_start) matches the original's.
            state["_seed_states"] = [
                (i, np.asarray(v.value))
                for i, v in enumerate(self.model_.variables)
                if v.path.endswith("seed_generator_state")
            ]
        return dump_state(state)

    def __setstate__(self, state):
        from skml._persistence import load_state

        state = load_state(state, type(self).__name__)
        seed_states = state.pop("_seed_states", ())
        self.__dict__.update(state)
        if self.__dict__.get("model_") is not None:
            from skml._training import Predictor

            variables = self.model_.variables
            for i, value in seed_states:
                if i < len(variables) and tuple(variables[i].shape) == value.shape:
                    variables[i].assign(value)
            self._predictor = Predictor(self.model_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = self.architecture == "mlp"
        return tags


def _is_dask(obj):
    """Whether ``obj`` is a Dask collection, without importing Dask."""
    return type(obj).__module__.startswith("dask") and hasattr(obj, "__dask_graph__")


def _check_network_params(clf):
    """Check the network parameters that scikit-learn's constraints cannot express."""
    try:
        sizes = tuple(clf.hidden_layer_sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(u, Integral) and not isinstance(u, bool) and u > 0 for u in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a tuple of positive integers (units per hidden layer; "
            f"() for none); got {clf.hidden_layer_sizes!r}."
        )
    if isinstance(clf.activation, str):
        from skml._training import import_keras

        try:
            import_keras().activations.get(clf.activation)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "activation must be the name of a Keras activation (such as 'relu', 'gelu', "
                f"'tanh', 'silu') or a callable; got {clf.activation!r}."
            ) from exc

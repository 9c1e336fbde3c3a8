"""KerasMultiLabelClassifier: the scikit-learn contract around a Keras network.

The class validates, delegates and sets the fitted attributes: the network spec
(:mod:`skml.networks`) builds the network, the output head (:mod:`skml._head`) owns what the
target kind decides, :mod:`skml._fit` trains and tunes. Importing this module does not import
TensorFlow: Keras is loaded by ``fit`` and ``predict``.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skml import _build, _fit, _incremental
from skml._head import label_names, make_head
from skml._validation import as_numeric_labels, check_per_label
from skml.thresholds import RULES

__all__ = ["KerasMultiLabelClassifier"]

# Rules needing no parameter the estimator lacks (beta; recall's or precision's constraint).
_TUNED_RULES = {name for name, rule in RULES.items() if rule.requires is None} - {"fbeta"}


class KerasMultiLabelClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label classifier: a Keras network with one sigmoid unit per label.

    A 2-D 0/1 target ``y`` of shape ``(n_samples, n_labels)`` trains one sigmoid output per
    label with binary cross-entropy, so each label gets its own independent probability. A 1-D
    binary ``y`` trains one sigmoid, a 1-D multiclass ``y`` a softmax with categorical
    cross-entropy. A 2-D ``y`` is never re-typed: it stays multi-label even when every row
    carries exactly one label. ``X`` is whatever the network reads: 2-D rows, dense or SciPy
    sparse, for the MLP; images for the CNN.

    Every parameter is used by the fit it is given to, or refused with a ``ValueError`` that
    says why (``patience`` without early stopping, say): none is ignored silently.

    Parameters
    ----------
    network : MLP, CNN, TabM, Ensemble, keras.Model, callable or None, default=None
        The network: a spec from :mod:`skml.networks`, whose parameters ``GridSearchCV``
        reaches as ``network__dropout`` and so on. None is ``MLP()`` (periodic embeddings of
        each feature when there are at most 512, then one hidden layer of 256 ReLU units,
        dropout 0.2, no L2), and under ``threshold="f1"`` in an in-memory ``fit``
        ``Ensemble()``, 5 such MLPs averaged: it gained macro-F1 on 7 of the 8 sets of the
        development suite, for about twice the tuned fit with out-of-fold tuning (3 + 5
        networks instead of 3 + 1; 5 instead of 1 with ``threshold_cv="validation"``).
        ``network=MLP()`` keeps one network; at a fixed threshold 5 networks tie one, and a
        Dask fit, which would train the members together, keeps ``MLP()``. A ``warm_start``
        fit continues the fitted network, whatever None now resolves to. Or a user network,
        a Keras model (cloned before training, so the given instance is never modified) or a
        build function following scikeras' conventions (it may take ``meta`` and
        ``compile_kwargs`` by name). A user network must end in ``n_outputs_`` probabilities
        (sigmoid for multi-label and binary targets, softmax for multiclass); skml compiles it
        with its own loss and optimizer.
    loss : str, keras loss or None, default=None
        Loss of the sigmoid outputs (multi-label or binary targets): None is binary
        cross-entropy; "binary_crossentropy", "focal", "asymmetric" (the names of
        :data:`skml.losses.LOSSES`) or a loss object. The skml losses (:mod:`skml.losses`)
        can be given as instances, whose parameters ``GridSearchCV`` reaches as
        ``loss__gamma``. A multiclass target trains with categorical cross-entropy: any
        other ``loss`` is an error.
    class_weight : None, "balanced", array-like of shape (n_labels,), dict or Series, default=None
        Multi-label: per-label weight of the *positive* term inside the loss
        (:func:`skml.losses.compute_pos_weight`; "balanced" is ``n_neg / n_pos`` bounded to
        [0.1, 10]). An array is in label order; a dict or pandas Series is matched by label
        name (labels left out get 1, unknown names are an error). Binary or multiclass:
        scikit-learn's per-class sample weights.
    optimizer : str or keras.optimizers.Optimizer, default="adam"
        Keras optimizer name or instance (an instance is cloned from its config).
    learning_rate_init : float or None, default=None
        Learning rate of an optimizer given by name (None: 1e-3), as in scikit-learn's
        ``MLPClassifier``. An optimizer instance carries its own: setting both is an error.
    epochs : int, default=200
        Maximum number of passes over the training data.
    batch_size : int, default=32
        Rows per gradient step.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training data, split by iterative (multi-label)
        stratification, and stop when its loss has not improved for ``patience`` epochs,
        restoring the mean of the weights of the best epoch and the epochs after it
        (``average_epochs``). With thresholds tuned out of fold, the out-of-fold networks
        early-stop so, and the final network trains on every row for their best epoch (see
        ``final_epochs``).
    validation_fraction : float or None, default=None
        Share of the training data held out for early stopping and threshold tuning (None:
        0.1). Setting it when nothing is held out is an error.
    patience : int or None, default=None
        Epochs without improvement of the validation loss before training stops (None: 10).
        Setting it with ``early_stopping=False`` is an error.
    average_epochs : int or None, default=None
        Early stopping restores the mean of the weights of the best epoch (lowest validation
        loss) and of the ``average_epochs - 1`` epochs after it, which training runs anyway
        while it waits out ``patience`` (None: 5, or ``patience + 1`` if fewer; 1 restores the
        best epoch's weights, as Keras' ``restore_best_weights=True``). Averaging the weights
        of late epochs (Izmailov et al. 2018, "stochastic weight averaging") costs no training
        and gained hamming loss and macro-F1 on the development suite (see the README). Setting
        it with ``early_stopping=False``, or above ``patience + 1``, is an error.
    threshold : float, array-like of shape (n_labels,), dict, Series, "f1" or "accuracy", \
            default=0.5
        A label is predicted when its probability is >= its threshold. An array is in label
        order; a dict or pandas Series is matched by label name (labels left out keep 0.5,
        unknown names are an error); every value must lie in [0, 1]. "f1" tunes one threshold
        per label to maximise that label's F1 (its default network is ``Ensemble()``, see
        ``network``), "accuracy" to minimise its error rate (the rule
        that follows hamming loss), "balanced_accuracy" likewise; all tune on predictions for
        data the network did not train on: out-of-fold predictions, or the validation split
        (see ``threshold_cv``; rules needing ``beta`` or a constraint: use
        :class:`skml.TunedThresholdMultiLabelClassifier`). Multiclass targets use argmax.
    threshold_cv : int, "validation" or None, default=None
        Where a threshold rule is tuned. An int: on out-of-fold predictions of that many more
        networks, fitted on stratified folds. None: 3 folds (Dask: held-out blocks; under 6
        rows: the validation split). "validation": the validation split, no extra fit.
    threshold_shrinkage : float or None, default=None
        Pseudo-count pulling the tuned thresholds of labels with few positives toward the safe
        threshold (0.5 in probability): a label with ``m`` positives (the count of its
        minority class) keeps ``m / (m + threshold_shrinkage)`` of its tuned threshold's
        distance from it (see :func:`skml.thresholds.tune_thresholds`; 0 turns it off).
        None: 1, chosen on the development suite (earlier 0.2.0 builds used 10, then 3; see
        the README). Setting it without a threshold rule is an error.
    final_epochs : {"out_of_fold", "early_stopping"} or None, default=None
        How the network ``predict`` uses is trained when thresholds are tuned on out-of-fold
        predictions with early stopping on. "out_of_fold": on every training row, with no
        validation split, for the mean best epoch of the out-of-fold networks (which
        early-stop as usual) and the ``average_epochs - 1`` after it, whose weights are
        averaged as early stopping's are; ``history_`` then holds no ``val_loss``.
        "early_stopping": it early-stops on a validation split of its own, as every other fit
        does (and as earlier builds did here). None: "out_of_fold" where it applies. Training
        on every row gave more macro-F1 with ``threshold="f1"`` on the development suite (see
        the README). Setting it where it does not apply is an error.
    min_labels : int, default=0
        Multi-label: every sample gets at least this many labels, the most probable ones when
        too few pass their thresholds. An error for 1-D targets.
    distribute_strategy : None, "mirrored", callable or tf.distribute.Strategy, default=None
        Train on several devices: "mirrored" is ``tf.distribute.MirroredStrategy()`` over all
        visible GPUs; a function returning a strategy (picklable and clonable, unlike a strategy
        object) or a strategy. Training then goes through Keras ``Model.fit`` (TensorFlow
        backend). Results match single-device training up to float32 reduction order.
    warm_start : bool, default=False
        ``fit`` continues training the fitted network (weights and optimizer state) instead
        of building a new one; the data must have the same number of features and the same
        labels (else a ValueError). Labels the first fit found constant stay untrained. A
        continued fit early-stops on its own validation split (``final_epochs="out_of_fold"``
        trains a new network, so it is refused there). The network is the fitted one: a
        ``network`` of another kind or setting than the fitted network's is a ValueError
        naming the change (``partial_fit`` likewise), and ``network=None`` continues the
        fitted network whatever the default now is.
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
        "network": [HasMethods(["build", "get_params"]), callable, None],
        "loss": [str, HasMethods(["__call__"]), None],  # names: skml.losses.LOSSES
        "class_weight": [StrOptions({"balanced"}), dict, "array-like", None],
        "optimizer": [str, HasMethods(["get_config"])],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 0, None, closed="left"), None],
        "average_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "threshold": [
            Interval(Real, 0, 1, closed="both"),
            StrOptions(_TUNED_RULES),
            "array-like",
            dict,
        ],
        "threshold_cv": [
            Interval(Integral, 2, None, closed="left"),
            StrOptions({"validation"}),
            None,
        ],
        "threshold_shrinkage": [Interval(Real, 0, None, closed="left"), None],
        "final_epochs": [StrOptions({"out_of_fold", "early_stopping"}), None],
        "min_labels": [Interval(Integral, 0, None, closed="left")],
        "distribute_strategy": [StrOptions({"mirrored"}), callable, HasMethods(["scope"]), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        network=None,
        *,
        loss=None,
        class_weight=None,
        optimizer="adam",
        learning_rate_init=None,
        epochs=200,
        batch_size=32,
        early_stopping=True,
        validation_fraction=None,
        patience=None,
        average_epochs=None,
        threshold=0.5,
        threshold_cv=None,
        threshold_shrinkage=None,
        final_epochs=None,
        min_labels=0,
        distribute_strategy=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.network = network
        self.loss = loss
        self.class_weight = class_weight
        self.optimizer = optimizer
        self.learning_rate_init = learning_rate_init
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.average_epochs = average_epochs
        self.threshold = threshold
        self.threshold_cv = threshold_cv
        self.threshold_shrinkage = threshold_shrinkage
        self.final_epochs = final_epochs
        self.min_labels = min_labels
        self.distribute_strategy = distribute_strategy
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def set_params(self, **params):
        """Set the estimator's parameters, and the network spec's as ``network__<name>``.

        ``network=None`` has no parameters of its own (the default network is resolved at
        ``fit``): a ``network__<name>`` parameter then needs a spec, ``network=MLP()`` or
        another, and is a ``ValueError`` naming it without one.

        Parameters
        ----------
        **params
            Estimator parameters, and ``network__<name>`` for the network spec's.

        Returns
        -------
        self : KerasMultiLabelClassifier
        """
        nested = sorted(name for name in params if name.startswith("network__"))
        if nested and params.get("network", self.network) is None:
            raise ValueError(
                f"{nested[0]} sets a parameter of the network spec, but network=None (the "
                "default, resolved at fit: MLP(), or Ensemble() under threshold='f1'). Pass "
                "network=MLP() (from skml.networks) or the spec to search, e.g. "
                f"KerasMultiLabelClassifier(network=MLP()).set_params({nested[0]}=...)."
            )
        return super().set_params(**params)

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; must be finite. A Dask array or DataFrame (``dask`` extra) trains
            out of core, streaming its blocks: see :mod:`skml._dask` and the README. Images
            ``(n_samples, height, width, channels)`` for a CNN without ``input_shape``.
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
        if previous is not None:
            _incremental.check_same_network(
                self, "warm_start=True", "Set warm_start=False to train the new network."
            )
        # A warm start continues the fitted network, whatever network=None now resolves to.
        spec = self._spec if previous is not None else _build.network_spec(self)
        names = label_names(y)
        y = as_numeric_labels(y) if y is not None else y
        X, y = validate_data(self, X, y, multi_output=True, **spec.input_checks())
        X_given, (X, sample_shape) = X, spec.as_input(X)  # X_given: the folds of threshold_cv
        head, y_net = make_head(y, names=names, drop_constant=previous is None)
        _build.check_applicable(self, head, n_samples=X.shape[0], continuing=previous is not None)
        if previous is not None:
            _incremental.check_continuation(self, previous, head)
            head = self._head
            y_net = head.encode(y)
        self._spec, self._sample_shape, self._head = spec, sample_shape, head
        if previous is None:
            self._spec_settings = _incremental.spec_settings(spec)
        self.classes_ = head.classes
        self.n_labels_ = head.n_labels
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        class_sample_weight = head.sample_weight(self.class_weight, y_net)
        if class_sample_weight is not None:
            sample_weight = sample_weight * class_sample_weight
        if previous is None:
            self.constant_labels_ = head.constant
            self.n_outputs_ = head.n_outputs
            self.model_ = None
            self.n_iter_ = 0
        self.thresholds_ = self._initial_thresholds()
        self.history_ = {}
        if self.n_outputs_ == 0:
            return self
        from skml._training import float32_floatx

        with float32_floatx():
            _fit.train(self, spec, head, X, y_net, sample_weight, self.model_, X_given)
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

    def _initial_thresholds(self):
        labels = self._head.threshold_labels()
        if isinstance(self.threshold, str):
            return np.full(len(labels), 0.5)
        return check_per_label(
            self.threshold, labels, name="threshold", default=0.5, low=0.0, high=1.0
        )

    # -------------------------------------------------------------- predict

    def _outputs(self, X):
        """The network's outputs for ``X`` (None when every label was constant), and n rows."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, **self._spec.input_checks())
        X, _ = self._spec.as_input(X, self._sample_shape)
        return (None if self.model_ is None else self._predictor(X)), X.shape[0]

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
        outputs, n_rows = self._outputs(X)
        return self._head.proba(outputs, n_rows)

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
        return self._head.decide(proba, self.thresholds_, self.min_labels)

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
        from skml._persistence import dump_estimator

        return dump_estimator(self)

    def __setstate__(self, state):
        from skml._persistence import load_estimator

        load_estimator(self, state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = _build.network_spec(self, check=False).accepts_sparse
        return tags


def _is_dask(obj):
    """Whether ``obj`` is a Dask collection, without importing Dask."""
    return type(obj).__module__.startswith("dask") and hasattr(obj, "__dask_graph__")

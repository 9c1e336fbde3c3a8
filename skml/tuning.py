"""Per-label decision thresholds for any scikit-learn multi-label classifier.

:class:`TunedThresholdMultiLabelClassifier` is the multi-label counterpart of
:class:`sklearn.model_selection.TunedThresholdClassifierCV`, which is binary-only: it tunes one
threshold per label on out-of-fold probabilities, with the rules of
:func:`skml.thresholds.tune_thresholds` (the same implementation as
``KerasMultiLabelClassifier(threshold="f1")``), and refits the estimator on all the data.

The out-of-fold helpers here are shared with :mod:`skml.calibration`.
"""

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, get_tags, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from skml._validation import (
    as_label_scores,
    check_label_matrix,
    check_number,
    check_per_label,
    positive_column,
)
from skml.thresholds import RULES, Rule, apply_thresholds, check_rule, top_k, tune_thresholds

__all__ = ["TunedThresholdMultiLabelClassifier"]


# ------------------------------------------------------------------ shared out-of-fold helpers


def _label_names(y, n_labels):
    """Column names of a DataFrame ``y``, else ``0..n_labels-1``."""
    columns = getattr(y, "columns", None)
    if columns is not None and hasattr(y, "iloc"):
        return np.asarray(columns)
    return np.arange(n_labels)


def _check_targets(y):
    """``(y_fit, y_matrix)``: what the inner estimator gets, and the 0/1 int8 matrix."""
    y_matrix = check_label_matrix(y, "y")
    # A DataFrame goes through, so that an inner skml estimator learns the label names.
    y_fit = y if hasattr(y, "iloc") and hasattr(y, "columns") else y_matrix
    return y_fit, y_matrix


def _label_proba(estimator, X, n_labels, caller):
    """``predict_proba`` of a fitted multi-label estimator as one ``(n_samples, n_labels)`` array.

    Accepts both conventions: an ``(n_samples, n_labels)`` array and a list of ``n_labels``
    arrays of shape ``(n_samples, n_classes)``, of which the positive column is taken through
    ``classes_``; a label seen with one class only in training has a single column and scores
    0 (never positive) or 1 (always positive).
    """
    raw = estimator.predict_proba(X)
    classes = getattr(estimator, "classes_", None)
    if (
        n_labels == 1
        and isinstance(raw, np.ndarray)
        and raw.ndim == 2
        and isinstance(classes, np.ndarray)
        and classes.ndim == 1
        and classes.shape[0] == raw.shape[1]
        and classes.dtype.kind in "biuf"
        and np.isin(classes, (0, 1)).all()
    ):
        # One label: scikit-learn estimators treat y of shape (n, 1) as a single binary
        # target and return its (n_samples, n_classes) probabilities.
        proba = positive_column(raw, classes)[:, None]
    else:
        proba = as_label_scores(raw, classes=getattr(estimator, "classes_", None))
    if proba.ndim != 2 or proba.shape[1] != n_labels:
        raise ValueError(
            f"{caller}: predict_proba of {type(estimator).__name__} gave scores of shape "
            f"{proba.shape}; expected (n_samples, {n_labels}), one column per label."
        )
    return proba


def _fit_params_subset(fit_params, indices, n_samples):
    """Sample-aligned fit parameters (``sample_weight`` and the like) restricted to ``indices``."""
    subset = {}
    for key, value in fit_params.items():
        if value is not None and hasattr(value, "__len__") and _num_samples(value) == n_samples:
            subset[key] = _safe_indexing(value, indices)
        else:
            subset[key] = value
    return subset


def _fit_and_predict(estimator, X, y, fit_params, train, test, n_labels, caller):
    n_samples = _num_samples(X)
    estimator.fit(
        _safe_indexing(X, train),
        _safe_indexing(y, train),
        **_fit_params_subset(fit_params, train, n_samples),
    )
    return estimator, _label_proba(estimator, _safe_indexing(X, test), n_labels, caller)


def _resolve_cv(cv, random_state):
    """A splitter for ``cv``: multi-label stratified folds for an int, one split for a float."""
    from skml.model_selection import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit

    if isinstance(cv, Integral) and not isinstance(cv, bool):
        return MultilabelStratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
    if isinstance(cv, Real) and not isinstance(cv, bool):
        return MultilabelStratifiedShuffleSplit(
            n_splits=1, test_size=float(cv), random_state=random_state
        )
    return check_cv(cv)


def _out_of_fold(meta, X, y_fit, y_matrix, fit_params, refit, caller):
    """Fit ``meta.estimator_`` and return the tuning data ``(y_tune, proba_tune)``.

    With ``cv="prefit"`` the fitted estimator scores ``X``. Otherwise each split's clone
    scores its test part; samples in several test parts (repeated splits) count once per
    part. ``refit`` fits a clone on all the data, else the single split's model is kept.
    """
    n_labels = y_matrix.shape[1]
    if meta.cv == "prefit":
        if refit is True:
            raise ValueError("When cv='prefit', refit cannot be True: the estimator is kept.")
        try:
            check_is_fitted(meta.estimator)
        except NotFittedError as exc:
            raise NotFittedError(
                f"When cv='prefit', estimator must be fitted; {type(meta.estimator).__name__} "
                "is not. Fit it first, or pass cv=5."
            ) from exc
        meta.estimator_ = meta.estimator
        return y_matrix, _label_proba(meta.estimator_, X, n_labels, caller)

    splitter = _resolve_cv(meta.cv, meta.random_state)
    splits = list(splitter.split(X, y_matrix))
    if refit == "auto":
        refit = len(splits) > 1
    if refit is False and len(splits) != 1:
        raise ValueError(
            f"refit=False needs a single train/test split (e.g. cv=0.2); cv={meta.cv!r} gives "
            f"{len(splits)} splits."
        )
    results = Parallel(n_jobs=meta.n_jobs)(
        delayed(_fit_and_predict)(
            clone(meta.estimator), X, y_fit, fit_params, train, test, n_labels, caller
        )
        for train, test in splits
    )
    test_indices = np.concatenate([test for _, test in splits])
    proba = np.concatenate([p for _, p in results])
    if refit:
        meta.estimator_ = clone(meta.estimator).fit(X, y_fit, **fit_params)
    else:
        meta.estimator_ = results[0][0]
    return y_matrix[test_indices], proba


def _copy_input_attributes(meta):
    for name in ("n_features_in_", "feature_names_in_"):
        if hasattr(meta.estimator_, name):
            setattr(meta, name, getattr(meta.estimator_, name))
        elif name in vars(meta):
            delattr(meta, name)


def _multilabel_tags(meta, tags):
    tags.classifier_tags.multi_label = True
    tags.classifier_tags.multi_class = False
    tags.target_tags.multi_output = True
    tags.target_tags.single_output = False
    inner = get_tags(meta.estimator)
    tags.input_tags.sparse = inner.input_tags.sparse
    tags.input_tags.allow_nan = inner.input_tags.allow_nan
    tags.input_tags.pairwise = inner.input_tags.pairwise
    return tags


# ------------------------------------------------------------------------------ the estimator


def _score(objective, y_true, y_pred, beta):
    """A label's objective: a :class:`~skml.thresholds.Rule` (with ``beta``) or a callable."""
    if isinstance(objective, Rule):
        return objective(y_true, y_pred, beta)
    return objective(y_true, y_pred)


class TunedThresholdMultiLabelClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Multi-label classifier whose per-label thresholds are tuned on out-of-fold probabilities.

    Wraps any multi-label classifier with ``predict_proba`` (random forests, extra trees,
    k-nearest neighbours, :class:`~sklearn.neural_network.MLPClassifier`,
    :class:`~sklearn.multioutput.MultiOutputClassifier`,
    :class:`~sklearn.multioutput.ClassifierChain`, XGBoost, CatBoost,
    :class:`~skml.KerasMultiLabelClassifier`). ``fit`` computes out-of-fold probabilities on
    multi-label stratified folds, tunes one threshold per label for ``scoring`` with
    :func:`skml.thresholds.tune_thresholds` (rare-label safeguards included), and refits the
    estimator on all the data. ``predict`` then applies the tuned thresholds, never 0.5.

    The multi-label counterpart of :class:`sklearn.model_selection.TunedThresholdClassifierCV`.

    Parameters
    ----------
    estimator : estimator object
        A multi-label classifier with ``fit`` and ``predict_proba``; its ``predict_proba``
        returns an ``(n_samples, n_labels)`` array or a list of ``n_labels`` arrays of shape
        ``(n_samples, 2)`` (or ``(n_samples, 1)`` for a label constant in training). With
        ``cv="prefit"`` it must be fitted. The estimator must itself cope with labels constant
        in a training fold (e.g. ``LogisticRegression`` inside ``MultiOutputClassifier`` does
        not; random forests do).
    scoring : {"f1", "fbeta", "accuracy", "balanced_accuracy", "recall", "precision"} or \
            callable, default="f1"
        Objective tuned for each label, higher is better: ``"f1"``; ``"fbeta"`` with
        ``beta``; ``"accuracy"`` (the label's share of the hamming loss: minimises hamming
        loss); ``"balanced_accuracy"``; ``"recall"`` at a minimum precision (needs
        ``min_precision``); ``"precision"`` at a minimum recall (needs ``min_recall``); or a
        callable ``f(y_true_label, y_pred_label) -> float`` on one label's 1-D 0/1 arrays.
    beta : float, array-like of shape (n_labels,), dict or pandas.Series, default=1.0
        Recall weight of ``scoring="fbeta"``; per label by position or by label name.
    min_precision : float, array-like, dict or pandas.Series, default=None
        Minimum precision per label on the tuning data (0 for labels a dict leaves out); a
        constraint that works with any ``scoring``.
    min_recall : float, array-like, dict or pandas.Series, default=None
        Minimum recall per label on the tuning data, likewise.
    shrinkage : float, default=1.0
        Pseudo-count pulling the thresholds of labels with few positives toward 0.5; 0 turns
        it off. See :func:`skml.thresholds.tune_thresholds`.
    max_positive_ratio : float or None, default=3.0
        A label's rule may predict at most this many times its positives on the tuning data;
        None turns the cap off.
    min_labels : int, default=0
        ``predict`` gives every sample at least this many labels, the highest-scoring ones
        (:func:`skml.thresholds.apply_thresholds`).
    cv : int, float, cross-validation generator, iterable or "prefit", default=5
        An int: that many :class:`~skml.model_selection.MultilabelStratifiedKFold` folds,
        shuffled with ``random_state``. A float in (0, 1): one stratified split holding out
        that share. A splitter or an iterable of ``(train, test)`` index pairs: used as is.
        ``"prefit"``: ``estimator`` is fitted already and the thresholds are tuned on the
        data given to ``fit``, without refitting (use data the estimator was not trained on).
    refit : {"auto", True, False}, default="auto"
        Whether ``estimator_`` is refitted on all the data after tuning. ``"auto"``: yes,
        except with ``cv="prefit"`` or a single split, where the split's model is kept.
        ``False`` needs a single split.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of the folds when ``cv`` is an int or a float.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib); None means 1.

    Attributes
    ----------
    estimator_ : estimator object
        The estimator that ``predict_proba`` uses: refitted on all the data, or ``estimator``
        itself with ``cv="prefit"``.
    best_thresholds_ : ndarray of shape (n_labels,)
        The tuned threshold of each label.
    thresholds_ : ndarray of shape (n_labels,)
        The same array, under the name :class:`~skml.KerasMultiLabelClassifier` uses.
    best_scores_ : ndarray of shape (n_labels,)
        Each label's objective at its threshold on the tuning (out-of-fold) data.
    classes_ : ndarray of shape (n_labels,)
        Label names: the columns of a DataFrame ``y``, else ``0..n_labels-1``.
    n_labels_ : int
    n_features_in_ : int
        From ``estimator_``, when it has it.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        From ``estimator_``, when it has it.

    See Also
    --------
    skml.thresholds.tune_thresholds : The tuning rule.
    skml.calibration.CalibratedMultiLabelClassifier : Per-label calibration; wrap it in this
        class to tune thresholds on calibrated probabilities.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skml.tuning import TunedThresholdMultiLabelClassifier
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    >>> rf = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> clf = TunedThresholdMultiLabelClassifier(rf, scoring="f1", cv=3, random_state=0)
    >>> clf.fit(X, y).best_thresholds_.shape
    (4,)
    >>> clf.predict(X[:2]).shape
    (2, 4)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "scoring": [StrOptions(set(RULES)), callable],
        "beta": "no_validation",
        "min_precision": "no_validation",
        "min_recall": "no_validation",
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "max_positive_ratio": [Interval(Real, 1, None, closed="left"), None],
        "min_labels": [Interval(Integral, 0, None, closed="left")],
        "cv": [
            Interval(Integral, 2, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            StrOptions({"prefit"}),
            "cv_object",
        ],
        "refit": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        scoring="f1",
        beta=1.0,
        min_precision=None,
        min_recall=None,
        shrinkage=1.0,
        max_positive_ratio=3.0,
        min_labels=0,
        cv=5,
        refit="auto",
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.scoring = scoring
        self.beta = beta
        self.min_precision = min_precision
        self.min_recall = min_recall
        self.shrinkage = shrinkage
        self.max_positive_ratio = max_positive_ratio
        self.min_labels = min_labels
        self.cv = cv
        self.refit = refit
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _per_label_parameters(self, classes):
        """``beta``, ``min_precision`` and ``min_recall`` as arrays in label order (or None)."""
        check_rule(
            self.scoring, "scoring", min_precision=self.min_precision, min_recall=self.min_recall
        )
        beta = check_per_label(
            self.beta, classes, name="beta", default=1.0, low=0.0, low_open=True
        )
        bounds = {"default": 0.0, "low": 0.0, "high": 1.0}
        min_precision = (
            None
            if self.min_precision is None
            else check_per_label(self.min_precision, classes, name="min_precision", **bounds)
        )
        min_recall = (
            None
            if self.min_recall is None
            else check_per_label(self.min_recall, classes, name="min_recall", **bounds)
        )
        return beta, min_precision, min_recall

    def fit(self, X, y, **fit_params):
        """Tune the per-label thresholds and fit the estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data, passed to the estimator as given.
        y : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
            Label indicator matrix; a DataFrame's columns become ``classes_``.
        **fit_params : dict
            Passed to the estimator's ``fit``; sample-aligned ones (``sample_weight``) are
            split with the folds.

        Returns
        -------
        self : TunedThresholdMultiLabelClassifier
        """
        self._validate_params()
        X, y = indexable(X, y)
        y_fit, y_matrix = _check_targets(y)
        classes = _label_names(y, y_matrix.shape[1])
        beta, min_precision, min_recall = self._per_label_parameters(classes)
        check_number(self.min_labels, "min_labels", low=0, high=y_matrix.shape[1], integer=True)
        y_tune, proba = _out_of_fold(
            self, X, y_fit, y_matrix, fit_params, self.refit, type(self).__name__
        )
        thresholds = tune_thresholds(
            y_tune,
            proba,
            metric=self.scoring,
            beta=beta,
            min_precision=min_precision,
            min_recall=min_recall,
            shrinkage=self.shrinkage,
            max_positive_ratio=self.max_positive_ratio,
        )
        self.best_thresholds_ = thresholds
        self.thresholds_ = thresholds
        y_pred = (proba >= thresholds).astype(int)
        objective = RULES[self.scoring] if isinstance(self.scoring, str) else self.scoring
        self.best_scores_ = np.array(
            [
                float(_score(objective, y_tune[:, j], y_pred[:, j], beta[j]))
                for j in range(y_tune.shape[1])
            ]
        )
        self.classes_ = classes
        self.n_labels_ = y_matrix.shape[1]
        _copy_input_attributes(self)
        return self

    def predict_proba(self, X):
        """Positive-class probability of every label, from ``estimator_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            One column per label, whatever convention ``estimator_`` uses.
        """
        check_is_fitted(self, "thresholds_")
        return _label_proba(self.estimator_, X, self.n_labels_, type(self).__name__)

    def predict(self, X):
        """Labels whose probability reaches their tuned threshold (and ``min_labels``).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels), dtype int
        """
        return apply_thresholds(self.predict_proba(X), self.thresholds_, self.min_labels)

    def predict_top_k(self, X, k=3):
        """The ``k`` most probable labels of each sample, with their probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        k : int, default=3
            Number of labels per sample, from 1 to ``n_labels_``.

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Entries of ``classes_``, most probable first; ties go to the first label.
        proba : ndarray of shape (n_samples, k)
        """
        indices, values = top_k(self.predict_proba(X), k)
        return np.asarray(self.classes_)[indices], values

    def __sklearn_tags__(self):
        return _multilabel_tags(self, super().__sklearn_tags__())

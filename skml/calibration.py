"""Per-label probability calibration for any scikit-learn multi-label classifier.

:class:`CalibratedMultiLabelClassifier` fits one calibrator per label (Platt's sigmoid or
isotonic regression) on out-of-fold probabilities, the multi-label counterpart of
:class:`sklearn.calibration.CalibratedClassifierCV` with ``ensemble=False``.
"""

from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.utils import indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skml._validation import check_number
from skml.thresholds import apply_thresholds, top_k
from skml.tuning import (
    _check_targets,
    _copy_input_attributes,
    _label_names,
    _label_proba,
    _multilabel_tags,
    _out_of_fold,
)

__all__ = ["CalibratedMultiLabelClassifier"]


class _SigmoidCalibrator:
    """Platt scaling ``p = expit(a * s + b)``, fitted with Platt's smoothed targets.

    The targets ``(n_pos + 1) / (n_pos + 2)`` and ``1 / (n_neg + 2)`` instead of 1 and 0 keep
    the fit finite on separable data and on a label without positives or negatives (Platt,
    1999), as in scikit-learn's ``CalibratedClassifierCV``.
    """

    def fit(self, s, y):
        n_pos = float(y.sum())
        n_neg = float(y.size - n_pos)
        target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

        def loss_and_grad(params):
            a, b = params
            p = np.clip(expit(a * s + b), 1e-12, 1 - 1e-12)
            loss = -np.sum(target * np.log(p) + (1 - target) * np.log(1 - p))
            residual = p - target
            return loss, np.array([np.sum(residual * s), np.sum(residual)])

        prior = np.log((n_pos + 1) / (n_neg + 1))
        result = minimize(loss_and_grad, x0=[0.0, prior], jac=True, method="L-BFGS-B")
        self.a_, self.b_ = (float(v) for v in result.x)
        return self

    def predict(self, s):
        return expit(self.a_ * s + self.b_)


def _fit_calibrator(method, s, y):
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    return _SigmoidCalibrator().fit(s, y)


class CalibratedMultiLabelClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Multi-label classifier with one probability calibrator per label.

    ``fit`` computes out-of-fold probabilities on multi-label stratified folds, fits one
    calibrator per label on them, and refits the estimator on all the data; ``predict_proba``
    maps the refitted estimator's probabilities through the calibrators. This is
    :class:`sklearn.calibration.CalibratedClassifierCV` with ``ensemble=False``: one final
    model (as fast to predict as the estimator itself) and calibrators fitted on every
    training sample's out-of-fold probability. It is chosen over the ensemble of fold models
    because the calibration map is then fitted on all the data, which matters for rare labels.

    Parameters
    ----------
    estimator : estimator object
        A multi-label classifier with ``fit`` and ``predict_proba`` in either convention (see
        :class:`~skml.tuning.TunedThresholdMultiLabelClassifier`). With ``cv="prefit"`` it
        must be fitted.
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        ``"sigmoid"``: Platt scaling, two parameters per label, safe on small data.
        ``"isotonic"``: isotonic regression, non-parametric; needs more samples per label
        (about 1,000 is the usual advice) not to overfit.
    cv : int, float, cross-validation generator, iterable or "prefit", default=5
        As in :class:`~skml.tuning.TunedThresholdMultiLabelClassifier`: an int gives that many
        :class:`~skml.model_selection.MultilabelStratifiedKFold` folds; ``"prefit"`` fits the
        calibrators on the data given to ``fit`` (held-out data) and keeps the estimator.
    threshold : float, default=0.5
        ``predict`` sets a label when its calibrated probability is ``>=`` this. To tune
        per-label thresholds on calibrated probabilities, wrap this estimator in
        :class:`~skml.tuning.TunedThresholdMultiLabelClassifier`.
    min_labels : int, default=0
        ``predict`` gives every sample at least this many labels.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of the folds when ``cv`` is an int or a float.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib); None means 1.

    Attributes
    ----------
    estimator_ : estimator object
        Refitted on all the data, or ``estimator`` itself with ``cv="prefit"``.
    calibrators_ : list of n_labels objects
        Fitted calibrators, each with ``predict(scores) -> probabilities``.
    classes_ : ndarray of shape (n_labels,)
        Label names: the columns of a DataFrame ``y``, else ``0..n_labels-1``.
    n_labels_ : int
    n_features_in_ : int
        From ``estimator_``, when it has it.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        From ``estimator_``, when it has it.

    See Also
    --------
    skml.metrics.brier_score_per_label, skml.metrics.expected_calibration_error
    skml.plotting.plot_calibration : Reliability diagrams.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skml.calibration import CalibratedMultiLabelClassifier
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    >>> rf = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> clf = CalibratedMultiLabelClassifier(rf, cv=3, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 4)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "method": [StrOptions({"sigmoid", "isotonic"})],
        "cv": [
            Interval(Integral, 2, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            StrOptions({"prefit"}),
            "cv_object",
        ],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "min_labels": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        method="sigmoid",
        cv=5,
        threshold=0.5,
        min_labels=0,
        random_state=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.threshold = threshold
        self.min_labels = min_labels
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, **fit_params):
        """Fit the per-label calibrators and the estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data, passed to the estimator as given.
        y : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
            Label indicator matrix; a DataFrame's columns become ``classes_``.
        **fit_params : dict
            Passed to the estimator's ``fit``; sample-aligned ones are split with the folds.

        Returns
        -------
        self : CalibratedMultiLabelClassifier
        """
        self._validate_params()
        X, y = indexable(X, y)
        y_fit, y_matrix = _check_targets(y)
        check_number(self.min_labels, "min_labels", low=0, high=y_matrix.shape[1], integer=True)
        refit = "auto" if self.cv != "prefit" else False
        y_cal, proba = _out_of_fold(
            self, X, y_fit, y_matrix, fit_params, refit, type(self).__name__
        )
        self.calibrators_ = [
            _fit_calibrator(self.method, proba[:, j], y_cal[:, j]) for j in range(proba.shape[1])
        ]
        self.classes_ = _label_names(y, y_matrix.shape[1])
        self.n_labels_ = y_matrix.shape[1]
        _copy_input_attributes(self)
        return self

    def predict_proba(self, X):
        """Calibrated positive-class probability of every label.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
        """
        check_is_fitted(self, "calibrators_")
        raw = _label_proba(self.estimator_, X, self.n_labels_, type(self).__name__)
        return np.column_stack(
            [np.clip(c.predict(raw[:, j]), 0.0, 1.0) for j, c in enumerate(self.calibrators_)]
        )

    def predict(self, X):
        """Labels whose calibrated probability is ``>= threshold`` (and ``min_labels``).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels), dtype int
        """
        return apply_thresholds(self.predict_proba(X), self.threshold, self.min_labels)

    def predict_top_k(self, X, k=3):
        """The ``k`` most probable labels of each sample, with their calibrated probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        k : int, default=3

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Entries of ``classes_``, most probable first.
        proba : ndarray of shape (n_samples, k)
        """
        indices, values = top_k(self.predict_proba(X), k)
        return np.asarray(self.classes_)[indices], values

    def __sklearn_tags__(self):
        return _multilabel_tags(self, super().__sklearn_tags__())

"""Small estimators that the contenders are assembled from.

- :class:`ConstantSafe` lets a binary classifier survive a constant label column, which a
  training fold of a rare label easily has and on which ``LogisticRegression`` raises.
- :class:`ConstantLabels` does the same for a native multi-label estimator (XGBoost,
  CatBoost): constant label columns are left out of its fit and predicted as their constant.
- :class:`ChainEnsemble` averages the probabilities of random-order classifier chains
  (Read et al., 2011), as scikit-learn's classifier-chain example does.
- :class:`Scaler` standardises dense features and scales sparse ones by their maximum absolute
  value (centring would densify them).
- :class:`Resampled` resamples the training rows (ML-ROS, MLSMOTE) before its classifier fits
  them, as a step of a scikit-learn pipeline.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MultiOutputMixin,
    TransformerMixin,
    clone,
)
from sklearn.multioutput import ClassifierChain
from sklearn.preprocessing import MaxAbsScaler, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

__all__ = ["ChainEnsemble", "ConstantLabels", "ConstantSafe", "Resampled", "Scaler"]


class ConstantSafe(ClassifierMixin, BaseEstimator):
    """A binary classifier for 0/1 targets that also fits a constant target.

    A target with both classes trains a clone of ``estimator``; a constant target is
    predicted as that constant, with probability 1. ``classes_`` is ``[0, 1]`` either way, so
    ``predict_proba(X)[:, 1]`` is always the probability of the positive class, which is what
    :class:`~sklearn.multioutput.ClassifierChain` reads.

    Parameters
    ----------
    estimator : classifier
        The classifier of non-constant targets.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    estimator_ : classifier or None
        The fitted clone, or None when the target was constant.
    constant_ : int or None
        The value of a constant target, else None.
    """

    _parameter_constraints = {"estimator": [HasMethods(["fit", "predict_proba"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        """Fit ``estimator``, or remember the constant.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            0/1 target.

        Returns
        -------
        self : ConstantSafe
            The fitted estimator.
        """
        self._validate_params()
        y = column_or_1d(y).astype(np.int64)
        values = np.unique(y)
        if not np.isin(values, (0, 1)).all():
            raise ValueError(f"y must hold only 0 and 1; got {values[:5].tolist()}.")
        self.classes_ = np.array([0, 1])
        if len(values) == 1:
            self.constant_ = int(values[0])
            self.estimator_ = None
        else:
            self.constant_ = None
            self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Probabilities of classes 0 and 1.
        """
        check_is_fitted(self)
        if self.estimator_ is not None:
            return self.estimator_.predict_proba(X)
        proba = np.zeros((_num_samples(X), 2))
        proba[:, self.constant_] = 1.0
        return proba

    def predict(self, X):
        """Predict the class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            0 or 1.
        """
        check_is_fitted(self)
        if self.estimator_ is not None:
            return self.estimator_.predict(X)
        return np.full(_num_samples(X), self.constant_, dtype=np.int64)


class ConstantLabels(MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """A native multi-label classifier that also fits label matrices with constant columns.

    XGBoost estimates a per-label base score (an infinite logit for an all-1 column) and
    CatBoost's ``MultiLogloss`` refuses some constant targets; a label constant in a training
    fold is common on data sets with rare labels. Only the non-constant columns train a clone
    of ``estimator``; the constant ones are predicted as their value.

    Parameters
    ----------
    estimator : classifier
        Multi-label classifier whose ``predict`` returns a 0/1 matrix for a 2-D ``y`` and
        whose ``predict_proba`` returns one probability column per label.

    Attributes
    ----------
    estimator_ : classifier or None
        The fitted clone, or None when every column was constant.
    varying_ : ndarray of shape (n_labels,), dtype bool
        Which label columns trained ``estimator_``.
    constants_ : ndarray of shape (n_labels,), dtype int64
        The value of each constant column (0 where a column varies).
    """

    _parameter_constraints = {"estimator": [HasMethods(["fit", "predict", "predict_proba"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        """Fit ``estimator`` on the label columns that are not constant.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples, n_labels)
            0/1 label indicator matrix.

        Returns
        -------
        self : ConstantLabels
            The fitted estimator.
        """
        self._validate_params()
        y = np.asarray(y, dtype=np.int64)
        if y.ndim != 2:
            raise ValueError(f"y must be a 2-D label matrix; got shape {y.shape}.")
        self.varying_ = y.min(axis=0) != y.max(axis=0)
        self.constants_ = np.where(self.varying_, 0, y[0])
        self.estimator_ = None
        if self.varying_.any():
            self.estimator_ = clone(self.estimator).fit(X, y[:, self.varying_])
        return self

    def predict_proba(self, X):
        """Probability of each label: the estimator's, and 0 or 1 for the constant ones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            Positive-class probability of each label.
        """
        check_is_fitted(self)
        proba = np.tile(self.constants_.astype(np.float64), (_num_samples(X), 1))
        if self.estimator_ is not None:
            varying = self.estimator_.predict_proba(X)
            if isinstance(varying, list):  # one (n_samples, 2) array per label
                varying = np.column_stack([p[:, -1] for p in varying])
            elif self.varying_.sum() == 1:  # one label left: binary (n_samples, 2) output
                varying = np.asarray(varying)[:, -1]
            proba[:, self.varying_] = np.asarray(varying).reshape(len(proba), -1)
        return proba

    def predict(self, X):
        """Predict the label matrix: the estimator's columns, and the constants.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels)
            0/1 label indicator matrix.
        """
        check_is_fitted(self)
        y_pred = np.tile(self.constants_, (_num_samples(X), 1))
        if self.estimator_ is not None:
            varying = np.asarray(self.estimator_.predict(X)).reshape(len(y_pred), -1)
            y_pred[:, self.varying_] = varying
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.input_tags.sparse = True
        return tags


class Scaler(TransformerMixin, BaseEstimator):
    """``StandardScaler`` for dense features, ``MaxAbsScaler`` for sparse ones.

    Centring a sparse matrix would densify it (bibtex's 1836 word indicators), so sparse
    input is only divided by each column's maximum absolute value, which keeps 0/1 features
    as they are and the matrix sparse.

    Attributes
    ----------
    scaler_ : StandardScaler or MaxAbsScaler
        The fitted scaler.
    """

    def fit(self, X, y=None):
        """Fit the scaler that suits ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : Scaler
            The fitted scaler.
        """
        self.scaler_ = (MaxAbsScaler() if sp.issparse(X) else StandardScaler()).fit(X)
        return self

    def transform(self, X):
        """Scale ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        X_scaled : {ndarray, sparse matrix} of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        return self.scaler_.transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class ChainEnsemble(MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """Ensemble of classifier chains in random label orders; probabilities are averaged.

    Parameters
    ----------
    estimator : classifier
        Base classifier of every link of every chain.
    n_chains : int, default=10
        Number of chains.
    threshold : float, default=0.5
        A label is predicted when its averaged probability is >= ``threshold``.
    random_state : int, RandomState instance or None, default=None
        Seeds the label orders.

    Attributes
    ----------
    chains_ : list of ClassifierChain
        The fitted chains.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, *, n_chains=10, threshold=0.5, random_state=None):
        self.estimator = estimator
        self.n_chains = n_chains
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, X, y):
        """Fit ``n_chains`` chains, each in its own random label order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples, n_labels)
            0/1 label indicator matrix.

        Returns
        -------
        self : ChainEnsemble
            The fitted estimator.
        """
        self._validate_params()
        rng = check_random_state(self.random_state)
        self.chains_ = [
            ClassifierChain(
                clone(self.estimator), order="random", random_state=rng.randint(2**31 - 1)
            ).fit(X, y)
            for _ in range(self.n_chains)
        ]
        return self

    def predict_proba(self, X):
        """Average of the chains' label probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            Probability of each label.
        """
        check_is_fitted(self)
        return np.mean([chain.predict_proba(X) for chain in self.chains_], axis=0)

    def predict(self, X):
        """Predict the labels whose averaged probability reaches ``threshold``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels)
            0/1 label indicator matrix.
        """
        return (self.predict_proba(X) >= self.threshold).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags


class Resampled(MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """A classifier fitted on resampled training rows; prediction is the classifier's.

    ``fit`` resamples ``(X, y)`` with a clone of ``sampler`` (``fit_resample``), then fits a
    clone of ``estimator`` on the result. Unlike an imbalanced-learn pipeline, it runs inside
    a scikit-learn ``Pipeline``: the steps before it (a scaler) see the original rows.

    Parameters
    ----------
    sampler : resampler
        An object with ``fit_resample(X, y)``, such as ``skml.resampling.MLSMOTE``.
    estimator : classifier
        The multi-label classifier.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    n_samples_fit_ : int
        Rows the classifier was fitted on, after resampling.
    """

    _parameter_constraints = {
        "sampler": [HasMethods(["fit_resample"])],
        "estimator": [HasMethods(["fit", "predict"])],
    }

    def __init__(self, sampler, estimator):
        self.sampler = sampler
        self.estimator = estimator

    def fit(self, X, y):
        """Resample the rows, then fit the classifier on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples, n_labels)
            0/1 label indicator matrix.

        Returns
        -------
        self : Resampled
            The fitted estimator.
        """
        self._validate_params()
        X_fit, y_fit = clone(self.sampler).fit_resample(X, y)
        self.n_samples_fit_ = _num_samples(X_fit)
        self.estimator_ = clone(self.estimator).fit(X_fit, y_fit)
        return self

    def predict_proba(self, X):
        """The classifier's label probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """The classifier's label predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels)
            0/1 label indicator matrix.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

"""Small estimators that the contenders are assembled from.

- :class:`ConstantSafe` lets a binary classifier survive a constant label column, which a
  training fold of a rare label easily has and on which ``LogisticRegression`` raises.
- :class:`ChainEnsemble` averages the probabilities of random-order classifier chains
  (Read et al., 2011), as scikit-learn's classifier-chain example does.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, clone
from sklearn.multioutput import ClassifierChain
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, column_or_1d

__all__ = ["ChainEnsemble", "ConstantSafe"]


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
        proba = np.zeros((len(X), 2))
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
        return np.full(len(X), self.constant_, dtype=np.int64)


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

"""ML-kNN (Zhang and Zhou, 2007) on scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors`.

scikit-multilearn ships an ML-kNN, but it no longer runs on current scikit-learn (it passes
``NearestNeighbors`` arguments positionally), so the benchmark carries its own: a few lines of
counting on top of a neighbour search.

Reference: M.-L. Zhang and Z.-H. Zhou, "ML-KNN: A lazy learning approach to multi-label
learning", Pattern Recognition 40(7), 2007.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["MLkNN"]


class MLkNN(MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """Multi-label k-nearest neighbours with a Bayesian decision per label.

    For each label, the number of the ``k`` nearest training neighbours carrying it is the
    evidence; the prior of the label and the likelihood of each neighbour count under "has the
    label" and "lacks the label" are estimated on the training data (each training sample
    counted against its ``k`` nearest *other* training samples), with Laplace smoothing ``s``.
    The posterior of the label given the count is the predicted probability.

    Parameters
    ----------
    k : int, default=10
        Number of neighbours.
    s : float, default=1.0
        Smoothing of the prior and likelihood estimates (1 is Laplace smoothing).

    Attributes
    ----------
    n_labels_ : int
        Number of labels.
    prior_ : ndarray of shape (n_labels,)
        Smoothed share of training samples carrying each label.
    likelihood_pos_ : ndarray of shape (k + 1, n_labels)
        ``likelihood_pos_[j, l]``: probability that exactly ``j`` of a sample's neighbours
        carry label ``l``, given that the sample carries it.
    likelihood_neg_ : ndarray of shape (k + 1, n_labels)
        The same, given that the sample lacks label ``l``.
    n_features_in_ : int
        Number of features seen during ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> X, y = make_multilabel_classification(n_samples=100, random_state=0)
    >>> MLkNN(k=5).fit(X, y).predict(X[:2]).shape
    (2, 5)
    """

    _parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "s": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, k=10, s=1.0):
        self.k = k
        self.s = s

    def fit(self, X, y):
        """Index the training data and estimate the priors and likelihoods.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples, n_labels)
            0/1 label indicator matrix.

        Returns
        -------
        self : MLkNN
            The fitted estimator.
        """
        self._validate_params()
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float64)
        y = np.asarray(y)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y must be a 0/1 label indicator matrix (n_samples, n_labels).")
        n_samples, n_labels = y.shape
        if self.k >= n_samples:
            raise ValueError(f"k={self.k} must be smaller than n_samples={n_samples}.")
        self._y = y.astype(np.int64)
        self.n_labels_ = n_labels
        self._neighbors = NearestNeighbors(n_neighbors=self.k).fit(X)
        # kneighbors() without X leaves each training sample out of its own neighbourhood.
        counts = self._neighbor_counts(self._neighbors.kneighbors(return_distance=False))

        s, k = self.s, self.k
        self.prior_ = (s + self._y.sum(axis=0)) / (2 * s + n_samples)
        labels = np.broadcast_to(np.arange(n_labels), counts.shape)
        hits_pos = np.zeros((k + 1, n_labels))
        hits_neg = np.zeros((k + 1, n_labels))
        np.add.at(hits_pos, (counts, labels), self._y)
        np.add.at(hits_neg, (counts, labels), 1 - self._y)
        self.likelihood_pos_ = (s + hits_pos) / (s * (k + 1) + hits_pos.sum(axis=0))
        self.likelihood_neg_ = (s + hits_neg) / (s * (k + 1) + hits_neg.sum(axis=0))
        return self

    def _neighbor_counts(self, neighbors):
        """Number of neighbours carrying each label: shape (n_samples, n_labels)."""
        return self._y[neighbors].sum(axis=1)

    def predict_proba(self, X):
        """Posterior probability of each label given its neighbour count.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            Probability of each label, in [0, 1].
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        counts = self._neighbor_counts(self._neighbors.kneighbors(X, return_distance=False))
        labels = np.arange(self.n_labels_)
        pos = self.prior_ * self.likelihood_pos_[counts, labels]
        neg = (1 - self.prior_) * self.likelihood_neg_[counts, labels]
        return pos / (pos + neg)

    def predict(self, X):
        """Predict the labels whose posterior exceeds 1/2 (the MAP decision).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_labels)
            0/1 label indicator matrix.
        """
        return (self.predict_proba(X) > 0.5).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

"""Oversampling for imbalanced multi-label data: ML-ROS and MLSMOTE.

Both samplers follow the imbalanced-learn API: ``fit_resample(X, y)`` returns the original
samples followed by the new ones, so they can be the first step of an
:class:`imblearn.pipeline.Pipeline`, where they resample the training data only. imbalanced-learn
itself is not needed to use them.

The imbalance measures are those of Charte et al. (2015): the imbalance ratio of a label,
IRLbl, is the positive count of the most frequent label divided by the label's own positive
count (1 for the most frequent label, larger for rarer ones); MeanIR is the mean IRLbl. Labels
whose IRLbl exceeds MeanIR are the minority labels that both samplers oversample.

References
----------
.. [1] F. Charte, A. J. Rivera, M. J. del Jesus and F. Herrera, "Addressing imbalance in
   multilabel classification: Measures and random resampling algorithms", Neurocomputing 163,
   3-16, 2015.
.. [2] F. Charte, A. J. Rivera, M. J. del Jesus and F. Herrera, "MLSMOTE: Approaching
   imbalanced multilabel learning through synthetic instance generation", Knowledge-Based
   Systems 89, 385-397, 2015.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import FLOAT_DTYPES, _num_samples, check_array

from skml._validation import check_label_matrix

__all__ = ["MLROS", "MLSMOTE", "imbalance_ratio_per_label", "mean_imbalance_ratio"]


def _check_labels(y):
    """``y`` as a 0/1 ndarray, in the input's own dtype when that is a NumPy number or bool."""
    dtypes = list(y.dtypes) if isinstance(y, pd.DataFrame) else [getattr(y, "dtype", None)]
    numpy = dtypes and all(isinstance(d, np.dtype) and d.kind in "biuf" for d in dtypes)
    return check_label_matrix(y, "y", dtype=np.result_type(*dtypes) if numpy else np.int64)


def _imbalance_ratios(counts):
    """IRLbl from positive counts; inf for labels with no positive sample."""
    counts = np.asarray(counts, dtype=float)
    if counts.max() <= 0:
        raise ValueError("y has no positive label; the imbalance ratio is undefined.")
    with np.errstate(divide="ignore"):
        return counts.max() / counts


def _mean_ir(ratios):
    return float(np.mean(ratios[np.isfinite(ratios)]))


def imbalance_ratio_per_label(y):
    """Imbalance ratio per label (IRLbl, Charte et al. 2015).

    Parameters
    ----------
    y : {array-like, sparse matrix} of shape (n_samples, n_labels)
        Label indicator matrix of 0 and 1.

    Returns
    -------
    ratios : ndarray of shape (n_labels,)
        For each label, the positive count of the most frequent label divided by the label's
        positive count: 1 for the most frequent label, ``inf`` for a label with no positive.

    Examples
    --------
    >>> from skml.resampling import imbalance_ratio_per_label
    >>> imbalance_ratio_per_label([[1, 0], [1, 1], [1, 0], [1, 0]])
    array([1., 4.])
    """
    return _imbalance_ratios(_check_labels(y).sum(axis=0))


def mean_imbalance_ratio(y):
    """Mean imbalance ratio (MeanIR, Charte et al. 2015).

    Parameters
    ----------
    y : {array-like, sparse matrix} of shape (n_samples, n_labels)
        Label indicator matrix of 0 and 1.

    Returns
    -------
    mean_ir : float
        Mean of :func:`imbalance_ratio_per_label` over the labels with at least one positive
        sample (a label without any has an infinite ratio and is left out). 1 for perfectly
        balanced labels.

    Examples
    --------
    >>> from skml.resampling import mean_imbalance_ratio
    >>> mean_imbalance_ratio([[1, 0], [1, 1], [1, 0], [1, 0]])
    2.5
    """
    return _mean_ir(imbalance_ratio_per_label(y))


def _check_length(X, y):
    n_samples = _num_samples(X)
    if n_samples != y.shape[0]:
        raise ValueError(
            f"X and y have different numbers of samples: {n_samples} and {y.shape[0]}."
        )


def _wrap_y(y_res, y):
    """Return resampled labels in the container type of the input y."""
    if isinstance(y, pd.DataFrame):
        return pd.DataFrame(y_res, columns=y.columns)
    if sp.issparse(y):
        return sp.csr_matrix(y_res)
    return y_res


class _MultilabelOversampler(BaseEstimator):
    """Shared validation, fitted statistics and tags of the multi-label oversamplers."""

    # What imbalanced-learn's is_sampler looks for; its Pipeline itself only needs fit_resample.
    _estimator_type = "sampler"

    def _fit_statistics(self, y):
        counts = y.sum(axis=0)
        self.imbalance_ratio_per_label_ = _imbalance_ratios(counts)
        self.mean_imbalance_ratio_ = _mean_ir(self.imbalance_ratio_per_label_)
        finite = np.isfinite(self.imbalance_ratio_per_label_)
        self.minority_labels_ = np.flatnonzero(
            finite & (self.imbalance_ratio_per_label_ > self.mean_imbalance_ratio_)
        )

    def fit(self, X, y):
        """Check the inputs and compute the imbalance statistics of ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : {array-like, sparse matrix} of shape (n_samples, n_labels)
            Label indicator matrix of 0 and 1.

        Returns
        -------
        self : object
            Fitted sampler.
        """
        self._validate_params()
        X, y_array = self._check_X_y(X, y)
        self._fit_statistics(y_array)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "sampler"
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags


class MLROS(_MultilabelOversampler):
    """Multi-label random oversampling, ML-ROS (Charte et al. 2015).

    Clones random samples of the minority labels (IRLbl above MeanIR) until the data set has
    grown by ``percentage`` percent. Each round clones one sample from the bag of every
    minority label still being oversampled; a label leaves once its IRLbl, recomputed after
    each clone, falls to MeanIR (computed once, on the input).

    Parameters
    ----------
    percentage : float, default=25
        Growth of the data set in percent: ``floor(n_samples * percentage / 100)`` samples are
        cloned. Fewer are when every minority label reaches MeanIR first, or none when no
        label is a minority label.
    random_state : int, RandomState instance or None, default=None
        Controls which samples are cloned. Pass an int for the same output on every call.

    Attributes
    ----------
    imbalance_ratio_per_label_ : ndarray of shape (n_labels,)
        IRLbl of the input labels.
    mean_imbalance_ratio_ : float
        MeanIR of the input labels.
    minority_labels_ : ndarray of int
        Indices of the labels whose IRLbl exceeds MeanIR.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        Input row of each output row: ``arange(n_samples)`` followed by the cloned rows.

    See Also
    --------
    MLSMOTE : Synthetic, rather than cloned, minority samples.

    Notes
    -----
    ``X`` is only indexed, so it may be a numpy array, a scipy sparse matrix, a pandas
    DataFrame or a list, of any dtype, with missing values. The output has the input's type; a
    pandas output gets a fresh ``RangeIndex``. ``y`` may be a numpy array, sparse matrix or
    DataFrame of 0 and 1.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from skml.resampling import MLROS
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=5, random_state=0)
    >>> X_res, y_res = MLROS(percentage=10, random_state=0).fit_resample(X, y)
    >>> X_res.shape, y_res.shape
    ((220, 20), (220, 5))
    """

    _parameter_constraints = {
        "percentage": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, percentage=25, *, random_state=None):
        self.percentage = percentage
        self.random_state = random_state

    def _check_X_y(self, X, y):
        y_array = _check_labels(y)
        if sp.issparse(X):
            X = X.tocsr()
        _check_length(X, y_array)
        return X, y_array

    def fit_resample(self, X, y):
        """Return the input samples followed by the clones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : {array-like, sparse matrix} of shape (n_samples, n_labels)
            Label indicator matrix of 0 and 1.

        Returns
        -------
        X_resampled : {ndarray, sparse matrix, DataFrame, list} of shape \
                (n_samples_resampled, n_features)
            ``X`` followed by the cloned samples.
        y_resampled : {ndarray, sparse matrix, DataFrame} of shape \
                (n_samples_resampled, n_labels)
            ``y`` followed by the labels of the cloned samples.
        """
        self._validate_params()
        X, y_array = self._check_X_y(X, y)
        self._fit_statistics(y_array)
        rng = check_random_state(self.random_state)

        n_samples = y_array.shape[0]
        to_clone = int(n_samples * self.percentage / 100)
        counts = y_array.sum(axis=0).astype(float)
        bags = {label: np.flatnonzero(y_array[:, label]) for label in self.minority_labels_}
        clones = []
        while to_clone > 0 and bags:
            for label in list(bags):
                sample = bags[label][rng.randint(len(bags[label]))]
                clones.append(sample)
                counts += y_array[sample]
                to_clone -= 1
                if counts.max() / counts[label] <= self.mean_imbalance_ratio_:
                    del bags[label]
                if to_clone == 0:
                    break

        self.sample_indices_ = np.concatenate(
            [np.arange(n_samples), np.asarray(clones, dtype=np.intp)]
        )
        X_res = _safe_indexing(X, self.sample_indices_)
        if isinstance(X_res, (pd.DataFrame, pd.Series)):
            X_res = X_res.reset_index(drop=True)
        return X_res, _wrap_y(y_array[self.sample_indices_], y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        return tags


class MLSMOTE(_MultilabelOversampler):
    """Multi-label synthetic minority oversampling, MLSMOTE (Charte et al. 2015).

    For each minority label (IRLbl above MeanIR) in turn, and for each sample having that
    label, one synthetic sample is made from the sample and a random one of its
    ``k_neighbors`` nearest neighbours (Euclidean) among the samples having the label. Each
    feature is placed at a random point between the two values (a separate uniform draw per
    feature, as in the paper); the label set is made from the labels of the sample and all its
    neighbours by ``label_generation``. As in the paper, MeanIR is computed once on the input,
    while IRLbl and the bag of each label include the synthetic samples made for earlier labels.

    Parameters
    ----------
    k_neighbors : int, default=5
        Number of nearest neighbours of each sample within its label's bag.
    label_generation : {"ranking", "union", "intersection"}, default="ranking"
        Label set of a synthetic sample: ``"ranking"``, the labels present in more than half of
        the sample and its neighbours (the paper's choice); ``"union"``, the labels present in
        any of them; ``"intersection"``, the labels present in all of them. The minority label
        being oversampled is always included.
    random_state : int, RandomState instance or None, default=None
        Controls the choice of neighbour and the interpolation. Pass an int for the same output
        on every call.

    Attributes
    ----------
    imbalance_ratio_per_label_ : ndarray of shape (n_labels,)
        IRLbl of the input labels.
    mean_imbalance_ratio_ : float
        MeanIR of the input labels.
    minority_labels_ : ndarray of int
        Indices of the labels whose IRLbl exceeds MeanIR in the input.

    See Also
    --------
    MLROS : Cloned, rather than synthetic, minority samples.

    Notes
    -----
    ``X`` must be dense and numeric (a numpy array or a pandas DataFrame of numbers, without
    missing values); a sparse ``X`` raises a TypeError. The output is floating point; a pandas
    input gives DataFrames with the input's columns and a fresh ``RangeIndex``.

    A label with at most ``k_neighbors`` samples uses all the other samples of its bag as
    neighbours, and a label with a single sample has it duplicated; both cases are reported in
    one UserWarning.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from skml.resampling import MLSMOTE, mean_imbalance_ratio
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=5, random_state=0)
    >>> X_res, y_res = MLSMOTE(random_state=0).fit_resample(X, y)
    >>> bool(mean_imbalance_ratio(y_res) < mean_imbalance_ratio(y))
    True
    """

    _parameter_constraints = {
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "label_generation": [StrOptions({"ranking", "union", "intersection"})],
        "random_state": ["random_state"],
    }

    def __init__(self, k_neighbors=5, *, label_generation="ranking", random_state=None):
        self.k_neighbors = k_neighbors
        self.label_generation = label_generation
        self.random_state = random_state

    def _check_X_y(self, X, y):
        if sp.issparse(X):
            raise TypeError(
                "MLSMOTE needs dense numeric X; got a sparse matrix. Convert it with "
                "X.toarray(), or use MLROS, which supports sparse X."
            )
        y_array = _check_labels(y)
        X = check_array(X, dtype=FLOAT_DTYPES, input_name="X")
        _check_length(X, y_array)
        return X, y_array

    def _synthesize(self, X, y, rng):
        """Synthetic samples for the minority labels, grown label by label."""
        k = self.k_neighbors
        # Copies, so that the output never shares memory with the caller's arrays.
        X_all, y_all = X.copy(), y.copy()
        few = []
        for label in self.minority_labels_:
            counts = y_all.sum(axis=0)
            if counts.max() / counts[label] <= self.mean_imbalance_ratio_:
                continue
            bag = np.flatnonzero(y_all[:, label])
            X_bag, y_bag = X_all[bag], y_all[bag]
            n_neighbors = min(k, len(bag) - 1)
            if n_neighbors < k:
                few.append((label, len(bag)))
            if n_neighbors == 0:
                X_new, y_new = X_bag.copy(), y_bag.copy()
            else:
                nn = NearestNeighbors(n_neighbors=n_neighbors).fit(X_bag)
                # kneighbors without X leaves each sample out of its own neighbours.
                neighbors = nn.kneighbors(return_distance=False)
                ref = neighbors[np.arange(len(bag)), rng.randint(n_neighbors, size=len(bag))]
                gap = rng.uniform(size=X_bag.shape).astype(X.dtype, copy=False)
                X_new = X_bag + gap * (X_bag[ref] - X_bag)
                votes = y_bag + y_bag[neighbors].sum(axis=1)
                if self.label_generation == "ranking":
                    keep = votes > (n_neighbors + 1) / 2
                elif self.label_generation == "union":
                    keep = votes > 0
                else:
                    keep = votes == n_neighbors + 1
                y_new = keep.astype(y.dtype)
            X_all = np.vstack([X_all, X_new])
            y_all = np.vstack([y_all, y_new])
        if few:
            details = ", ".join(f"label {label}: {n} sample(s)" for label, n in few)
            warnings.warn(
                f"Fewer than k_neighbors + 1 = {k + 1} samples for some minority labels "
                f"({details}); their samples use all other samples of the label as "
                "neighbours, and a single sample is duplicated.",
                UserWarning,
                stacklevel=3,
            )
        return X_all, y_all

    def fit_resample(self, X, y):
        """Return the input samples followed by the synthetic ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Dense numeric samples.
        y : {array-like, sparse matrix} of shape (n_samples, n_labels)
            Label indicator matrix of 0 and 1.

        Returns
        -------
        X_resampled : {ndarray, DataFrame} of shape (n_samples_resampled, n_features)
            ``X`` followed by the synthetic samples, as floats.
        y_resampled : {ndarray, sparse matrix, DataFrame} of shape \
                (n_samples_resampled, n_labels)
            ``y`` followed by the labels of the synthetic samples.
        """
        self._validate_params()
        X_in = X
        X, y_array = self._check_X_y(X, y)
        self._fit_statistics(y_array)
        rng = check_random_state(self.random_state)
        X_res, y_res = self._synthesize(X, y_array, rng)
        if isinstance(X_in, pd.DataFrame):
            X_res = pd.DataFrame(X_res, columns=X_in.columns)
        return X_res, _wrap_y(y_res, y)

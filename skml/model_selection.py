"""Multi-label stratified cross-validation and train/test splitting.

The splitters use the iterative stratification algorithm of Sechidis, Tsoumakas and Vlahavas
(2011), as implemented by the ``iterative-stratification`` package, and add the behaviour
scikit-learn users expect from its own splitters:

- part sizes are exact: k-fold test folds differ in size by at most one sample, as in
  :class:`~sklearn.model_selection.KFold`, and shuffle splits honour ``test_size`` and
  ``train_size`` (int or float) exactly, as in :class:`~sklearn.model_selection.ShuffleSplit`.
  Iterative stratification only approximates the sizes, so its result is corrected by moving
  the samples whose move least disturbs the per-label positive counts;
- ``shuffle=False`` gives the same folds on every call; an int ``random_state`` gives the same
  folds on every call, with or without shuffling.

This is the only module of skml that imports ``iterstrat``.
"""

import numbers
from itertools import chain

import numpy as np
from iterstrat.ml_stratifiers import IterativeStratification
from sklearn.model_selection._split import (
    BaseShuffleSplit,
    _BaseKFold,
    _RepeatedSplits,
    _validate_shuffle_split,
)
from sklearn.utils import _safe_indexing, check_random_state, indexable
from sklearn.utils.validation import _num_samples

from skml._validation import check_label_matrix

__all__ = [
    "MultilabelStratifiedKFold",
    "MultilabelStratifiedShuffleSplit",
    "RepeatedMultilabelStratifiedKFold",
    "multilabel_train_test_split",
]


class _LabelMatrixSplitMixin:
    """``split`` for the multi-label splitters: ``y`` is checked, then split by the base class."""

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; only its length is used, so ``np.zeros(n_samples)`` will do.
        y : {array-like, sparse matrix} of shape (n_samples, n_labels)
            Label indicator matrix the splits are stratified on.
        groups : object
            Ignored, exists for compatibility.

        Yields
        ------
        train : ndarray
            The training set indices for that split, in increasing order.
        test : ndarray
            The testing set indices for that split, in increasing order.
        """
        return super().split(X, check_label_matrix(y, "y", dtype=bool), groups)


def _splitting_rng(random_state, shuffle):
    # Iterative stratification breaks ties at random even without shuffling, so the unshuffled
    # mode needs a seeded generator of its own to give the same folds on every call.
    if not shuffle and random_state is None:
        random_state = 0
    return check_random_state(random_state)


def _rebalance(y, parts, target_sizes, rng):
    """Move samples between parts until each part has exactly its target size.

    Each move takes one sample from the part furthest above its target to the part furthest
    below it, choosing the sample that least increases the squared deviation of the per-label
    positive counts from their ideal (proportional) values; a label's deviation is weighted by
    the inverse of its positive count so that rare labels are kept as even as common ones.
    """
    n_samples, n_labels = y.shape
    n_parts = len(target_sizes)
    sizes = np.bincount(parts, minlength=n_parts)
    if np.array_equal(sizes, target_sizes):
        return parts
    y = y.astype(float)
    totals = y.sum(axis=0)
    weights = 1.0 / np.maximum(totals, 1.0)
    desired = np.outer(target_sizes, totals) / n_samples
    counts = np.zeros((n_parts, n_labels))
    np.add.at(counts, parts, y)
    # Candidates are scanned in a random order so that ties are broken at random.
    order = rng.permutation(n_samples)
    while True:
        excess = sizes - target_sizes
        source = int(np.argmax(excess))
        if excess[source] <= 0:
            return parts
        dest = int(np.argmin(excess))
        candidates = order[parts[order] == source]
        # Change in the weighted squared deviation when a sample with labels y_s moves from
        # source to dest; y_s is binary, so the quadratic terms reduce to y_s itself.
        surplus = (counts[dest] - desired[dest]) - (counts[source] - desired[source])
        cost = y[candidates] @ (weights * (2.0 * surplus + 2.0))
        moved = candidates[np.argmin(cost)]
        parts[moved] = dest
        sizes[source] -= 1
        sizes[dest] += 1
        counts[source] -= y[moved]
        counts[dest] += y[moved]


def _stratified_parts(y, ratios, rng, shuffle):
    """Assign each sample to a part by iterative stratification (sizes approximate)."""
    n_samples = y.shape[0]
    order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
    parts = np.empty(n_samples, dtype=int)
    parts[order] = IterativeStratification(
        labels=y[order], r=np.asarray(ratios, dtype=float), random_state=rng
    )
    return parts


def _exact_parts(y, sizes, rng, shuffle):
    """Assign each sample to one of ``len(sizes)`` parts of exactly the given sizes."""
    sizes = np.asarray(sizes, dtype=int)
    parts = _stratified_parts(y, sizes / sizes.sum(), rng, shuffle)
    return _rebalance(y, parts, sizes, rng)


def _kfold_parts(y, n_splits, rng, shuffle):
    """Assign each sample to one of ``n_splits`` folds whose sizes differ by at most one."""
    n_samples = y.shape[0]
    parts = _stratified_parts(y, np.full(n_splits, 1.0 / n_splits), rng, shuffle)
    target = np.full(n_splits, n_samples // n_splits)
    # The folds that came out largest keep the spare samples: fewer moves.
    current = np.bincount(parts, minlength=n_splits)
    target[np.argsort(-current, kind="stable")[: n_samples % n_splits]] += 1
    return _rebalance(y, parts, target, rng)


class MultilabelStratifiedKFold(_LabelMatrixSplitMixin, _BaseKFold):
    """Multi-label stratified K-fold cross-validator.

    Splits the samples into ``n_splits`` folds by iterative stratification (Sechidis et al.,
    2011), so that each fold holds about the same proportion of positives for every label.
    Test fold sizes differ by at most one sample, as in :class:`~sklearn.model_selection.KFold`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds. Must be at least 2.
    shuffle : bool, default=True
        Whether to shuffle the samples before stratifying. With ``shuffle=False`` the samples
        are taken in their given order and the folds are the same on every call.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the random tie-breaking of iterative stratification. Unlike
        scikit-learn's :class:`~sklearn.model_selection.StratifiedKFold`, it is used even when
        ``shuffle=False``, because iterative stratification breaks ties at random; with
        ``shuffle=False`` and ``random_state=None`` a fixed seed of 0 is used. Pass an int for
        the same folds on every call.

    See Also
    --------
    RepeatedMultilabelStratifiedKFold : Repeats this splitter with different randomization.
    MultilabelStratifiedShuffleSplit : Stratified random train/test splits.

    Notes
    -----
    ``y`` must be a 2-D label indicator matrix (numpy array, scipy sparse matrix or pandas
    DataFrame of 0 and 1). A 1-D ``y`` is rejected with a ValueError rather than guessed to be
    one binary label or a multiclass target: reshape it to ``(n_samples, 1)`` for the former.
    ``groups`` is ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.model_selection import MultilabelStratifiedKFold
    >>> y = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 0]])
    >>> X = np.zeros((8, 1))
    >>> cv = MultilabelStratifiedKFold(n_splits=2, random_state=0)
    >>> [len(test) for _, test in cv.split(X, y)]
    [4, 4]
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        # Validated here rather than in split, as scikit-learn's splitters do; the base
        # __init__ is not used because it rejects random_state without shuffle.
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(
                f"n_splits must be an integer of at least 2; got {n_splits!r} "
                f"of type {type(n_splits).__name__}."
            )
        if n_splits < 2:
            raise ValueError(
                "k-fold cross-validation requires at least one train/test split by setting "
                f"n_splits=2 or more; got n_splits={n_splits}."
            )
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def _iter_test_masks(self, X=None, y=None, groups=None):
        rng = _splitting_rng(self.random_state, self.shuffle)
        parts = _kfold_parts(y, self.n_splits, rng, self.shuffle)
        for fold in range(self.n_splits):
            yield parts == fold


class RepeatedMultilabelStratifiedKFold(_LabelMatrixSplitMixin, _RepeatedSplits):
    """Repeated multi-label stratified K-fold cross-validator.

    Repeats :class:`MultilabelStratifiedKFold` ``n_repeats`` times, shuffling differently in
    each repetition.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds. Must be at least 2.
    n_repeats : int, default=10
        Number of times the k-fold split is repeated.
    random_state : int, RandomState instance or None, default=None
        Controls the randomness of each repetition. Pass an int for the same splits on every
        call.

    See Also
    --------
    MultilabelStratifiedKFold : One repetition.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.model_selection import RepeatedMultilabelStratifiedKFold
    >>> y = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 0]])
    >>> cv = RepeatedMultilabelStratifiedKFold(n_splits=2, n_repeats=3, random_state=0)
    >>> cv.get_n_splits()
    6
    """

    def __init__(self, n_splits=5, *, n_repeats=10, random_state=None):
        super().__init__(
            MultilabelStratifiedKFold,
            n_repeats=n_repeats,
            random_state=random_state,
            n_splits=n_splits,
        )


class MultilabelStratifiedShuffleSplit(_LabelMatrixSplitMixin, BaseShuffleSplit):
    """Multi-label stratified ShuffleSplit cross-validator.

    Draws ``n_splits`` random train/test splits by iterative stratification, so that train and
    test hold about the same proportion of positives for every label. The sizes follow
    :class:`~sklearn.model_selection.ShuffleSplit` exactly, including a train and test set
    that together leave some samples out.

    Parameters
    ----------
    n_splits : int, default=10
        Number of re-shuffling and splitting iterations.
    test_size : float or int, default=None
        A float in (0, 1) is the proportion of samples in the test set (rounded up), an int the
        number of test samples. If None, the complement of the train size; if ``train_size``
        is also None, 0.1.
    train_size : float or int, default=None
        A float in (0, 1) is the proportion of samples in the train set (rounded down), an int
        the number of train samples. If None, the complement of the test size.
    random_state : int, RandomState instance or None, default=None
        Controls the randomness of the splits. Pass an int for the same splits on every call.

    See Also
    --------
    multilabel_train_test_split : One such split, applied to arrays.

    Notes
    -----
    ``y`` must be a 2-D label indicator matrix, see :class:`MultilabelStratifiedKFold`.
    When ``train_size + test_size`` is below the number of samples, the left-out samples are
    stratified as a third part, so the train and test sets remain stratified subsamples.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.model_selection import MultilabelStratifiedShuffleSplit
    >>> y = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 0]])
    >>> cv = MultilabelStratifiedShuffleSplit(n_splits=3, test_size=2, random_state=0)
    >>> [(len(train), len(test)) for train, test in cv.split(np.zeros(8), y)]
    [(6, 2), (6, 2), (6, 2)]
    """

    def __init__(self, n_splits=10, *, test_size=None, train_size=None, random_state=None):
        super().__init__(
            n_splits=n_splits,
            test_size=test_size,
            train_size=train_size,
            random_state=random_state,
        )
        self._default_test_size = 0.1

    def _iter_indices(self, X, y, groups=None):
        n_samples = _num_samples(X)
        n_train, n_test = _validate_shuffle_split(
            n_samples,
            self.test_size,
            self.train_size,
            default_test_size=self._default_test_size,
        )
        sizes = [n_train, n_test]
        if n_train + n_test < n_samples:
            sizes.append(n_samples - n_train - n_test)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            parts = _exact_parts(y, sizes, rng, shuffle=True)
            yield np.flatnonzero(parts == 0), np.flatnonzero(parts == 1)


def multilabel_train_test_split(
    *arrays, test_size=None, train_size=None, random_state=None, shuffle=True, stratify=None
):
    """Split arrays into train and test subsets stratified on a multi-label target.

    The multi-label counterpart of :func:`sklearn.model_selection.train_test_split`: the
    split is made by iterative stratification, so every label keeps about the same positive
    rate in both parts, and the sizes follow ``train_test_split`` exactly.

    Parameters
    ----------
    *arrays : sequence of indexables with the same length
        Lists, numpy arrays, scipy sparse matrices or pandas DataFrames.
    test_size : float or int, default=None
        A float in (0, 1) is the proportion of samples in the test set (rounded up), an int the
        number of test samples. If None, the complement of the train size; if ``train_size``
        is also None, 0.25.
    train_size : float or int, default=None
        A float in (0, 1) is the proportion of samples in the train set (rounded down), an int
        the number of train samples. If None, the complement of the test size.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the tie-breaking of iterative stratification. Pass an int for
        the same split on every call.
    shuffle : bool, default=True
        Whether to shuffle the samples before stratifying. Unlike ``train_test_split``,
        ``shuffle=False`` still stratifies: the samples are taken in their given order and the
        split is the same on every call.
    stratify : {array-like, sparse matrix} of shape (n_samples, n_labels), default=None
        Label indicator matrix to stratify on. If None, the last of ``arrays`` is used, which is
        ``y`` in the usual ``multilabel_train_test_split(X, y)`` call.

    Returns
    -------
    splitting : list of length 2 * len(arrays)
        Train and test parts of each input, in the input's type. Rows keep their original
        relative order within each part.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.model_selection import multilabel_train_test_split
    >>> X = np.arange(16).reshape(8, 2)
    >>> y = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 0]])
    >>> X_train, X_test, y_train, y_test = multilabel_train_test_split(
    ...     X, y, test_size=0.25, random_state=0)
    >>> X_train.shape, X_test.shape
    ((6, 2), (2, 2))
    """
    if not arrays:
        raise ValueError("At least one array required as input.")
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
    arrays = indexable(*arrays)
    n_samples = _num_samples(arrays[0])
    name = "stratify" if stratify is not None else "y (the last array, used as stratify)"
    y = check_label_matrix(arrays[-1] if stratify is None else stratify, name, dtype=bool)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"stratify has {y.shape[0]} samples but the arrays have {n_samples}; "
            "they must have the same length."
        )
    n_train, n_test = _validate_shuffle_split(
        n_samples, test_size, train_size, default_test_size=0.25
    )
    sizes = [n_train, n_test]
    if n_train + n_test < n_samples:
        sizes.append(n_samples - n_train - n_test)
    rng = _splitting_rng(random_state, shuffle)
    parts = _exact_parts(y, sizes, rng, shuffle)
    train, test = np.flatnonzero(parts == 0), np.flatnonzero(parts == 1)
    return list(
        chain.from_iterable((_safe_indexing(a, train), _safe_indexing(a, test)) for a in arrays)
    )

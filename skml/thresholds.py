"""Decision rules for multi-label scores: per-label threshold tuning, min-labels and top-k.

Pure NumPy. Scores are usually the sigmoid probabilities of a classifier, and a label is
predicted when its score is ``>=`` its threshold.
"""

import numbers

import numpy as np

__all__ = ["apply_thresholds", "top_k", "tune_thresholds"]

_METRICS = ("f1", "accuracy")


def _check_scores(y_score, name="y_score"):
    y_score = np.asarray(y_score, dtype=float)
    if y_score.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_labels), got an array of shape {y_score.shape}."
        )
    if not np.isfinite(y_score).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return y_score


def _check_int(name, value, low, high):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}.")
    return int(value)


def _cut_thresholds(values):
    """Thresholds for every cut of the distinct scores ``values``, sorted descending.

    Cut ``c`` predicts the ``c`` highest distinct values; its threshold is the midpoint of
    ``values[c - 1]`` and ``values[c]``, so ``score >= threshold`` selects exactly them. Past
    the ends, 1 and 0 (the range of a probability) are the outer neighbours when they lie
    outside the scores; otherwise the nearest float is used.
    """
    top, bottom = values[0], values[-1]
    upper = 1.0 if top < 1.0 else np.nextafter(top, np.inf)
    lower = 0.0 if bottom > 0.0 else np.nextafter(bottom, -np.inf)
    hi = np.concatenate(([upper], values))
    lo = np.concatenate((values, [lower]))
    mid = lo + (hi - lo) / 2
    # A midpoint of adjacent floats rounds onto an end; ``hi`` itself is then the threshold
    # that still selects exactly the values >= hi.
    return np.where((mid > lo) & (mid <= hi), mid, hi)


def _tune_label(y, s, metric, default):
    """Best threshold for one label: O(n log n) by sorting and cumulative sums."""
    n_pos = int(y.sum())
    n = y.size
    if metric == "f1" and n_pos == 0:
        return default
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y_sorted = y[order]
    # Last position of each run of equal scores: cut c takes every sample up to the c-th run.
    ends = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    tp = np.concatenate(([0], np.cumsum(y_sorted)[ends]))
    fp = np.concatenate(([0], ends + 1)) - tp
    if metric == "f1":
        # Integers are exact and division is correctly rounded, so equal F1 values compare
        # equal and ties are found exactly.
        score = 2.0 * tp / (tp + fp + n_pos)
    else:
        # Accuracy (1 - hamming loss for this label): (tp + n_neg - fp) / n.
        score = (tp - fp + (n - n_pos)).astype(float)
    thresholds = _cut_thresholds(s_sorted[ends])
    best = np.flatnonzero(score == score.max())
    # Among optimal cuts: the threshold nearest 0.5, then the higher one.
    candidates = thresholds[best]
    pick = np.lexsort((-candidates, np.abs(candidates - 0.5)))[0]
    return float(candidates[pick])


def tune_thresholds(y_true, y_score, metric="f1", *, default=0.5):
    """Per-label thresholds that maximise a metric on the given data.

    For each label every distinct score is a candidate cut. The metric of all cuts comes from
    one sort and cumulative sums of true and false positives, in O(n_samples log n_samples)
    per label, and the optimum is exact on ``(y_true, y_score)``.

    The threshold returned for a cut is the midpoint between the lowest score it predicts
    and the next lower distinct score, so ``y_score >= threshold`` reproduces the optimum
    and new samples between the two are split evenly. Predicting every sample uses the
    midpoint with 0 (or the lowest score itself when it is <= 0); predicting none uses the
    midpoint with 1 (or just above the highest score when it is >= 1). When several cuts
    reach the same optimum, the threshold closest to 0.5 is chosen, and of two equally close
    the higher one.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        Binary label indicator matrix (dense or scipy sparse).
    y_score : array-like of shape (n_samples, n_labels)
        Scores, usually probabilities in [0, 1]; higher means more likely.
    metric : {"f1", "accuracy"}, default="f1"
        ``"f1"`` maximises each label's F1 score. ``"accuracy"`` maximises each label's
        accuracy, i.e. minimises its share of the hamming loss.
    default : float, default=0.5
        Threshold of labels without positives in ``y_true`` when ``metric="f1"``: their F1
        is undefined (0 for any prediction but "none"), so nothing can be tuned.

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)
        One threshold per label.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.thresholds import tune_thresholds
    >>> y_true = np.array([[1], [1], [0], [0]])
    >>> y_score = np.array([[0.9], [0.4], [0.3], [0.1]])
    >>> tune_thresholds(y_true, y_score)
    array([0.35])
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {list(_METRICS)}, got {metric!r}.")
    if not isinstance(default, numbers.Real) or isinstance(default, bool):
        raise ValueError(f"default must be a number, got {default!r}.")
    if hasattr(y_true, "toarray"):
        y_true = y_true.toarray()
    y_true = np.asarray(y_true)
    y_score = _check_scores(y_score)
    if y_true.ndim != 2:
        raise ValueError(
            f"y_true must be 2-D (n_samples, n_labels), got an array of shape {y_true.shape}."
        )
    if y_true.shape != y_score.shape:
        raise ValueError(
            f"y_true and y_score must have the same shape, got {y_true.shape} and {y_score.shape}."
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_score must have at least one sample.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true must contain only 0 and 1.")
    y_true = y_true.astype(np.int64)
    return np.array(
        [
            _tune_label(y_true[:, j], y_score[:, j], metric, float(default))
            for j in range(y_true.shape[1])
        ],
        dtype=float,
    )


def apply_thresholds(y_score, thresholds, min_labels=0):
    """Predict labels from scores and thresholds, with at least ``min_labels`` per sample.

    Parameters
    ----------
    y_score : array-like of shape (n_samples, n_labels)
        Scores, usually probabilities.
    thresholds : float or array-like of shape (n_labels,)
        A label is predicted when its score is ``>=`` its threshold.
    min_labels : int, default=0
        Every sample gets at least this many labels, in [0, n_labels]: a sample with fewer
        also gets its highest-scoring labels not yet predicted, ties going to the lower label
        index. Samples that already have enough are unchanged.

    Returns
    -------
    y_pred : ndarray of shape (n_samples, n_labels), dtype int
        Binary label indicator matrix.

    Examples
    --------
    >>> from skml.thresholds import apply_thresholds
    >>> apply_thresholds([[0.2, 0.4, 0.1], [0.9, 0.6, 0.3]], 0.5, min_labels=1)
    array([[0, 1, 0],
           [1, 1, 0]])
    """
    y_score = _check_scores(y_score)
    n_labels = y_score.shape[1]
    thresholds = np.asarray(thresholds, dtype=float)
    if thresholds.ndim > 1 or (thresholds.ndim == 1 and thresholds.shape != (n_labels,)):
        raise ValueError(
            f"thresholds must be a number or have shape (n_labels,) = ({n_labels},), "
            f"got shape {thresholds.shape}."
        )
    if np.isnan(thresholds).any():
        raise ValueError("thresholds contains NaN.")
    min_labels = _check_int("min_labels", min_labels, 0, n_labels)
    y_pred = (y_score >= thresholds).astype(int)
    if min_labels == 0:
        return y_pred
    missing = min_labels - y_pred.sum(axis=1)
    rows = np.flatnonzero(missing > 0)
    if rows.size:
        # Already predicted labels sort last; a stable sort on the negated score ranks equal
        # scores by label index.
        key = np.where(y_pred[rows] == 1, np.inf, -y_score[rows])
        order = np.argsort(key, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(n_labels)[None, :], axis=1)
        y_pred[rows] |= (rank < missing[rows, None]).astype(int)
    return y_pred


def top_k(y_score, k):
    """The ``k`` highest-scoring labels of each sample.

    Parameters
    ----------
    y_score : array-like of shape (n_samples, n_labels)
        Scores, usually probabilities.
    k : int
        Number of labels per sample, in [1, n_labels].

    Returns
    -------
    indices : ndarray of shape (n_samples, k), dtype int
        Label indices by descending score; equal scores are ordered by label index.
    scores : ndarray of shape (n_samples, k)
        The matching scores.

    Examples
    --------
    >>> from skml.thresholds import top_k
    >>> indices, scores = top_k([[0.1, 0.7, 0.7, 0.2]], 2)
    >>> indices
    array([[1, 2]])
    """
    y_score = _check_scores(y_score)
    k = _check_int("k", k, 1, y_score.shape[1])
    indices = np.argsort(-y_score, axis=1, kind="stable")[:, :k]
    return indices, np.take_along_axis(y_score, indices, axis=1)

"""Decision rules for multi-label scores: per-label threshold tuning, min-labels and top-k.

Pure NumPy. Scores are usually the sigmoid probabilities of a classifier, and a label is
predicted when its score is ``>=`` its threshold.
"""

import numbers

import numpy as np

__all__ = ["apply_thresholds", "top_k", "tune_thresholds"]

_METRICS = ("f1", "fbeta", "accuracy", "balanced_accuracy", "recall", "precision")
# At most this many cuts are scored with a user callable, which costs one call per cut.
_MAX_CALLABLE_CUTS = 256


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


def _cut_scores(y, s, metric, beta):
    """Objective of every cut of one label, and the cuts' counts of true and false positives.

    Returns ``(score, tp, counts, thresholds)``; cut ``c`` predicts the ``counts[c]``
    highest-scoring samples, ``c = 0`` predicting none, with threshold ``thresholds[c]``.
    Integer counts keep F1 and accuracy exact, so equal values compare equal and ties are
    found exactly.
    """
    n = y.size
    n_pos = int(y.sum())
    n_neg = n - n_pos
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    y_sorted = y[order]
    # Last position of each run of equal scores: cut c takes every sample up to the c-th run.
    ends = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    tp = np.concatenate(([0], np.cumsum(y_sorted)[ends]))
    counts = np.concatenate(([0], ends + 1))
    fp = counts - tp
    thresholds = _cut_thresholds(s_sorted[ends])
    if callable(metric):
        score = np.full(counts.size, -np.inf)
        if counts.size > _MAX_CALLABLE_CUTS:
            cuts = np.unique(np.linspace(0, counts.size - 1, _MAX_CALLABLE_CUTS).round())
            cuts = cuts.astype(int)
        else:
            cuts = np.arange(counts.size)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        for c in cuts:
            score[c] = float(metric(y, (rank < counts[c]).astype(int)))
    elif metric == "accuracy":
        # 1 - this label's hamming loss, times n: (tp + n_neg - fp).
        score = (tp - fp + n_neg).astype(float)
    elif metric == "balanced_accuracy":
        score = (tp / max(n_pos, 1) + (n_neg - fp) / max(n_neg, 1)) / 2
    elif metric == "recall":
        score = tp / max(n_pos, 1)
    elif metric == "precision":
        # Nothing predicted: precision is undefined and taken as 0 (scikit-learn's
        # zero_division=0), so "predict none" never wins a precision objective.
        score = np.divide(tp, counts, out=np.zeros(counts.size), where=counts > 0)
    else:  # "f1", "fbeta": (1 + b2) tp / ((1 + b2) tp + b2 fn + fp)
        b2 = 1.0 if metric == "f1" else beta * beta
        score = (1.0 + b2) * tp / (tp + fp + b2 * n_pos)
    return score, tp, counts, thresholds


def _tune_label(y, s, metric, default, *, beta, min_precision, min_recall, shrinkage, ratio):
    """Threshold of one label: best cut under the constraints, shrunk toward ``default``.

    O(n log n) by sorting and cumulative sums (one metric call per cut for a callable).
    """
    n = y.size
    n_pos = int(y.sum())
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        # A constant label: nothing to separate. F1 of an all-negative label and every
        # objective but F1 and accuracy are undefined; with shrinkage on, the weight of the
        # data is 0 for a constant label anyway.
        if shrinkage > 0 or not (metric == "accuracy" or (metric == "f1" and n_pos > 0)):
            return default
    score, tp, counts, thresholds = _cut_scores(y, s, metric, beta)
    # Constraints: the caller's first (precision, then recall), then the positive-rate cap.
    # Predicting nothing meets any minimum precision, predicting everything any minimum recall,
    # and predicting nothing any cap, so at least one cut survives unless the caller's two
    # constraints exclude each other; the cap, then min_recall, then give way.
    feasible = np.ones(counts.size, dtype=bool)
    if min_precision is not None:
        feasible &= tp >= min_precision * counts
    if min_recall is not None:
        with_recall = feasible & (tp >= min_recall * n_pos)
        if with_recall.any():
            feasible = with_recall
    if ratio is not None and n_pos > 0:
        capped = feasible & (counts <= ratio * n_pos)
        if capped.any():
            feasible = capped
    score = np.where(feasible, score, -np.inf)
    best = np.flatnonzero(score == score.max())
    # Among optimal cuts: the threshold nearest the default, then the higher one.
    candidates = thresholds[best]
    pick = np.lexsort((-candidates, np.abs(candidates - default)))[0]
    threshold = float(candidates[pick])
    if shrinkage > 0:
        minority = min(n_pos, n_neg)
        weight = minority / (minority + shrinkage)
        threshold = weight * threshold + (1.0 - weight) * default
        if ratio is not None and n_pos > 0:
            # Shrinking a threshold above the default lowers it: never below the lowest
            # threshold that still respects the cap on the tuning data.
            within = thresholds[counts <= ratio * n_pos]
            threshold = max(threshold, float(within.min()))
    return threshold


def _per_label_values(value, n_labels, name, low, high, low_open=False):
    """A scalar or an array of shape (n_labels,) in label order, as floats, checked."""
    if value is None:
        return [None] * n_labels
    try:
        values = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number or {n_labels} numbers; got {value!r}.") from exc
    if values.ndim == 0:
        values = np.full(n_labels, values.item())
    if values.shape != (n_labels,):
        raise ValueError(
            f"{name} must be a number or have shape (n_labels,) = ({n_labels},); got shape "
            f"{values.shape}."
        )
    bad = (
        ~np.isfinite(values) | (values > high) | ((values <= low) if low_open else (values < low))
    )
    if bad.any():
        bounds = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{name} must be in {bounds}; got {values[bad][:5].tolist()}.")
    return values.tolist()


def _check_real(name, value, low):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= low:
        raise ValueError(f"{name} must be a number >= {low}, got {value!r}.")
    return float(value)


def tune_thresholds(
    y_true,
    y_score,
    metric="f1",
    *,
    default=0.5,
    beta=1.0,
    min_precision=None,
    min_recall=None,
    shrinkage=10.0,
    max_positive_ratio=3.0,
):
    """Per-label thresholds that maximise a metric on the given data, stable on rare labels.

    For each label every distinct score is a candidate cut. The metric of all cuts comes from
    one sort and cumulative sums of true and false positives, in O(n_samples log n_samples)
    per label, and the optimum is exact on ``(y_true, y_score)``.

    The threshold returned for a cut is the midpoint between the lowest score it predicts
    and the next lower distinct score, so ``y_score >= threshold`` reproduces the optimum
    and new samples between the two are split evenly. Predicting every sample uses the
    midpoint with 0 (or the lowest score itself when it is <= 0); predicting none uses the
    midpoint with 1 (or just above the highest score when it is >= 1). When several cuts
    reach the same optimum, the threshold closest to ``default`` is chosen, and of two equally
    close the higher one.

    **Rare labels.** The optimum of a label with a handful of positives is mostly noise, and
    F1 in particular prefers catching one positive at rank 50 (F1 = 2/51) to predicting
    nothing (F1 = 0): a tuned rule can then predict a rare label for most samples. Two
    safeguards, on by default, keep such labels near the untuned rule:

    * ``max_positive_ratio``: a cut may predict at most ``max_positive_ratio * n_pos`` of the
      tuning samples. Such a cut has precision below ``1 / max_positive_ratio`` (F1 below 0.5
      with the default 3), so it is never strong evidence; and it bounds the label's error
      rate on the tuning data at ``(max_positive_ratio + 1)`` times its prevalence. The cap
      never binds for ``"accuracy"``, whose optimum predicts at most ``2 * n_pos`` samples.
    * ``shrinkage``: the tuned threshold ``t`` becomes ``w * t + (1 - w) * default`` with
      ``w = m / (m + shrinkage)``, where ``m`` is the count of the label's minority class
      (usually its positives): a pseudo-count, as in additive smoothing. A label with 500
      positives keeps 98 % of its tuned threshold (default 10), one with 10 positives 50 %,
      and a constant label gets ``default``. ``default=0.5`` is the Bayes rule for the
      label's error (its share of the hamming loss) on calibrated probabilities and the rule
      of an untuned classifier; a calibrated classifier's F1-optimal threshold is half its
      optimal F1 (Lipton et al., 2014), so at most 0.5: shrinking toward it only makes a rule
      more conservative.

    ``shrinkage=0, max_positive_ratio=None`` give the exact optimum on the data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        Binary label indicator matrix (dense or scipy sparse).
    y_score : array-like of shape (n_samples, n_labels)
        Scores, usually probabilities in [0, 1]; higher means more likely.
    metric : {"f1", "fbeta", "accuracy", "balanced_accuracy", "recall", "precision"} or \
            callable, default="f1"
        Objective per label, higher is better. ``"f1"``: F1 score; ``"fbeta"``: F-beta with
        ``beta``; ``"accuracy"``: accuracy, i.e. 1 minus the label's share of the hamming
        loss; ``"balanced_accuracy"``: mean of the true positive and true negative rates;
        ``"recall"`` (needs ``min_precision``): the highest recall whose precision is at least
        ``min_precision``; ``"precision"`` (needs ``min_recall``): the highest precision whose
        recall is at least ``min_recall``. A callable ``f(y_true_label, y_pred_label) ->
        float`` gets 1-D 0/1 arrays of one label; it is evaluated on every cut, or on 256
        cuts evenly spaced in rank when there are more.
    default : float, default=0.5
        The safe threshold: that of constant labels, and the value ``shrinkage`` pulls
        toward.
    beta : float or array-like of shape (n_labels,), default=1.0
        Weight of recall in ``"fbeta"`` (``beta=2`` counts recall twice as much as precision).
    min_precision : float or array-like of shape (n_labels,), default=None
        Only cuts with at least this precision on the data are considered (predicting nothing
        always qualifies). Works with any metric.
    min_recall : float or array-like of shape (n_labels,), default=None
        Only cuts with at least this recall on the data are considered (predicting everything
        always qualifies); dropped for a label when no cut meets both it and
        ``min_precision``. Works with any metric.
    shrinkage : float, default=10.0
        Pseudo-count of the shrinkage toward ``default``; 0 turns it off. With shrinkage on,
        ``min_precision`` and ``min_recall`` hold on the data only approximately for labels
        with few positives.
    max_positive_ratio : float or None, default=3.0
        A cut may predict at most this many times the label's positives; None turns the cap
        off. It gives way to ``min_recall``.

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
    >>> tune_thresholds(y_true, y_score, shrinkage=0)
    array([0.35])
    >>> tune_thresholds(y_true, y_score)  # 2 positives: weight 2 / 12 on the data
    array([0.475])
    """
    if not callable(metric) and metric not in _METRICS:
        raise ValueError(f"metric must be one of {list(_METRICS)} or a callable, got {metric!r}.")
    if not isinstance(default, numbers.Real) or isinstance(default, bool):
        raise ValueError(f"default must be a number, got {default!r}.")
    shrinkage = _check_real("shrinkage", shrinkage, 0)
    if max_positive_ratio is not None:
        max_positive_ratio = _check_real("max_positive_ratio", max_positive_ratio, 1)
    if metric == "recall" and min_precision is None:
        raise ValueError(
            "metric='recall' needs min_precision: the highest recall alone predicts every sample."
        )
    if metric == "precision" and min_recall is None:
        raise ValueError(
            "metric='precision' needs min_recall: the highest precision alone predicts "
            "almost nothing."
        )
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
    n_labels = y_true.shape[1]
    betas = _per_label_values(beta, n_labels, "beta", 0, np.inf, low_open=True)
    precisions = _per_label_values(min_precision, n_labels, "min_precision", 0, 1)
    recalls = _per_label_values(min_recall, n_labels, "min_recall", 0, 1)
    y_true = y_true.astype(np.int64)
    return np.array(
        [
            _tune_label(
                y_true[:, j],
                y_score[:, j],
                metric,
                float(default),
                beta=betas[j],
                min_precision=precisions[j],
                min_recall=recalls[j],
                shrinkage=shrinkage,
                ratio=max_positive_ratio,
            )
            for j in range(n_labels)
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

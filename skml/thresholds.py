"""Decision rules for multi-label scores: per-label threshold tuning, min-labels and top-k.

Pure NumPy. Scores are usually the sigmoid probabilities of a classifier, and a label is
predicted when its score is ``>=`` its threshold. The objectives a threshold can be tuned for
are registered once, in :data:`RULES`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from skml._validation import (
    check_consistent_shape,
    check_label_matrix,
    check_number,
    check_per_label,
    check_scores,
    check_thresholds,
)

__all__ = [
    "DEFAULT_SHRINKAGE",
    "RULES",
    "Rule",
    "apply_thresholds",
    "check_rule",
    "top_k",
    "tune_thresholds",
]

# At most this many cuts are scored with a user callable, which costs one call per cut.
_MAX_CALLABLE_CUTS = 256

#: Pseudo-count of the rare-label shrinkage of :func:`tune_thresholds` (and of every tuned rule
#: of skml) unless one is given; chosen on the development suite (see ``shrinkage``).
DEFAULT_SHRINKAGE = 1.0


@dataclass(frozen=True)
class Rule:
    """A per-label objective of :func:`tune_thresholds`, computed from confusion counts.

    Parameters
    ----------
    name : str
        Its key in :data:`RULES`.
    score : callable
        ``score(tp, fp, n_pos, n_neg, beta)``: the objective, higher is better, of predictions
        with ``tp`` true and ``fp`` false positives on a label with ``n_pos`` positive and
        ``n_neg`` negative samples; vectorised over arrays of ``tp`` and ``fp``. Undefined
        ratios count as 0 (scikit-learn's ``zero_division=0``).
    requires : str or None, default=None
        The constraint the rule cannot do without (``"min_precision"`` or ``"min_recall"``).
    why : str, default=""
        Why, for the message when it is missing.
    """

    name: str
    score: Callable
    requires: str | None = None
    why: str = ""

    def __call__(self, y_true, y_pred, beta=1.0):
        """The objective of one label's 0/1 predictions ``y_pred`` against ``y_true``."""
        y_true = np.asarray(y_true).astype(bool)
        y_pred = np.asarray(y_pred).astype(bool)
        n_pos = int(y_true.sum())
        tp = int((y_true & y_pred).sum())
        fp = int(y_pred.sum()) - tp
        return float(self.score(tp, fp, n_pos, y_true.size - n_pos, beta))


def _ratio(numerator, denominator):
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    )
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator > 0)


def _fbeta(tp, fp, n_pos, n_neg, beta):
    b2 = beta * beta
    return _ratio((1.0 + b2) * tp, tp + fp + b2 * n_pos)


def _f1(tp, fp, n_pos, n_neg, beta):
    return _fbeta(tp, fp, n_pos, n_neg, 1.0)


def _accuracy(tp, fp, n_pos, n_neg, beta):
    return _ratio(tp - fp + n_neg, n_pos + n_neg)


def _balanced_accuracy(tp, fp, n_pos, n_neg, beta):
    # The mean of the rates defined on the label, as scikit-learn's balanced_accuracy_score.
    rates = [_ratio(tp, n_pos)] * (n_pos > 0) + [_ratio(n_neg - fp, n_neg)] * (n_neg > 0)
    return sum(rates) / max(len(rates), 1)


def _recall(tp, fp, n_pos, n_neg, beta):
    return _ratio(tp, n_pos)


def _precision(tp, fp, n_pos, n_neg, beta):
    # Nothing predicted: precision is undefined and taken as 0, so "predict none" never wins a
    # precision objective.
    return _ratio(tp, tp + fp)


#: Every objective of :func:`tune_thresholds` (and of
#: :class:`~skml.tuning.TunedThresholdMultiLabelClassifier`), by name: a read-only mapping of
#: names to :class:`Rule`. ``"accuracy"`` is 1 minus the label's share of the hamming loss.
RULES = MappingProxyType(
    {
        "f1": Rule("f1", _f1),
        "fbeta": Rule("fbeta", _fbeta),
        "accuracy": Rule("accuracy", _accuracy),
        "balanced_accuracy": Rule("balanced_accuracy", _balanced_accuracy),
        "recall": Rule(
            "recall",
            _recall,
            requires="min_precision",
            why="the highest recall alone predicts every sample",
        ),
        "precision": Rule(
            "precision",
            _precision,
            requires="min_recall",
            why="the highest precision alone predicts almost nothing",
        ),
    }
)


def check_rule(metric, name="metric", **constraints):
    """The :class:`Rule` named ``metric`` (a callable is returned as is), its constraint given.

    Parameters
    ----------
    metric : str or callable
        A key of :data:`RULES`, or ``f(y_true_label, y_pred_label) -> float``.
    name : str, default="metric"
        Name of the parameter, for the messages.
    **constraints : dict
        The constraints set (``min_precision``, ``min_recall``), None when not set.

    Returns
    -------
    rule : Rule or callable
    """
    if callable(metric):
        return metric
    if not isinstance(metric, str) or metric not in RULES:
        raise ValueError(f"{name} must be one of {list(RULES)} or a callable; got {metric!r}.")
    rule = RULES[metric]
    if rule.requires is not None and constraints.get(rule.requires) is None:
        raise ValueError(
            f"{name}={metric!r} needs {rule.requires} (e.g. {rule.requires}=0.8): {rule.why}."
        )
    return rule


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
    A :class:`Rule` scores every cut at once from integer counts, so equal values compare
    equal and ties are found exactly; a callable is called on some cuts.
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
    if isinstance(metric, Rule):
        return metric.score(tp, fp, n_pos, n_neg, beta), tp, counts, thresholds
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
        name = metric.name if isinstance(metric, Rule) else None
        if shrinkage > 0 or not (name == "accuracy" or (name == "f1" and n_pos > 0)):
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


def _constraint(value, n_labels, name):
    """A minimum precision or recall per label, or Nones when it is not set."""
    if value is None:
        return [None] * n_labels
    return check_per_label(value, n_labels, name=name, default=0.0, low=0, high=1).tolist()


def tune_thresholds(
    y_true,
    y_score,
    metric="f1",
    *,
    default=0.5,
    beta=1.0,
    min_precision=None,
    min_recall=None,
    shrinkage=DEFAULT_SHRINKAGE,
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
      (usually its positives): a pseudo-count, as in additive smoothing. With the default
      1, a label with 100 positives keeps 99 % of its tuned threshold, one with 3 positives
      75 %, one with a single positive 50 %, and a constant label gets ``default``.
      ``default=0.5`` is the Bayes rule for the label's error (its share of the hamming
      loss) on calibrated probabilities and the rule of an untuned classifier; a calibrated
      classifier's F1-optimal threshold is half its optimal F1 (Lipton et al., 2014), so at
      most 0.5: shrinking toward it only makes a rule more conservative.

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
        recall is at least ``min_recall``. The names are the keys of :data:`RULES`. A callable
        ``f(y_true_label, y_pred_label) -> float`` gets 1-D 0/1 arrays of one label; it is
        evaluated on every cut, or on 256 cuts evenly spaced in rank when there are more.
    default : float or array-like of shape (n_labels,), default=0.5
        The safe threshold: that of constant labels, and the value ``shrinkage`` pulls
        toward; one per label when an array. For probabilities of a loss that weighs a
        label's positives by ``w``, the safe threshold is ``w / (1 + w)``, the Bayes rule for
        the label's error; :func:`skml.losses.bayes_thresholds` gives it for every loss of
        :mod:`skml.losses` (what ``KerasMultiLabelClassifier`` passes).
    beta : float, array-like of shape (n_labels,) or dict, default=1.0
        Weight of recall in ``"fbeta"`` (``beta=2`` counts recall twice as much as precision);
        a dict is keyed by label index.
    min_precision : float or array-like of shape (n_labels,), default=None
        Only cuts with at least this precision on the data are considered (predicting nothing
        always qualifies). Works with any metric.
    min_recall : float or array-like of shape (n_labels,), default=None
        Only cuts with at least this recall on the data are considered (predicting everything
        always qualifies); dropped for a label when no cut meets both it and
        ``min_precision``. Works with any metric.
    shrinkage : float, default=1.0
        Pseudo-count of the shrinkage toward ``default``; 0 turns it off. 1 was chosen on
        the development suite (``python -m benchmarks.defaults --rules --seeds 3``; earlier
        0.2.0 development builds used 10, then 3): the highest mean macro-F1 over the suite
        of the pseudo-counts whose hamming loss stays within 1.5x that of threshold 0.5 on
        every set (0 breaks it on sparse text). With shrinkage on, ``min_precision`` and
        ``min_recall`` hold on the data only approximately for labels with few positives.
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
    >>> tune_thresholds(y_true, y_score)  # 2 positives: weight 2 / 3 on the data
    array([0.4])
    """
    rule = check_rule(metric, min_precision=min_precision, min_recall=min_recall)
    shrinkage = check_number(shrinkage, "shrinkage", low=0)
    max_positive_ratio = check_number(
        max_positive_ratio, "max_positive_ratio", low=1, allow_none=True
    )
    y_score = check_scores(y_score)
    y_true = check_label_matrix(y_true, "y_true", dtype=np.int64)
    check_consistent_shape(y_true, y_score, ("y_true", "y_score"))
    n_labels = y_true.shape[1]
    defaults = check_per_label(default, n_labels, name="default", default=0.5, target="y_true")
    betas = check_per_label(beta, n_labels, name="beta", default=1.0, low=0, low_open=True)
    precisions = _constraint(min_precision, n_labels, "min_precision")
    recalls = _constraint(min_recall, n_labels, "min_recall")
    return np.array(
        [
            _tune_label(
                y_true[:, j],
                y_score[:, j],
                rule,
                float(defaults[j]),
                beta=float(betas[j]),
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
    thresholds : float, array-like of shape (n_labels,) or dict
        Finite values; a label is predicted when its score is ``>=`` its threshold. A dict is
        keyed by label index, and the labels it leaves out get 0.5.
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
    y_score = check_scores(y_score)
    n_labels = y_score.shape[1]
    thresholds = check_thresholds(thresholds, n_labels, target="y_score")
    min_labels = check_number(min_labels, "min_labels", low=0, high=n_labels, integer=True)
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
    y_score = check_scores(y_score)
    k = check_number(k, "k", low=1, high=y_score.shape[1], integer=True)
    indices = np.argsort(-y_score, axis=1, kind="stable")[:, :k]
    return indices, np.take_along_axis(y_score, indices, axis=1)

"""Multi-label metrics, scorers and a per-label report.

Scorers for :func:`~sklearn.model_selection.cross_validate` and
:class:`~sklearn.model_selection.GridSearchCV`, by their key in :data:`SCORING`:

- ``"hamming"``: minus :func:`~sklearn.metrics.hamming_loss` (``hamming_scorer``);
- ``"f1_macro"``, ``"f1_micro"``, ``"f1_samples"``: :func:`~sklearn.metrics.f1_score`;
- ``"subset_accuracy"``: :func:`subset_accuracy_score`;
- ``"jaccard"``, ``"jaccard_macro"``: :func:`~sklearn.metrics.jaccard_score`, averaged over
  samples and over labels;
- ``"lrap"``: :func:`~sklearn.metrics.label_ranking_average_precision_score`;
- ``"roc_auc_macro"``: :func:`macro_roc_auc_score`.

All are greater-is-better, so the hamming loss is negated as scikit-learn does for its
``neg_*`` losses. F1 and Jaccard use ``zero_division=0``. The first seven read ``predict``.

The last two read ``predict_proba`` (or ``decision_function`` when an estimator has no
``predict_proba``) and accept both output conventions: one array of shape
``(n_samples, n_labels)`` (skml, :class:`~sklearn.multiclass.OneVsRestClassifier`) and one
array of shape ``(n_samples, n_classes)`` per label
(:class:`~sklearn.multioutput.MultiOutputClassifier`,
:class:`~sklearn.neighbors.KNeighborsClassifier`), of which the positive-class column is taken,
using ``classes_`` (a label seen with one class only in training scores 0 or 1 throughout).
They are plain ``scorer(estimator, X, y_true)`` callables, not ``make_scorer`` objects, because
scikit-learn's response handling infers the target type from ``classes_``: it keeps a single
column of a two-label 2-D output, and passes the per-label list on unconverted when a label was
seen with one class only in the training fold; both make the metric raise.
"""

import copy
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    jaccard_score,
    label_ranking_average_precision_score,
    make_scorer,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.metrics import get_scorer as _sklearn_get_scorer

from skml._validation import (
    as_label_scores,
    check_consistent_shape,
    check_label_matrix,
    check_number,
    check_scores,
)

__all__ = [
    "SCORING",
    "brier_score_per_label",
    "expected_calibration_error",
    "f1_macro_scorer",
    "f1_micro_scorer",
    "f1_samples_scorer",
    "format_report",
    "get_scorer",
    "hamming_scorer",
    "jaccard_macro_scorer",
    "jaccard_scorer",
    "lrap_scorer",
    "macro_roc_auc_score",
    "multilabel_report",
    "multilabel_scoring",
    "roc_auc_macro_scorer",
    "subset_accuracy_score",
    "subset_accuracy_scorer",
]


def _check_indicator(y, name):
    """Return ``(y, column_names)``: the 0/1 int8 matrix and a DataFrame's column names."""
    columns = [str(c) for c in y.columns] if isinstance(y, pd.DataFrame) else None
    return check_label_matrix(y, name), columns


def _check_pair(y_true, y_pred):
    """``y_true`` and ``y_pred`` as 0/1 matrices of one shape, and ``y_true``'s column names."""
    y_true, columns = _check_indicator(y_true, "y_true")
    y_pred, _ = _check_indicator(y_pred, "y_pred")
    check_consistent_shape(y_true, y_pred, ("y_true", "y_pred"))
    return y_true, y_pred, columns


def _varying_labels(y_true):
    """Mask of the labels whose column in y_true holds both 0 and 1."""
    positives = y_true.sum(axis=0)
    return (positives > 0) & (positives < y_true.shape[0])


def subset_accuracy_score(y_true, y_pred, *, sample_weight=None):
    """Subset accuracy: the fraction of samples whose whole label set is predicted exactly.

    A checked name for :func:`sklearn.metrics.accuracy_score` on indicator matrices, which
    computes the same number but also accepts single-label targets.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels)
        True label indicator matrix.
    y_pred : {array-like, sparse matrix} of shape (n_samples, n_labels)
        Predicted label indicator matrix.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        In [0, 1]; 1 when every label set is right.

    Examples
    --------
    >>> from skml.metrics import subset_accuracy_score
    >>> subset_accuracy_score([[1, 0], [1, 1]], [[1, 0], [1, 0]])
    0.5
    """
    y_true, y_pred, _ = _check_pair(y_true, y_pred)
    return float(accuracy_score(y_true, y_pred, sample_weight=sample_weight))


def macro_roc_auc_score(y_true, y_score, *, sample_weight=None):
    """Macro-averaged ROC AUC that skips labels constant in ``y_true``.

    ROC AUC is undefined for a label with no positive or no negative sample, which is common in
    the test folds of rare labels. Such labels are left out of the average instead of making
    the whole score NaN (scikit-learn 1.6+) or raising (earlier versions): the result is the
    mean of :func:`sklearn.metrics.roc_auc_score` over the labels that have both classes.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels)
        True label indicator matrix.
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        Scores of the positive class, e.g. probabilities. A list of per-label arrays of shape
        ``(n_samples, 2)``, as from :class:`~sklearn.multioutput.MultiOutputClassifier`, is
        converted to its second (positive-class) columns.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        Mean ROC AUC over the labels with both classes in ``y_true``; NaN, with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`, when there is none.

    Examples
    --------
    >>> from skml.metrics import macro_roc_auc_score
    >>> y_true = [[1, 0], [0, 0], [1, 0]]
    >>> y_score = [[0.9, 0.2], [0.1, 0.3], [0.6, 0.1]]
    >>> macro_roc_auc_score(y_true, y_score)  # the second label is skipped
    1.0
    """
    y_true, _ = _check_indicator(y_true, "y_true")
    y_score = check_scores(y_score, y_true=y_true)
    valid = _varying_labels(y_true)
    if not valid.any():
        warnings.warn(
            "No label has both positive and negative samples in y_true; ROC AUC is undefined "
            "and NaN is returned.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    return float(
        roc_auc_score(
            y_true[:, valid], y_score[:, valid], average="macro", sample_weight=sample_weight
        )
    )


def brier_score_per_label(y_true, y_score):
    """Brier score of each label: the mean squared error of its probabilities.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels)
        True label indicator matrix.
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        Positive-class probabilities in [0, 1]; a list of per-label ``(n_samples, 2)`` arrays
        is converted to its positive-class columns.

    Returns
    -------
    scores : ndarray of shape (n_labels,)
        Lower is better; 0 for perfect, 0.25 for a constant 0.5. Average with ``np.mean``.

    Examples
    --------
    >>> from skml.metrics import brier_score_per_label
    >>> brier_score_per_label([[1, 0], [0, 0]], [[0.8, 0.5], [0.4, 0.5]])
    array([0.1 , 0.25])
    """
    y_true, _ = _check_indicator(y_true, "y_true")
    y_score = check_scores(y_score, y_true=y_true, proba=True)
    return np.mean((y_score - y_true) ** 2, axis=0)


def _ece(y, s, n_bins):
    """ECE of one column: equal-width bins, ``[0, 1/n_bins)``, ..., ``[1 - 1/n_bins, 1]``."""
    bins = np.minimum((s * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    gap = np.abs(
        np.bincount(bins, weights=y, minlength=n_bins)
        - np.bincount(bins, weights=s, minlength=n_bins)
    )
    return float(gap.sum() / counts.sum())


def expected_calibration_error(y_true, y_score, *, n_bins=10, average=None):
    """Expected calibration error (ECE) of each label, on equal-width probability bins.

    In each bin of predicted probability, the gap between the mean probability and the
    fraction of positives, weighted by the bin's share of samples:
    ``sum_b (n_b / n) * |mean(y_true in b) - mean(y_score in b)|``.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_samples, n_labels)
        True label indicator matrix.
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        Positive-class probabilities in [0, 1].
    n_bins : int, default=10
        Number of equal-width bins over [0, 1].
    average : {None, "macro", "micro"}, default=None
        None: one value per label. ``"macro"``: their mean. ``"micro"``: the ECE of all
        (sample, label) cells pooled.

    Returns
    -------
    ece : ndarray of shape (n_labels,) or float
        Lower is better; 0 for perfectly calibrated scores.

    Examples
    --------
    >>> from skml.metrics import expected_calibration_error
    >>> expected_calibration_error([[1], [0], [1], [0]], [[0.9], [0.9], [0.1], [0.1]])
    array([0.4])
    """
    n_bins = check_number(n_bins, "n_bins", low=1, integer=True)
    if average not in (None, "macro", "micro"):
        raise ValueError(f"average must be None, 'macro' or 'micro'; got {average!r}.")
    y_true, _ = _check_indicator(y_true, "y_true")
    y_score = check_scores(y_score, y_true=y_true, proba=True)
    if average == "micro":
        return _ece(y_true.ravel().astype(float), y_score.ravel(), n_bins)
    per_label = np.array(
        [_ece(y_true[:, j].astype(float), y_score[:, j], n_bins) for j in range(y_true.shape[1])]
    )
    return float(per_label.mean()) if average == "macro" else per_label


def _label_scores(estimator, X):
    """Per-label continuous scores of shape (n_samples, n_labels) from a fitted estimator."""
    if hasattr(estimator, "predict_proba"):
        y_score = estimator.predict_proba(X)
    elif hasattr(estimator, "decision_function"):
        y_score = estimator.decision_function(X)
    else:
        raise TypeError(
            f"{type(estimator).__name__} has neither predict_proba nor decision_function; "
            "score-based metrics need one of them."
        )
    return as_label_scores(y_score, classes=getattr(estimator, "classes_", None))


class _LabelScoreScorer:
    """Scorer for metrics computed from per-label scores.

    Called as ``scorer(estimator, X, y_true)``, the signature scikit-learn accepts for any
    ``scoring`` callable.
    """

    def __init__(self, score_func, **kwargs):
        self._score_func = score_func
        self._kwargs = kwargs

    def __call__(self, estimator, X, y_true, sample_weight=None):
        kwargs = dict(self._kwargs)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return float(self._score_func(y_true, _label_scores(estimator, X), **kwargs))

    def __repr__(self):
        kwargs = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        name = self._score_func.__name__
        return f"label_score_scorer({name}, response_method='predict_proba'{kwargs})"


hamming_scorer = make_scorer(hamming_loss, greater_is_better=False)
f1_macro_scorer = make_scorer(f1_score, average="macro", zero_division=0)
f1_micro_scorer = make_scorer(f1_score, average="micro", zero_division=0)
f1_samples_scorer = make_scorer(f1_score, average="samples", zero_division=0)
subset_accuracy_scorer = make_scorer(subset_accuracy_score)
jaccard_scorer = make_scorer(jaccard_score, average="samples", zero_division=0)
jaccard_macro_scorer = make_scorer(jaccard_score, average="macro", zero_division=0)
lrap_scorer = _LabelScoreScorer(label_ranking_average_precision_score)
roc_auc_macro_scorer = _LabelScoreScorer(macro_roc_auc_score)

_SCORERS = {
    "hamming": hamming_scorer,
    "f1_macro": f1_macro_scorer,
    "f1_micro": f1_micro_scorer,
    "f1_samples": f1_samples_scorer,
    "subset_accuracy": subset_accuracy_scorer,
    "jaccard": jaccard_scorer,
    "jaccard_macro": jaccard_macro_scorer,
    "lrap": lrap_scorer,
    "roc_auc_macro": roc_auc_macro_scorer,
}


def multilabel_scoring(names=None):
    """Return a fresh ``scoring`` dict for :func:`~sklearn.model_selection.cross_validate`.

    Parameters
    ----------
    names : list of str, default=None
        Keys to include, from ``"hamming"``, ``"f1_macro"``, ``"f1_micro"``,
        ``"f1_samples"``, ``"subset_accuracy"``, ``"jaccard"``, ``"jaccard_macro"``,
        ``"lrap"`` and ``"roc_auc_macro"``. None means all.

    Returns
    -------
    scoring : dict of str to callable
        Scorers, all greater-is-better (``"hamming"`` is the negated hamming loss).

    Examples
    --------
    >>> from skml.metrics import multilabel_scoring
    >>> sorted(multilabel_scoring(["f1_micro", "hamming"]))
    ['f1_micro', 'hamming']
    """
    if names is None:
        names = list(_SCORERS)
    elif isinstance(names, str):
        names = [names]
    return {name: get_scorer(name) for name in names}


def get_scorer(name):
    """Return a scorer by name: one of skml's multi-label scorers, else scikit-learn's.

    Parameters
    ----------
    name : str
        A key of :data:`SCORING` (``"hamming"``, ``"f1_macro"``, ``"f1_micro"``,
        ``"f1_samples"``, ``"subset_accuracy"``, ``"jaccard"``, ``"jaccard_macro"``,
        ``"lrap"``, ``"roc_auc_macro"``) or any name of
        :func:`sklearn.metrics.get_scorer_names`.

    Returns
    -------
    scorer : callable
        A copy, so that changing it leaves the module's scorer alone.

    Examples
    --------
    >>> from skml.metrics import get_scorer
    >>> get_scorer("f1_macro")
    make_scorer(f1_score, response_method='predict', average=macro, zero_division=0)
    """
    if name in _SCORERS:
        return copy.deepcopy(_SCORERS[name])
    try:
        return _sklearn_get_scorer(name)
    except (ValueError, TypeError):
        raise ValueError(
            f"Unknown scorer {name!r}: use one of {sorted(_SCORERS)} or a name from "
            "sklearn.metrics.get_scorer_names()."
        ) from None


#: Every skml scorer by name, ready for ``cross_validate(scoring=SCORING)``; use
#: :func:`multilabel_scoring` for a subset or a copy to modify.
SCORING = multilabel_scoring()


def _roc_auc_columns(y_true, y_score):
    """Per-label ROC AUC, NaN for constant labels, and the micro/macro/weighted/samples ones."""
    valid = _varying_labels(y_true)
    per_label = np.full(y_true.shape[1], np.nan)
    for j in np.flatnonzero(valid):
        per_label[j] = roc_auc_score(y_true[:, j], y_score[:, j])
    averages = dict.fromkeys(("micro", "macro", "weighted", "samples"), np.nan)
    if 0 < y_true.sum() < y_true.size:
        averages["micro"] = roc_auc_score(y_true, y_score, average="micro")
    if valid.any():
        averages["macro"] = np.mean(per_label[valid])
        averages["weighted"] = np.average(per_label[valid], weights=y_true[:, valid].sum(0))
    row_sums = y_true.sum(axis=1)
    rows = (row_sums > 0) & (row_sums < y_true.shape[1])
    if rows.any():
        averages["samples"] = roc_auc_score(y_true[rows], y_score[rows], average="samples")
    return per_label, averages


def _calibration_column(y_true, y_score, support, per_label_func):
    """Per-label values, then micro (pooled cells), macro, weighted and samples (NaN)."""
    per_label = per_label_func(y_true, y_score)
    micro = float(per_label_func(y_true.reshape(-1, 1), y_score.reshape(-1, 1))[0])
    weighted = np.average(per_label, weights=support) if support.sum() > 0 else np.nan
    return [*per_label, micro, float(per_label.mean()), weighted, np.nan, np.nan, np.nan]


def multilabel_report(y_true, y_pred, y_score=None, target_names=None, zero_division=0):
    """Per-label and averaged precision, recall, F1, support and ROC AUC, as a DataFrame.

    The multi-label counterpart of :func:`sklearn.metrics.classification_report`.

    Parameters
    ----------
    y_true : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
        True label indicator matrix. A DataFrame's column names are the default target names.
    y_pred : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
        Predicted label indicator matrix.
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays, \
            default=None
        Positive-class scores, e.g. ``predict_proba`` output; adds the columns ``roc_auc``,
        and, when the scores are probabilities in [0, 1], ``brier``
        (:func:`brier_score_per_label`) and ``ece`` (:func:`expected_calibration_error`,
        10 bins), whose ``micro avg`` pools every (sample, label) cell.
    target_names : list of str of length n_labels, default=None
        Label names for the index; default: the columns of a DataFrame ``y_true``, else
        ``"0"``, ``"1"``, ...
    zero_division : {0, 1, "warn"} or float, default=0
        Value of precision, recall and F1 when their denominator is zero, as in
        :func:`sklearn.metrics.precision_recall_fscore_support`.

    Returns
    -------
    report : pandas.DataFrame
        Columns ``precision``, ``recall``, ``f1-score``, ``roc_auc``, ``brier`` and ``ece``
        (with ``y_score``) and ``support``. One row per label, then ``micro avg``,
        ``macro avg``, ``weighted avg`` and ``samples avg`` (support: the number of positive
        labels), then ``hamming loss`` and ``subset accuracy``, whose value sits in the
        ``f1-score`` column with the number of samples as support, as ``accuracy`` does in
        scikit-learn's classification report.
        Undefined cells are NaN: a label's ROC AUC when the label is constant in ``y_true``,
        and the scalar rows' other columns. Print it with :func:`format_report`.

    Examples
    --------
    >>> from skml.metrics import multilabel_report
    >>> report = multilabel_report([[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 0], [1, 1]])
    >>> report.loc["1", ["precision", "recall", "support"]].tolist()
    [1.0, 0.5, 2.0]
    """
    y_true, y_pred, columns = _check_pair(y_true, y_pred)
    n_samples, n_labels = y_true.shape
    if target_names is None:
        target_names = columns if columns is not None else [str(j) for j in range(n_labels)]
    target_names = [str(name) for name in target_names]
    if len(target_names) != n_labels:
        raise ValueError(
            f"target_names has {len(target_names)} names but y_true has {n_labels} labels."
        )
    names = [*target_names, "micro avg", "macro avg", "weighted avg", "samples avg"]
    if len(set(names)) != len(names):
        raise ValueError(
            "target_names must be unique and differ from the average rows' names; "
            f"got {target_names}."
        )

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=zero_division
    )
    rows = {
        "precision": list(precision),
        "recall": list(recall),
        "f1-score": list(f1),
        "support": list(support),
    }
    for average in ("micro", "macro", "weighted", "samples"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=zero_division
        )
        rows["precision"].append(p)
        rows["recall"].append(r)
        rows["f1-score"].append(f)
        rows["support"].append(int(support.sum()))
    for value in (hamming_loss(y_true, y_pred), accuracy_score(y_true, y_pred)):
        rows["precision"].append(np.nan)
        rows["recall"].append(np.nan)
        rows["f1-score"].append(value)
        rows["support"].append(n_samples)
    index = [*names, "hamming loss", "subset accuracy"]

    report = pd.DataFrame(
        {key: np.asarray(rows[key], dtype=float) for key in ("precision", "recall", "f1-score")},
        index=index,
    )
    if y_score is not None:
        y_score = check_scores(y_score, y_true=y_true)
        per_label, averages = _roc_auc_columns(y_true, y_score)
        report["roc_auc"] = [*per_label, *averages.values(), np.nan, np.nan]
        if n_samples and ((y_score >= 0) & (y_score <= 1)).all():
            report["brier"] = _calibration_column(y_true, y_score, support, brier_score_per_label)
            report["ece"] = _calibration_column(
                y_true, y_score, support, expected_calibration_error
            )
    report["support"] = np.asarray(rows["support"], dtype=np.int64)
    return report


def format_report(report, digits=3):
    """Format a :func:`multilabel_report` as aligned text, with undefined cells left blank.

    Parameters
    ----------
    report : pandas.DataFrame
        Output of :func:`multilabel_report`.
    digits : int, default=3
        Number of digits after the decimal point.

    Returns
    -------
    text : str

    Examples
    --------
    >>> from skml.metrics import format_report, multilabel_report
    >>> print(format_report(multilabel_report([[1, 0], [0, 1]], [[1, 0], [1, 1]])))
                     precision  recall  f1-score  support
    0                    0.500   1.000     0.667        1
    1                    1.000   1.000     1.000        1
    micro avg            0.667   1.000     0.800        2
    macro avg            0.750   1.000     0.833        2
    weighted avg         0.750   1.000     0.833        2
    samples avg          0.750   1.000     0.833        2
    hamming loss                           0.250        2
    subset accuracy                        0.500        2
    """
    digits = check_number(digits, "digits", low=0, integer=True)
    return report.to_string(float_format=f"{{:.{digits}f}}".format, na_rep="")

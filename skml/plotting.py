"""Matplotlib figures: training history, per-label report, threshold and calibration curves.

matplotlib is an optional dependency (``pip install "skml[plot]"``), imported only when a
function is called. Every function draws on the ``ax`` it is given, or on a new figure from
:func:`matplotlib.pyplot.subplots` when ``ax`` is None, and returns that Axes. None of them
selects a backend or changes matplotlib's global settings.
"""

import numbers
from collections.abc import Mapping

import numpy as np

from skml._validation import check_number, check_scores, check_thresholds

__all__ = ["plot_calibration", "plot_history", "plot_label_report", "plot_threshold_curve"]

#: Index of the rows of :func:`skml.metrics.multilabel_report` that are not labels.
_REPORT_SUMMARY_ROWS = (
    "micro avg",
    "macro avg",
    "weighted avg",
    "samples avg",
    "hamming loss",
    "subset accuracy",
)
_HEADROOM = 1.25


def _check_matplotlib(caller):
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f'{caller} requires matplotlib, an optional dependency: pip install "skml[plot]"'
        ) from exc


def _new_axes(figsize=None):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _as_history(clf_or_history):
    """The history dict of a fitted estimator, or the dict itself, checked."""
    if isinstance(clf_or_history, Mapping):
        history = clf_or_history
    else:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(clf_or_history)
        if not hasattr(clf_or_history, "history_"):
            raise ValueError(
                f"{type(clf_or_history).__name__} has no history_ attribute; pass a fitted "
                "skml.KerasMultiLabelClassifier or a dict of per-epoch losses."
            )
        history = clf_or_history.history_
    if len(history) == 0:
        raise ValueError(
            "The history is empty: no network was trained (a classifier whose labels are all "
            "constant in y trains none)."
        )
    if "loss" not in history:
        raise ValueError(f"The history has no 'loss' key; its keys are {sorted(history)}.")
    curves = {}
    for key in ("loss", "val_loss"):
        if key not in history:
            continue
        values = np.asarray(history[key], dtype=float)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"history[{key!r}] must be a non-empty list of per-epoch values; got an array "
                f"of shape {values.shape}."
            )
        curves[key] = values
    if "val_loss" in curves and curves["val_loss"].size != curves["loss"].size:
        raise ValueError(
            f"history['loss'] and history['val_loss'] have different lengths: "
            f"{curves['loss'].size} and {curves['val_loss'].size}."
        )
    return curves


def plot_history(clf_or_history, ax=None):
    """Plot the training and validation loss per epoch.

    The epoch with the lowest validation loss, whose weights a
    :class:`~skml.KerasMultiLabelClassifier` with early stopping keeps, is marked.

    Parameters
    ----------
    clf_or_history : KerasMultiLabelClassifier or dict of str to list of float
        A fitted classifier, whose ``history_`` is plotted, or such a dict itself, e.g.
        ``keras.callbacks.History.history``. Its ``"loss"`` key is required, its
        ``"val_loss"`` key optional; other keys are ignored.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on. Epochs are numbered from 1 on the x-axis.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If an estimator is given that is not fitted.
    ValueError
        If the history is empty, has no ``"loss"`` key, or its curves are not non-empty
        sequences of equal length.

    Examples
    --------
    >>> from skml.plotting import plot_history
    >>> ax = plot_history({"loss": [0.7, 0.5, 0.4], "val_loss": [0.6, 0.5, 0.55]})
    >>> ax.get_lines()[1].get_ydata().tolist()
    [0.6, 0.5, 0.55]
    """
    _check_matplotlib("plot_history")
    curves = _as_history(clf_or_history)
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        ax = _new_axes()
    epochs = np.arange(1, curves["loss"].size + 1)
    ax.plot(epochs, curves["loss"], label="training loss")
    if "val_loss" in curves:
        val_loss = curves["val_loss"]
        ax.plot(epochs, val_loss, label="validation loss")
        if np.isfinite(val_loss).any():
            best = int(np.nanargmin(np.where(np.isfinite(val_loss), val_loss, np.nan)))
            ax.axvline(epochs[best], color="grey", linestyle=":", linewidth=1)
            ax.plot(
                epochs[best],
                val_loss[best],
                marker="o",
                linestyle="none",
                color="black",
                label=f"best validation loss (epoch {epochs[best]})",
            )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_label_report(report, ax=None, metric="f1-score", sort=True):
    """Plot a per-label metric as bars, with each label's support, from a report.

    Parameters
    ----------
    report : pandas.DataFrame
        Output of :func:`skml.metrics.multilabel_report`. Its label rows are plotted; the
        summary rows (``micro avg`` ... ``subset accuracy``) are not, except ``macro avg``,
        drawn as a horizontal line (the mean of the plotted values when the row is absent).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure, widened for many labels, is created when None.
    metric : {"f1-score", "precision", "recall", "roc_auc"}, default="f1-score"
        Column drawn as bars; ``"roc_auc"`` needs a report made with ``y_score``. A label
        whose value is NaN (ROC AUC of a label constant in ``y_true``) gets no bar.
    sort : bool, default=True
        Order labels by decreasing metric (NaN last); otherwise keep the report's order.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes with the bars. The support, when the report has a ``support`` column, is
        drawn as markers on a secondary y-axis made with ``ax.twinx()`` (found in
        ``ax.figure.axes``).

    Raises
    ------
    ValueError
        If ``metric`` is not a metric column of the report, or the report has no label rows.

    Examples
    --------
    >>> from skml.metrics import multilabel_report
    >>> from skml.plotting import plot_label_report
    >>> report = multilabel_report([[1, 0], [0, 1], [1, 1]], [[1, 0], [0, 0], [1, 1]])
    >>> ax = plot_label_report(report)
    >>> [round(float(bar.get_height()), 3) for bar in ax.patches]
    [1.0, 0.667]
    """
    _check_matplotlib("plot_label_report")
    import pandas as pd
    from matplotlib.ticker import MaxNLocator

    if not isinstance(report, pd.DataFrame):
        raise TypeError(
            "report must be a pandas DataFrame from skml.metrics.multilabel_report; "
            f"got {type(report).__name__}."
        )
    metric_columns = [c for c in report.columns if c != "support"]
    if metric not in metric_columns:
        raise ValueError(
            f"metric must be one of the report's columns {metric_columns}; got {metric!r}."
        )
    if not isinstance(sort, (bool, np.bool_)):
        raise ValueError(f"sort must be True or False; got {sort!r}.")
    labels = report.loc[~report.index.isin(_REPORT_SUMMARY_ROWS)]
    if labels.shape[0] == 0:
        raise ValueError("report has no per-label rows, only summary rows.")
    values = labels[metric].to_numpy(dtype=float)
    order = np.arange(values.size)
    if sort:
        # Stable, descending, NaN last.
        order = np.argsort(np.where(np.isnan(values), np.inf, -values), kind="stable")
    values = values[order]
    names = [str(name) for name in labels.index[order]]

    if ax is None:
        ax = _new_axes(figsize=(min(max(6.4, 0.3 * len(names) + 2), 40), 4.8))
    positions = np.arange(len(names))
    bars = ax.bar(positions, values, color="C0", label=metric)
    handles = [bars]
    if "macro avg" in report.index and np.isfinite(report.loc["macro avg", metric]):
        macro = float(report.loc["macro avg", metric])
    else:
        macro = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
    if np.isfinite(macro):
        handles.append(
            ax.axhline(macro, color="C3", linestyle="--", label=f"macro avg ({macro:.3f})")
        )
    if len(names) > 10 or max(len(name) for name in names) > 8:
        ax.set_xticks(positions, names, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(positions, names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    # Headroom above 1 keeps the legend clear of the bars and the support markers.
    ax.set_ylim(0, _HEADROOM)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("label")
    ax.set_ylabel(metric)
    if "support" in labels.columns:
        support = labels["support"].to_numpy(dtype=float)[order]
        twin = ax.twinx()
        (points,) = twin.plot(
            positions, support, marker="o", linestyle="none", color="black", label="support"
        )
        twin.set_ylim(0, max(1.0, np.nanmax(support, initial=0.0)) * _HEADROOM)
        twin.yaxis.set_major_locator(MaxNLocator(integer=True))
        twin.set_ylabel("support")
        handles.append(points)
    # On the topmost Axes, so the support markers never cover it.
    (twin if "support" in labels.columns else ax).legend(
        handles=handles, loc="upper center", ncols=len(handles), frameon=False
    )
    return ax


def _label_index(label, n_labels, names):
    if isinstance(label, numbers.Integral) and not isinstance(label, (bool, np.bool_)):
        if not -n_labels <= label < n_labels:
            raise ValueError(f"label must be in [0, {n_labels}); got {label}.")
        return int(label) % n_labels
    if isinstance(label, str):
        if names is None or label not in names:
            known = "no target_names were given" if names is None else f"known: {names}"
            raise ValueError(f"Unknown label name {label!r}: {known}.")
        return names.index(label)
    raise ValueError(f"label must be an integer index or a label name; got {label!r}.")


def _threshold_grid(thresholds):
    if thresholds is None:
        return np.linspace(0.0, 1.0, 101)
    shape = np.shape(thresholds)
    if len(shape) != 1 or shape[0] == 0:
        raise ValueError(
            f"thresholds must be a non-empty 1-D array; got an array of shape {shape}."
        )
    return np.sort(check_thresholds(thresholds, shape[0]))


def _f1_and_error_rate(y, s, grid):
    """F1 (0 when undefined) and error rate of ``s >= t`` for every ``t`` in ``grid``."""
    positives = np.sort(s[y == 1])
    negatives = np.sort(s[y == 0])
    tp = positives.size - np.searchsorted(positives, grid, side="left")
    fp = negatives.size - np.searchsorted(negatives, grid, side="left")
    fn = positives.size - tp
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2.0 * tp, denominator, out=np.zeros(grid.size), where=denominator > 0)
    return f1, (fp + fn) / y.size


def plot_threshold_curve(y_true, y_score, label=0, ax=None, thresholds=None, target_names=None):
    """Plot one label's F1 and error rate against its decision threshold.

    A sample is predicted positive when its score is ``>=`` the threshold. The error rate is
    the label's own share of wrong predictions, ``(FP + FN) / n_samples``: its hamming loss,
    of which the overall hamming loss is the mean over labels. It depends on this label's
    threshold only, unlike the overall hamming loss, which would also need thresholds for the
    other labels.

    The F1-optimal threshold, exact on the data rather than on the grid, comes from
    :func:`skml.thresholds.tune_thresholds` and is marked, as is the default threshold 0.5.
    A label without positives in ``y_true`` has F1 0 at every threshold and gets no
    F1-optimal marker.

    Parameters
    ----------
    y_true : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
        True label indicator matrix. A DataFrame's column names are the default label names.
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        Positive-class scores, e.g. ``predict_proba`` output; a list of per-label arrays of
        shape ``(n_samples, 2)`` is converted to its positive-class columns.
    label : int or str, default=0
        The label: a column index (negative counts from the end) or a name from
        ``target_names``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is created when None.
    thresholds : array-like of shape (n_thresholds,), default=None
        Thresholds at which to evaluate the curves; default: 101 evenly spaced points in
        [0, 1].
    target_names : list of str of length n_labels, default=None
        Label names, for ``label`` and the title; default: the columns of a DataFrame
        ``y_true``.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on, with lines ``F1`` and ``error rate`` over the thresholds.

    Raises
    ------
    ValueError
        If ``y_true`` is not a 0/1 matrix, ``y_score`` has another shape or non-finite
        values, ``target_names`` has the wrong length, ``label`` is out of range or an
        unknown name, or ``thresholds`` is not a non-empty finite 1-D array.

    Examples
    --------
    >>> from skml.plotting import plot_threshold_curve
    >>> ax = plot_threshold_curve([[1], [0], [1]], [[0.9], [0.4], [0.6]], thresholds=[0.5])
    >>> [line.get_ydata().tolist() for line in ax.get_lines()[:2]]
    [[1.0], [0.0]]
    """
    _check_matplotlib("plot_threshold_curve")
    from skml.metrics import _check_indicator
    from skml.thresholds import tune_thresholds

    y_true, columns = _check_indicator(y_true, "y_true")
    y_score = check_scores(y_score, y_true=y_true)
    n_labels = y_true.shape[1]
    names = columns
    if target_names is not None:
        names = [str(name) for name in target_names]
        if len(names) != n_labels:
            raise ValueError(
                f"target_names has {len(names)} names but y_true has {n_labels} labels."
            )
    j = _label_index(label, n_labels, names)
    grid = _threshold_grid(thresholds)
    y, s = y_true[:, j], y_score[:, j]
    f1, error_rate = _f1_and_error_rate(y, s, grid)

    if ax is None:
        ax = _new_axes()
    ax.plot(grid, f1, color="C0", label="F1")
    ax.plot(grid, error_rate, color="C1", label="error rate (label's hamming loss)")
    ax.axvline(0.5, color="grey", linestyle=":", linewidth=1, label="threshold 0.5")
    if y.any():
        # The exact optimum on these data: the rare-label safeguards are off.
        best = float(
            tune_thresholds(
                y[:, None], s[:, None], metric="f1", shrinkage=0, max_positive_ratio=None
            )[0]
        )
        (best_f1,), _ = _f1_and_error_rate(y, s, np.array([best]))
        ax.axvline(best, color="C0", linestyle="--", linewidth=1)
        ax.plot(
            best,
            best_f1,
            marker="o",
            linestyle="none",
            color="C0",
            label=f"best F1 {best_f1:.3f} at {best:.3f}",
        )
    if grid[-1] > grid[0]:
        ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("threshold")
    ax.set_ylabel("score")
    ax.set_title(f"label {names[j] if names is not None else j}")
    ax.legend()
    return ax


def _reliability_curve(y, s, n_bins):
    """Mean probability, fraction of positives and count of each non-empty bin."""
    bins = np.minimum((s * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    mean_score = np.bincount(bins, weights=s, minlength=n_bins)[filled] / counts[filled]
    positives = np.bincount(bins, weights=y, minlength=n_bins)[filled] / counts[filled]
    return mean_score, positives, counts[filled]


def plot_calibration(y_true, y_score, labels=None, n_bins=10, ax=None, target_names=None):
    """Reliability diagram: fraction of positives against mean probability, per label.

    Probabilities are grouped into ``n_bins`` equal-width bins over [0, 1]; each label's line
    joins its non-empty bins at (mean predicted probability, fraction of positives). A
    calibrated model lies on the diagonal, which is drawn too. The legend gives each label's
    expected calibration error (:func:`skml.metrics.expected_calibration_error`).

    Parameters
    ----------
    y_true : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
        True label indicator matrix. A DataFrame's column names are the default label names.
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        Positive-class probabilities in [0, 1], e.g. ``predict_proba`` output.
    labels : list of int or str, default=None
        Labels to draw, by column index or name; default: all of them.
    n_bins : int, default=10
        Number of equal-width bins.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure is created when None.
    target_names : list of str of length n_labels, default=None
        Label names, for ``labels`` and the legend; default: the columns of a DataFrame
        ``y_true``.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on: the diagonal first, then one line per label.

    Raises
    ------
    ValueError
        If ``y_true`` is not a 0/1 matrix, ``y_score`` has another shape or values outside
        [0, 1], a label is out of range or unknown, or ``n_bins`` is not a positive integer.

    Examples
    --------
    >>> from skml.plotting import plot_calibration
    >>> ax = plot_calibration([[1], [0], [1], [0]], [[0.9], [0.1], [0.8], [0.3]], n_bins=2)
    >>> ax.get_lines()[1].get_ydata().tolist()
    [0.0, 1.0]
    """
    _check_matplotlib("plot_calibration")
    from skml.metrics import _check_indicator, _ece

    n_bins = check_number(n_bins, "n_bins", low=1, integer=True)
    y_true, columns = _check_indicator(y_true, "y_true")
    y_score = check_scores(y_score, y_true=y_true, proba=True)
    n_labels = y_true.shape[1]
    names = columns
    if target_names is not None:
        names = [str(name) for name in target_names]
        if len(names) != n_labels:
            raise ValueError(
                f"target_names has {len(names)} names but y_true has {n_labels} labels."
            )
    if labels is None:
        indices = list(range(n_labels))
    elif isinstance(labels, (str, numbers.Integral)):
        indices = [_label_index(labels, n_labels, names)]
    else:
        indices = [_label_index(label, n_labels, names) for label in labels]

    if ax is None:
        ax = _new_axes()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="calibrated")
    for j in indices:
        y = y_true[:, j].astype(float)
        mean_score, positives, _ = _reliability_curve(y, y_score[:, j], n_bins)
        name = names[j] if names is not None else str(j)
        ece = _ece(y, y_score[:, j], n_bins)
        ax.plot(mean_score, positives, marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("fraction of positives")
    ax.set_title("reliability diagram")
    ax.legend(fontsize="small")
    return ax

"""Validation shared by every skml module: one message per problem, written once.

Each message names the parameter and shows the bad value:

* label indicator matrices (``y``, ``y_true``, ``y_pred``, ``stratify``):
  :func:`check_label_matrix`, on top of :func:`as_numeric_labels`;
* scores (``y_score``) in either ``predict_proba`` convention: :func:`check_scores` (on top of
  :func:`as_label_scores` and :func:`positive_column`), and :func:`check_consistent_shape` for
  two arrays that must match;
* per-label parameters (``threshold``, ``class_weight``, ``beta``, ``min_precision`` ...):
  :func:`check_per_label`, and :func:`check_thresholds` for decision thresholds;
* scalar settings (``n_bins``, ``shrinkage``, ``gamma``, ``min_labels`` ...):
  :func:`check_number`.

Per-label parameters are accepted in three forms, and the two keyed forms are matched **by label
name**, never by position:

* an array-like of shape ``(n_labels,)`` in label order (the order of ``classes_``);
* a ``dict`` ``{label: value}``;
* a ``pandas.Series`` indexed by label (a Series is keyed, so its order does not matter).

Unknown names are an error that lists them; labels left out of a keyed form get the
parameter's default.
"""

import numbers
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

__all__ = [
    "as_label_scores",
    "as_numeric_labels",
    "check_consistent_shape",
    "check_label_matrix",
    "check_number",
    "check_per_label",
    "check_scores",
    "check_thresholds",
    "positive_column",
]

# Distinct bad values shown in a message.
_SHOWN = 5


# ------------------------------------------------------------------------- label matrices


def check_label_matrix(y, name="y", *, dtype=np.int8, accept_sparse=False):
    """Return ``y`` as a 2-D 0/1 label indicator matrix, or raise a ``ValueError`` naming ``name``.

    Parameters
    ----------
    y : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_labels)
        Label indicator matrix: NumPy, SciPy sparse or pandas, nullable ``Int64``,
        ``boolean`` and ``category`` 0/1 columns included.
    name : str, default="y"
        Name of the argument, for the messages.
    dtype : dtype or None, default=np.int8
        dtype of the result; None keeps the dtype of the (converted) input.
    accept_sparse : bool, default=False
        Whether a sparse ``y`` is returned as a CSR matrix (its stored values checked) rather
        than as a dense array.

    Returns
    -------
    y : ndarray or CSR matrix of shape (n_samples, n_labels)
        A new array (or matrix) holding only 0 and 1.

    Raises
    ------
    ValueError
        When ``y`` is None, is not 2-D, has no sample or no label, holds NaN, infinity or
        missing values, or holds values other than 0 and 1.
    """
    if y is None:
        # scikit-learn's wording, which its estimator checks look for.
        raise ValueError(
            f"skml requires {name} to be passed, but the target {name} is None: pass a 0/1 "
            "label indicator matrix of shape (n_samples, n_labels)."
        )
    if sp.issparse(y) and accept_sparse:
        y = sp.csr_matrix(y, copy=True)
        y.sum_duplicates()
        _check_size(y.shape, name)
        _check_values(y.data, name, y.indices)
        return y if dtype is None else y.astype(dtype)
    y = as_numeric_labels(y, name)
    if y.ndim != 2:
        hint = ""
        if y.ndim == 1:
            hint = " For a single binary label, pass one column of shape (n_samples, 1)."
        raise ValueError(
            f"{name} must be a 2-D label indicator matrix of shape (n_samples, n_labels); "
            f"got an array of shape {y.shape}.{hint}"
        )
    _check_size(y.shape, name)
    _check_values(y, name)
    return y.astype(y.dtype if dtype is None else dtype)


def _check_size(shape, name):
    if 0 in shape:
        raise ValueError(
            f"{name} must have at least one sample and one label; got an array of shape {shape}."
        )


def _check_values(values, name, columns=None):
    """0 and 1 only; ``columns`` gives the label of each entry of a 1-D ``values``."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = ~np.isfinite(values)
        label = int(columns[bad][0]) if columns is not None else int(np.argwhere(bad)[0][-1])
        raise _missing_values_error(name, label)
    ok = np.isin(values, (0, 1))
    if not ok.all():
        raise ValueError(
            f"{name} must be a 0/1 label indicator matrix; values other than 0/1 found: "
            f"{_show(values[~ok])}."
        )


def _show(values):
    """The first few distinct ``values``, sorted when they can be, as ``2, 3, ...``."""
    try:
        distinct = np.unique(values).tolist()
    except TypeError:  # unorderable objects
        distinct = list(dict.fromkeys(values.tolist()))
    shown = ", ".join(repr(v) for v in distinct[:_SHOWN])
    return shown + " (and others)" * (len(distinct) > _SHOWN)


def _missing_values_error(name, label):
    """The error for NaN, infinity or missing values in label ``label`` of ``name``."""
    return ValueError(f"{name} contains NaN, infinity or missing values (label {label!r}).")


def as_numeric_labels(y, name="y"):
    """``y`` as an ndarray, with pandas nullable, boolean and category 0/1 columns as numbers.

    A DataFrame of ``Int64``, ``boolean`` or ``category`` columns (without missing values)
    becomes a float array; an object array holding only numbers or booleans becomes a float
    array. Label-name sets and ragged lists get an error that points to
    :class:`sklearn.preprocessing.MultiLabelBinarizer`.

    Parameters
    ----------
    y : array-like, sparse matrix, DataFrame or Series
        Targets.
    name : str, default="y"
        Name of the argument, for the messages.

    Returns
    -------
    y : ndarray
    """
    if sp.issparse(y):
        return y.toarray()
    if hasattr(y, "dtypes") and hasattr(y, "columns"):  # DataFrame
        columns = [_numeric_column(y[c], name, c) for c in y.columns]
        if not columns:
            return np.empty((len(y), 0))
        return np.column_stack(columns)
    if hasattr(y, "dtype") and hasattr(y, "index") and not isinstance(y, np.ndarray):  # Series
        return _numeric_column(y, name, getattr(y, "name", None))
    try:
        array = np.asarray(y)
    except ValueError as exc:  # NumPy's "inhomogeneous shape"
        raise _ragged_error(name) from exc
    if array.dtype.kind == "O":
        flat = array.ravel()
        if any(isinstance(v, (set, frozenset, list, tuple, np.ndarray)) for v in flat):
            raise _ragged_error(name)
        if all(_is_number(v) for v in flat):
            return array.astype(float)
    return array


def _numeric_column(column, name, label):
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(column.cat.categories.dtype)
    if column.isna().any():
        raise _missing_values_error(name, label)
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float)
    values = column.to_numpy()
    if values.dtype.kind == "O":
        if any(isinstance(v, (set, frozenset, list, tuple)) for v in values):
            raise _ragged_error(name)
        if all(_is_number(v) for v in values):
            return values.astype(float)
    return values


def _is_number(value):
    return isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, str)


def _ragged_error(name):
    return ValueError(
        f"{name} looks like lists or sets of label names per sample; skml needs a 0/1 label "
        "indicator matrix of shape (n_samples, n_labels). Turn lists of labels into one with "
        "sklearn.preprocessing.MultiLabelBinarizer: "
        f"MultiLabelBinarizer().fit_transform({name})."
    )


# --------------------------------------------------------------------------------- scores


def check_scores(y_score, name="y_score", *, y_true=None, y_true_name="y_true", proba=False):
    """Return ``y_score`` as a finite float array of shape (n_samples, n_labels).

    Parameters
    ----------
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        Scores of the positive class; a list of per-label ``(n_samples, n_classes)`` arrays
        (the :class:`~sklearn.multioutput.MultiOutputClassifier` convention) is converted to
        its positive-class columns by :func:`as_label_scores`.
    name : str, default="y_score"
        Name of the argument, for the messages.
    y_true : ndarray of shape (n_samples, n_labels), default=None
        When given, ``y_score`` must have its shape.
    y_true_name : str, default="y_true"
        Name of ``y_true``, for the messages.
    proba : bool, default=False
        Whether the scores must be probabilities in [0, 1].

    Returns
    -------
    y_score : ndarray of shape (n_samples, n_labels), dtype float
    """
    y_score = as_label_scores(y_score, name=name)
    if y_true is not None:
        check_consistent_shape(y_true, y_score, (y_true_name, name))
    if not np.isfinite(y_score).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    if proba and ((y_score < 0) | (y_score > 1)).any():
        outside = y_score[(y_score < 0) | (y_score > 1)]
        raise ValueError(f"{name} must hold probabilities in [0, 1]; got {_show(outside)}.")
    return y_score


def check_consistent_shape(first, second, names):
    """Raise a ``ValueError`` when two arrays named ``names`` differ in shape."""
    if np.shape(first) != np.shape(second):
        raise ValueError(
            f"{names[0]} and {names[1]} have different shapes: {np.shape(first)} and "
            f"{np.shape(second)}."
        )


def as_label_scores(y_score, classes=None, name="y_score"):
    """Either ``predict_proba`` convention as one float array of shape (n_samples, n_labels).

    Parameters
    ----------
    y_score : array-like of shape (n_samples, n_labels) or list of n_labels arrays
        One array (skml, :class:`~sklearn.multiclass.OneVsRestClassifier`) or one array of
        shape ``(n_samples, n_classes)`` per label, of which the positive-class column is
        taken, through ``classes`` when given.
    classes : list of n_labels arrays, default=None
        The estimator's ``classes_``; a label seen with one class only scores 0 or 1.
    name : str, default="y_score"
        Name of the argument, for the messages.

    Returns
    -------
    y_score : ndarray of shape (n_samples, n_labels)
    """
    if hasattr(y_score, "columns") and hasattr(y_score, "to_numpy"):  # DataFrame
        y_score = y_score.to_numpy()
    # A list of 2-D arrays is scikit-learn's per-label convention; a nested list of numbers
    # is an ordinary array-like of rows.
    per_label_list = (
        isinstance(y_score, (list, tuple))
        and len(y_score) > 0
        and all(np.ndim(p) == 2 for p in y_score)
    )
    if per_label_list or (isinstance(y_score, np.ndarray) and y_score.ndim == 3):
        per_label = list(y_score)
        classes = _per_label_classes(classes, len(per_label))
        return np.column_stack(
            [positive_column(p, c) for p, c in zip(per_label, classes, strict=True)]
        )
    try:
        y_score = np.asarray(y_score, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must hold numbers; got {y_score!r}.") from exc
    if y_score.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, n_labels) or be a list of n_labels arrays of "
            f"shape (n_samples, n_classes); got an array of shape {y_score.shape}."
        )
    return y_score


def positive_column(proba, classes):
    """Probability of the positive class from one label's ``(n_samples, n_classes)`` output."""
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        return proba
    if classes is not None:
        classes = np.asarray(classes)
        if proba.shape[1] != classes.shape[0]:
            raise ValueError(
                f"predict_proba gave {proba.shape[1]} columns for a label with classes "
                f"{classes.tolist()}."
            )
        positive = np.flatnonzero(classes == 1)
        if positive.size:
            return proba[:, positive[0]]
        # The label was never positive in the training data.
        return np.zeros(proba.shape[0])
    if proba.shape[1] == 2:
        return proba[:, 1]
    raise ValueError(
        f"Cannot tell the positive class of a label whose scores have {proba.shape[1]} "
        "column(s) without the estimator's classes_; pass scores of shape "
        "(n_samples, n_labels) instead."
    )


def _per_label_classes(classes, n_labels):
    """One classes array per label from ``classes_``, or Nones when it has no such form."""
    if classes is not None:
        try:
            classes = [np.asarray(c) for c in classes]
        except TypeError:
            classes = None
    # A single 1-D classes_ (the 2-D output convention's) says nothing about per-label columns.
    if classes is None or len(classes) != n_labels or any(c.ndim != 1 for c in classes):
        return [None] * n_labels
    return classes


# ---------------------------------------------------------------- per-label values, numbers


def check_per_label(
    value,
    classes,
    *,
    name,
    default,
    low=None,
    high=None,
    low_open=False,
    dtype=float,
    target="y",
):
    """One value per label, matched by label name when ``value`` is keyed.

    Parameters
    ----------
    value : scalar, array-like of shape (n_labels,), dict or pandas.Series
        A scalar applies to every label; an array-like is in label order; a dict or Series is
        keyed by label name (entries of ``classes``).
    classes : array-like of shape (n_labels,) or int
        Label names, in label order; an int ``n_labels`` stands for ``0..n_labels-1``.
    name : str
        Name of the parameter, for the messages.
    default : float
        Value of labels left out of a dict or Series.
    low, high : float or None, default=None
        Allowed range (closed, unless ``low_open``); None is unbounded.
    low_open : bool, default=False
        Whether ``low`` itself is excluded.
    dtype : type, default=float
        dtype of the result.
    target : str, default="y"
        Name of the array whose labels these are, for the messages.

    Returns
    -------
    values : ndarray of shape (n_labels,)
        Finite values within the range.
    """
    if isinstance(classes, numbers.Integral):
        classes = np.arange(classes)
    classes = np.asarray(classes)
    n_labels = classes.shape[0]
    if isinstance(value, Mapping) or _is_series(value):
        values = _keyed_values(value, classes, name, default, dtype)
    else:
        try:
            values = np.asarray(value, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must be a number, {n_labels} numbers in label order, or a dict or "
                f"pandas Series keyed by label name; got {value!r}."
            ) from exc
        if values.ndim == 0:
            return _check_range(
                np.full(n_labels, values.item(), dtype=dtype),
                name,
                low,
                high,
                low_open,
                scalar=values.item(),
            )
        if values.shape != (n_labels,):
            raise ValueError(
                f"{name} has shape {values.shape} but {target} has {n_labels} labels: give one "
                "value per label in label order, or a dict or pandas Series keyed by label name."
            )
    return _check_range(values, name, low, high, low_open, classes=classes)


def _check_range(values, name, low, high, low_open, *, classes=None, scalar=None):
    """``values``, or an error showing the bad ones by label (or the ``scalar`` they came from)."""
    bad = ~np.isfinite(values) | ~_within(values, low, high, low_open)
    if bad.any():
        if classes is None:
            where = repr(scalar)
        else:
            names = classes.tolist()
            where = ", ".join(
                f"{names[i]!r}: {values[i].item()!r}" for i in np.flatnonzero(bad)[:_SHOWN]
            )
        raise ValueError(
            f"{name} must hold finite values in {_bounds(low, high, low_open)}; got {where}."
        )
    return values


def _keyed_values(value, classes, name, default, dtype):
    items = value.items() if isinstance(value, Mapping) else zip(value.index, value.values)
    positions = {_key(c): i for i, c in enumerate(classes.tolist())}
    values = np.full(classes.shape[0], default, dtype=dtype)
    unknown = []
    for key, v in items:
        position = positions.get(_key(key))
        if position is None:
            unknown.append(key)
            continue
        values[position] = _number(v, name, key)
    if unknown:
        raise ValueError(
            f"{name} names unknown label(s) {unknown}; the labels are {classes.tolist()}."
        )
    return values


def check_thresholds(thresholds, classes, *, name="thresholds", low=None, high=None, target="y"):
    """Decision thresholds: one finite value per label (a label is predicted at ``>=``).

    :func:`check_per_label` with the default threshold 0.5 for labels a keyed form leaves out.

    Parameters
    ----------
    thresholds : float, array-like of shape (n_labels,), dict or pandas.Series
        The thresholds.
    classes : array-like of shape (n_labels,) or int
        Label names, or the number of labels.
    name : str, default="thresholds"
        Name of the parameter, for the messages.
    low, high : float or None, default=None
        Allowed range, e.g. ``0`` and ``1`` for thresholds on probabilities.
    target : str, default="y"
        Name of the array whose labels these are, for the messages.

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)
    """
    return check_per_label(
        thresholds, classes, name=name, default=0.5, low=low, high=high, target=target
    )


def check_number(
    value,
    name,
    *,
    low=None,
    high=None,
    low_open=False,
    high_open=False,
    integer=False,
    allow_none=False,
):
    """Return a scalar setting as a float (or int), or raise a ``ValueError`` naming it.

    Parameters
    ----------
    value : object
        The setting.
    name : str
        Name of the parameter, for the messages.
    low, high : float or None, default=None
        Allowed range; None is unbounded.
    low_open, high_open : bool, default=False
        Whether ``low`` and ``high`` themselves are excluded.
    integer : bool, default=False
        Whether ``value`` must be an integer (booleans are not).
    allow_none : bool, default=False
        Whether None is allowed (and returned).

    Returns
    -------
    value : float, int or None
    """
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    if (
        isinstance(value, kind)
        and not isinstance(value, (bool, np.bool_))
        and np.isfinite(value)
        and _within(np.float64(value), low, high, low_open, high_open)
    ):
        return int(value) if integer else float(value)
    what = "an integer" if integer else "a finite number"
    none = "None or " if allow_none else ""
    raise ValueError(
        f"{name} must be {none}{what} in {_bounds(low, high, low_open, high_open)}; got {value!r}."
    )


def _within(values, low, high, low_open=False, high_open=False):
    ok = np.ones(np.shape(values), dtype=bool)
    if low is not None:
        ok &= (values > low) if low_open else (values >= low)
    if high is not None:
        ok &= (values < high) if high_open else (values <= high)
    return ok


def _bounds(low, high, low_open=False, high_open=False):
    left = "(-inf" if low is None else f"{'(' if low_open else '['}{low}"
    right = "inf)" if high is None else f"{high}{')' if high_open else ']'}"
    return f"{left}, {right}"


def _is_series(value):
    return hasattr(value, "index") and hasattr(value, "values") and hasattr(value, "dtype")


def _key(label):
    """Hashable key that equates NumPy and Python scalars of one label."""
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, bool):
        return ("bool", label)
    return label


def _number(value, name, key):
    if not _is_number(value) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}[{key!r}] must be a number, got {value!r}.")
    return float(value)

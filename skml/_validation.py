"""Validation shared by every skml estimator: label matrices and per-label parameters.

One message per problem, written once. Per-label parameters (``threshold``, ``class_weight``
and the like) are accepted in three forms, and the two keyed forms are matched **by label
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

__all__ = ["check_label_matrix", "check_per_label"]


def check_label_matrix(y, name="y"):
    """Return ``y`` as a 2-D 0/1 ``int8`` ndarray, or raise a ``ValueError`` naming ``name``.

    Parameters
    ----------
    y : array-like or sparse matrix of shape (n_samples, n_labels)
        Label indicator matrix (NumPy, SciPy sparse, pandas, nullable or category dtypes).
    name : str, default="y"
        Name of the argument, for the messages.

    Returns
    -------
    y : ndarray of shape (n_samples, n_labels), dtype int8
    """
    if y is None:
        raise ValueError(f"{name} is required: a label indicator matrix (n_samples, n_labels).")
    y = as_numeric_labels(y, name)
    if y.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D label indicator matrix of shape (n_samples, n_labels); "
            f"got an array of shape {y.shape}."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    if not np.isin(y, (0, 1)).all():
        values = np.unique(y[~np.isin(y, (0, 1))])[:5]
        raise ValueError(
            f"{name} must be a label indicator matrix holding only 0 and 1; "
            f"got other values such as {values.tolist()}."
        )
    return y.astype(np.int8)


def as_numeric_labels(y, name="y"):
    """``y`` as an ndarray, with pandas nullable, boolean and category 0/1 columns as numbers.

    A DataFrame of ``Int64``, ``boolean`` or ``category`` columns (without missing values)
    becomes an integer array; an object array holding only numbers or booleans becomes a float
    array. Label-name sets and ragged lists get an error that points to
    :class:`sklearn.preprocessing.MultiLabelBinarizer`.
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
        raise ValueError(f"{name} contains missing values (label {label!r}).")
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


def check_per_label(
    value, classes, *, name, default, low=None, high=None, low_open=False, dtype=float
):
    """One value per label, matched by label name when ``value`` is keyed.

    Parameters
    ----------
    value : scalar, array-like of shape (n_labels,), dict or pandas.Series
        A scalar applies to every label; an array-like is in label order; a dict or Series is
        keyed by label name (entries of ``classes``).
    classes : array-like of shape (n_labels,)
        Label names, in label order.
    name : str
        Name of the parameter, for the messages.
    default : float
        Value of labels left out of a dict or Series.
    low, high : float or None, default=None
        Allowed range (closed, unless ``low_open``).
    low_open : bool, default=False
        Whether ``low`` itself is excluded.
    dtype : type, default=float
        dtype of the result.

    Returns
    -------
    values : ndarray of shape (n_labels,)
    """
    classes = np.asarray(classes)
    n_labels = classes.shape[0]
    if isinstance(value, Mapping) or _is_series(value):
        items = value.items() if isinstance(value, Mapping) else zip(value.index, value.values)
        positions = {_key(c): i for i, c in enumerate(classes.tolist())}
        values = np.full(n_labels, default, dtype=dtype)
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
    else:
        try:
            values = np.asarray(value, dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must be a number, {n_labels} numbers in label order, or a dict or "
                f"pandas Series keyed by label name; got {value!r}."
            ) from exc
        if values.ndim == 0:
            values = np.full(n_labels, values.item(), dtype=dtype)
        if values.shape != (n_labels,):
            raise ValueError(
                f"{name} has shape {values.shape} but y has {n_labels} labels: give one value "
                "per label in label order, or a dict or pandas Series keyed by label name."
            )
    bad = ~np.isfinite(values)
    if low is not None:
        bad |= (values <= low) if low_open else (values < low)
    if high is not None:
        bad |= values > high
    if bad.any():
        names = classes.tolist()
        where = ", ".join(f"{names[i]!r}: {values[i].item()!r}" for i in np.flatnonzero(bad)[:5])
        bounds = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must hold finite values in {bounds}; got {where}.")
    return values


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

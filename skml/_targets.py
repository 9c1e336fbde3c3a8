"""Target validation and encoding for the classifier (NumPy and scikit-learn only).

The rule is simple and never guesses behind the user's back:

* a 2-D ``y`` with two or more columns is a multi-label 0/1 indicator matrix: one sigmoid
  per label, whatever the number of labels per row;
* a 1-D ``y`` (or a single column, which is ravelled with a ``DataConversionWarning`` as
  scikit-learn does) is binary (one sigmoid) or multiclass (softmax).
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets

from skml._validation import as_numeric_labels


@dataclass
class EncodedTargets:
    """What :func:`encode_targets` learned from ``y``."""

    kind: str  # "multilabel", "binary" or "multiclass"
    y: np.ndarray  # float32 network targets: (n, n_labels) or (n, 1) or one-hot (n, n_classes)
    classes: np.ndarray  # label names (multilabel) or class values
    label_encoder: LabelEncoder | None = None


def _label_names(y):
    columns = getattr(y, "columns", None)
    if columns is None:
        return None
    return np.asarray([str(c) if not isinstance(c, (str, int)) else c for c in columns])


def encode_targets(y, label_names=None):
    """Validate ``y`` and turn it into network targets.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        1-D class labels, or a 2-D 0/1 indicator matrix (NumPy, SciPy sparse or pandas,
        nullable ``Int64``/``boolean`` and ``category`` 0/1 columns included).
    label_names : array-like of shape (n_labels,) or None, default=None
        Names of the label columns, when ``y`` has already been converted from a DataFrame.

    Returns
    -------
    targets : EncodedTargets
    """
    names = _label_names(y) if label_names is None else np.asarray(label_names)
    y = as_numeric_labels(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples,), for example using ravel(). A multi-label y needs "
            "at least two label columns.",
            DataConversionWarning,
            stacklevel=3,
        )
        y = y.ravel()
        names = None
    if y.ndim == 1:
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        codes = encoder.transform(y)
        n_classes = len(encoder.classes_)
        if n_classes < 2:
            raise ValueError(
                f"y contains 1 class ({encoder.classes_[0]!r}): a classifier needs samples "
                "of at least 2 classes."
            )
        if n_classes == 2:
            return EncodedTargets(
                "binary", codes.astype(np.float32)[:, None], encoder.classes_, encoder
            )
        one_hot = np.eye(n_classes, dtype=np.float32)[codes]
        return EncodedTargets("multiclass", one_hot, encoder.classes_, encoder)
    if y.ndim != 2:
        raise ValueError(
            f"y must be 1-D class labels or a 2-D 0/1 indicator matrix; got {y.ndim}-D "
            f"y of shape {y.shape}."
        )
    if y.dtype.kind not in "biuf":
        raise ValueError(
            "A 2-D y must be a 0/1 label indicator matrix of numbers or booleans; got "
            f"dtype {y.dtype}. Use sklearn.preprocessing.MultiLabelBinarizer to turn lists "
            "of labels into one."
        )
    values = np.unique(y)
    bad = values[~np.isin(values, (0, 1))]
    if bad.size:
        shown = ", ".join(repr(v.item()) for v in bad[:5])
        raise ValueError(
            "A 2-D y must be a 0/1 label indicator matrix (multi-label); found the "
            f"value(s) {shown}. Multiclass-multioutput targets are not supported."
        )
    if names is None:
        names = np.arange(y.shape[1])
    return EncodedTargets("multilabel", y.astype(np.float32), names)

"""The output head: what the target kind decides, in one place.

A 2-D ``y`` with two or more columns is a multi-label 0/1 indicator matrix (one sigmoid per
label, whatever the number of labels per row); a 1-D ``y`` (or a single column, ravelled with a
``DataConversionWarning`` as scikit-learn does) is binary (one sigmoid) or multiclass
(softmax). :func:`make_head` reads ``y`` once and returns a fitted head, which owns everything
that depends on that kind: the network targets, the output activation, the loss, the per-class
weights, the labels that carry thresholds, the probabilities ``predict_proba`` returns (labels
constant in training included), the decision of ``predict``, how rows are stratified, and the
same probabilities as TensorFlow operations for ``export``. Nothing outside this module compares
target kinds.
"""

import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from skml._validation import as_numeric_labels, check_label_matrix, check_per_label

__all__ = ["make_head"]

_EPS = 1e-7


def label_names(y):
    """The column names of a DataFrame ``y`` (label names), else None."""
    columns = getattr(y, "columns", None)
    if columns is None:
        return None
    return np.asarray([c if isinstance(c, (str, int)) else str(c) for c in columns])


def make_head(y, *, names=None, classes=None, drop_constant=True):
    """Read the target ``y``; return ``(head, y_net)``, the head and the network targets.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Class labels, or a 0/1 label indicator matrix (NumPy, SciPy sparse or pandas).
    names : array-like of shape (n_labels,) or None, default=None
        Label names of a multi-label ``y`` (the columns of a DataFrame); None: ``0..n-1``.
    classes : array-like or None, default=None
        ``partial_fit``'s classes: every class of a 1-D target, or the label names.
    drop_constant : bool, default=True
        Leave labels constant in ``y`` out of the network (``fit``); ``partial_fit`` keeps
        them, since a later chunk may train them.
    """
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
    if y.ndim == 1:
        return _one_dimensional(y, classes)
    if y.ndim != 2:
        raise ValueError(
            f"y must be 1-D class labels or a 2-D 0/1 indicator matrix; got {y.ndim}-D "
            f"y of shape {y.shape}."
        )
    y = check_label_matrix(y, "y").astype(np.float32)
    if names is None and classes is not None:
        names = np.asarray(classes)
        if names.shape != (y.shape[1],):
            raise ValueError(
                f"classes has {names.size} entries but y has {y.shape[1]} label columns."
            )
    names = np.arange(y.shape[1]) if names is None else np.asarray(names)
    head = MultiLabelHead(names, y, drop_constant=drop_constant)
    return head, y[:, head.active]  # checked above: no second pass through encode


def _one_dimensional(y, classes):
    y = column_or_1d(y)
    if classes is None:
        check_classification_targets(y)
        classes = LabelEncoder().fit(y).classes_
        if classes.size < 2:
            raise ValueError(
                f"y contains 1 class ({classes[0]!r}): a classifier needs samples of at least "
                "2 classes."
            )
    else:
        classes = np.unique(np.asarray(classes))
        if classes.size < 2:
            raise ValueError(f"classes must hold at least 2 classes; got {classes!r}.")
    head = (BinaryHead if classes.size == 2 else MulticlassHead)(classes)
    return head, head.encode(y)


class _Head:
    """Behaviour shared by the heads; see the module docstring."""

    activation = "sigmoid"
    stratify_multilabel = False
    constant = np.array([], dtype=int)  # labels left out of the network (multi-label only)

    def __init__(self, classes):
        self.classes = classes

    @property
    def n_labels(self):
        return len(self.classes)

    # ------------------------------------------------------------- training

    def loss(self, loss, class_weight, y_net):
        """The Keras loss of the network, carrying per-label positive weights if any."""
        from skml.losses import get_loss

        return get_loss("binary_crossentropy" if loss is None else loss, None)

    def sample_weight(self, class_weight, y_net):
        """Per-sample weights from a per-class ``class_weight``, or None."""
        if class_weight is None:
            return None
        from sklearn.utils.class_weight import compute_sample_weight

        codes = self.codes(y_net)
        if isinstance(class_weight, str):
            return compute_sample_weight(class_weight, codes).astype(np.float32)
        per_class = check_per_label(
            class_weight, self.classes, name="class_weight", default=1.0, low=0
        )
        return per_class[codes].astype(np.float32)

    def safe_thresholds(self, loss, class_weight, y_net):
        """What a tuned rule shrinks toward: the output that stands for probability 0.5.

        Class weights ``w0`` (negatives) and ``w1`` (positives) weigh the loss's positive term
        ``w1 / w0`` times its negative one: with binary cross-entropy the network's output for a
        true probability of 0.5 is ``w1 / (w0 + w1)``; for the other losses of
        :mod:`skml.losses`, see :func:`skml.losses.bayes_thresholds`.
        """
        from skml.losses import bayes_thresholds

        weights = self.sample_weight(class_weight, y_net)
        codes = self.codes(y_net)
        ratio = 1.0
        if weights is not None and codes.min() != codes.max():
            ratio = weights[codes == 1][0] / weights[codes == 0][0]
        return bayes_thresholds(loss, 1, weight=ratio)

    def codes(self, y_net):
        """Class codes of the rows (1-D targets), for stratified splits."""
        return (y_net.argmax(axis=1) if y_net.shape[1] > 1 else y_net[:, 0]).astype(int)

    def split_targets(self, y_net):
        """What a stratified splitter reads: the label matrix or the class codes."""
        return self.codes(y_net)

    # ------------------------------------------------------------- decision

    def threshold_labels(self):
        """The labels that carry a threshold (``thresholds_`` follows their order)."""
        return self.classes[1:2]

    def check_decision(self, threshold, min_labels):
        """Raise if a decision parameter does not apply to this target."""
        if min_labels:
            raise ValueError(
                f"min_labels={min_labels} applies to multi-label targets only; y is a "
                f"{self.kind} target, which gets exactly one class per sample."
            )

    def store_tuned(self, thresholds, tuned):
        """Write thresholds tuned on the network's outputs into ``thresholds``."""
        thresholds[:] = tuned
        return thresholds

    def same_problem(self, other):
        """Whether ``other`` describes the same target kind and labels."""
        return type(self) is type(other) and np.array_equal(
            np.asarray(self.classes, dtype=object), np.asarray(other.classes, dtype=object)
        )

    def describe(self):
        return f"{self.kind} labels {np.asarray(self.classes).tolist()}"


class MultiLabelHead(_Head):
    """One sigmoid per label trained; labels constant in training get their smoothed rate."""

    kind = "multilabel"
    target_type = "multilabel-indicator"  # scikit-learn's type_of_target name
    stratify_multilabel = True

    def __init__(self, classes, y, *, drop_constant=True):
        super().__init__(classes)
        n_samples = y.shape[0]
        positives = y.sum(axis=0)
        constant = (positives == 0) | (positives == n_samples)
        if not drop_constant:
            constant[:] = False
        self.constant = np.flatnonzero(constant)
        self.active = np.flatnonzero(~constant)
        self.constant_proba = (positives[constant] + 1.0) / (n_samples + 2.0)
        if constant.any():
            names = ", ".join(str(self.classes[i]) for i in self.constant)
            warnings.warn(
                f"Label(s) {names} are constant in the training data: they are not trained "
                "and are predicted from their training rate.",
                UserWarning,
                stacklevel=4,
            )

    @property
    def n_outputs(self):
        return len(self.active)

    def encode(self, y, names=None):
        """Network targets (the trained labels) of a label matrix of this problem."""
        y = as_numeric_labels(y)
        if y.ndim != 2 or y.shape[1] != self.n_labels:
            raise ValueError(
                f"y has {1 if y.ndim == 1 else y.shape[1]} label column(s), but the estimator "
                f"was fitted on {self.n_labels} labels; the label set is fixed by the first "
                "fit or partial_fit call."
            )
        if names is not None and not np.array_equal(
            np.asarray(names, dtype=object), np.asarray(self.classes, dtype=object)
        ):
            raise ValueError(
                f"y has the label columns {np.asarray(names).tolist()}, but the estimator was "
                f"fitted on {np.asarray(self.classes).tolist()}; the label set is fixed by the "
                "first fit or partial_fit call."
            )
        return check_label_matrix(y, "y")[:, self.active].astype(np.float32)

    def loss(self, loss, class_weight, y_net):
        from skml.losses import compute_pos_weight, get_loss

        pos_weight = None
        if class_weight is not None:
            if not isinstance(class_weight, str):
                class_weight = check_per_label(
                    class_weight, self.classes, name="class_weight", default=1.0, low=0
                )[self.active]
            pos_weight = compute_pos_weight(y_net, class_weight)
        return get_loss("binary_crossentropy" if loss is None else loss, pos_weight)

    def sample_weight(self, class_weight, y_net):
        return None  # per-label weights live in the loss

    def safe_thresholds(self, loss, class_weight, y_net):
        from skml.losses import bayes_thresholds

        return bayes_thresholds(loss, self.n_outputs)  # the loss carries the weights

    def split_targets(self, y_net):
        return y_net

    def threshold_labels(self):
        return self.classes

    def check_decision(self, threshold, min_labels):
        pass

    def store_tuned(self, thresholds, tuned):
        thresholds[self.active] = tuned
        return thresholds

    def proba(self, outputs, n_rows):
        """``predict_proba``: every label's probability, clipped inside (0, 1)."""
        if outputs is not None and not len(self.constant):
            return np.clip(outputs, _EPS, 1 - _EPS)
        proba = np.empty((n_rows, self.n_labels))
        proba[:, self.constant] = self.constant_proba
        if outputs is not None:
            proba[:, self.active] = outputs
        return np.clip(proba, _EPS, 1 - _EPS, out=proba)

    def decide(self, proba, thresholds, min_labels):
        from skml.thresholds import apply_thresholds

        return apply_thresholds(proba, thresholds, min_labels=min_labels)

    def tf_proba(self, outputs, n_rows):
        """:meth:`proba` in TensorFlow, for the exported ``serve`` function."""
        import tensorflow as tf

        order = np.concatenate([self.active, self.constant]).astype(int)
        parts = [] if outputs is None else [tf.cast(outputs, tf.float32)]
        if len(self.constant):
            constants = tf.constant(np.asarray(self.constant_proba, np.float32)[None, :])
            parts.append(tf.tile(constants, tf.stack([n_rows, 1])))
        p = tf.gather(tf.concat(parts, axis=1), np.argsort(order).astype(np.int32), axis=1)
        return tf.clip_by_value(p, _EPS, 1 - _EPS)


class BinaryHead(_Head):
    """One sigmoid: the probability of ``classes[1]``."""

    kind = target_type = "binary"
    n_outputs = 1

    def encode(self, y, names=None):
        return self._codes_of(y).astype(np.float32)[:, None]

    def _codes_of(self, y):
        y = as_numeric_labels(y)
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"y has {y.shape[1]} label columns, but the estimator was fitted on a 1-D "
                f"{self.kind} target; the target kind is fixed by the first call."
            )
        y = column_or_1d(y, warn=True)
        unknown = ~np.isin(y, self.classes)
        if unknown.any():
            raise ValueError(
                f"y holds classes {np.unique(y[unknown]).tolist()} unseen in the first call; "
                f"the classes are fixed then: {np.asarray(self.classes).tolist()}. Pass "
                "classes=[...] to the first partial_fit call."
            )
        return np.searchsorted(self.classes, y)

    def proba(self, outputs, n_rows):
        p = np.clip(outputs[:, 0], _EPS, 1 - _EPS)
        return np.column_stack([1 - p, p])

    def decide(self, proba, thresholds, min_labels):
        return self.classes[(proba[:, 1] >= thresholds[0]).astype(int)]

    def tf_proba(self, outputs, n_rows):
        import tensorflow as tf

        p = tf.clip_by_value(tf.cast(outputs, tf.float32), _EPS, 1 - _EPS)
        return tf.concat([1 - p, p], axis=1)


class MulticlassHead(BinaryHead):
    """A softmax over the classes, trained with categorical cross-entropy; argmax decides."""

    kind = target_type = "multiclass"
    activation = "softmax"

    @property
    def n_outputs(self):
        return self.n_labels

    def encode(self, y, names=None):
        return np.eye(self.n_labels, dtype=np.float32)[self._codes_of(y)]

    def loss(self, loss, class_weight, y_net):
        if loss is not None:
            raise ValueError(
                f"loss={loss!r} applies to sigmoid outputs (multi-label or binary targets); y "
                "is a multiclass target, trained with categorical cross-entropy. Leave loss "
                "at None."
            )
        from skml._training import import_keras

        return import_keras().losses.CategoricalCrossentropy()

    def threshold_labels(self):
        return self.classes[:0]

    def check_decision(self, threshold, min_labels):
        super().check_decision(threshold, min_labels)
        if isinstance(threshold, str) or np.ndim(threshold) or threshold != 0.5:
            raise ValueError(
                f"threshold={threshold!r} applies to sigmoid outputs (multi-label or binary "
                "targets); y is a multiclass target, decided by argmax. Leave threshold at 0.5."
            )

    def proba(self, outputs, n_rows):
        return outputs / outputs.sum(axis=1, keepdims=True)

    def decide(self, proba, thresholds, min_labels):
        return self.classes[proba.argmax(axis=1)]

    def tf_proba(self, outputs, n_rows):
        import tensorflow as tf

        p = tf.cast(outputs, tf.float32)
        return p / tf.reduce_sum(p, axis=1, keepdims=True)

"""Multi-label losses on sigmoid probabilities: weighted BCE, focal and asymmetric.

Every loss here takes ``y_pred`` as *probabilities* (the network ends in one sigmoid unit per
label), clips them to ``[eps, 1 - eps]`` with ``eps = keras.config.epsilon()`` exactly as
Keras' own ``binary_crossentropy`` does, and returns per sample the mean over labels; the
default reduction ``"sum_over_batch_size"`` then averages over samples. Only ``keras.ops`` is
used, so the losses run on the TensorFlow, JAX and PyTorch backends.

The losses double as scikit-learn parameter holders: ``get_params`` / ``set_params`` expose
their hyperparameters, so a classifier holding one can be searched with
``{"loss__gamma": [1, 2]}`` and copied by :func:`sklearn.base.clone`. They are registered
Keras serializables (saved models reload) and picklable.
"""

import numbers
from types import MappingProxyType

import keras
import numpy as np
from keras import ops

from skml._validation import check_label_matrix, check_number, check_per_label

__all__ = [
    "LOSSES",
    "AsymmetricLoss",
    "BinaryCrossentropy",
    "FocalLoss",
    "bayes_thresholds",
    "compute_pos_weight",
    "get_loss",
]


# --------------------------------------------------------------------------- validation


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_gamma(name, value):
    return check_number(value, name, low=0)


def _check_alpha(value):
    return check_number(value, "alpha", low=0, high=1, allow_none=True)


def _check_clip(value):
    return check_number(value, "clip", low=0, high=1, high_open=True, allow_none=True)


def _check_pos_weight(value):
    """Return ``None``, a float or a list of floats: plain Python, so configs are JSON."""
    if value is None:
        return None
    if _is_real(value):
        return check_number(value, "pos_weight", low=0)
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"pos_weight must be None, a number or an array-like of shape (n_labels,), "
            f"got {value!r}."
        ) from exc
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"pos_weight must be None, a number or a non-empty array-like of shape "
            f"(n_labels,), got an array of shape {array.shape}."
        )
    return check_per_label(array, array.size, name="pos_weight", default=1.0, low=0).tolist()


def _rebuild(cls, config):
    return cls.from_config(config)


# --------------------------------------------------------------------------- base class


class _ProbabilityLoss(keras.losses.Loss):
    """Shared machinery: clipping, pos_weight, sklearn-style params, config and pickling.

    Subclasses define ``_param_names`` (their constructor hyperparameters, in order),
    ``_checks`` (a validator per name) and ``_elementwise(y, p)``, the unreduced loss.
    """

    _param_names = ()
    _checks = {}

    def __init__(self, *, reduction="sum_over_batch_size", name=None, dtype=None, **params):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        # Remember only what the user asked for, so a config saved under float32 reloads under
        # a different floatx when no dtype was requested.
        self._dtype_arg = None if dtype is None else self._dtype_policy.name
        self.set_params(**params)

    # -- scikit-learn parameter protocol -----------------------------------------------------

    def get_params(self, deep=True):
        """Get the hyperparameters of this loss.

        Parameters
        ----------
        deep : bool, default=True
            Ignored; present for scikit-learn compatibility (a loss holds no estimators).

        Returns
        -------
        params : dict
            The constructor hyperparameters, by name. Keras bookkeeping arguments
            (``reduction``, ``name``, ``dtype``) are not included.
        """
        params = {}
        for key in self._param_names:
            value = getattr(self, key)
            params[key] = list(value) if isinstance(value, list) else value
        return params

    def set_params(self, **params):
        """Set hyperparameters of this loss, validating them all before any is changed.

        Parameters
        ----------
        **params : dict
            Hyperparameter names and new values.

        Returns
        -------
        self : loss instance
            This loss, changed in place.
        """
        unknown = sorted(set(params) - set(self._param_names))
        if unknown:
            raise ValueError(
                f"Invalid parameter(s) {unknown} for {type(self).__name__}. "
                f"Valid parameters are: {list(self._param_names)}."
            )
        checked = {key: self._checks[key](value) for key, value in params.items()}
        for key, value in checked.items():
            setattr(self, key, value)
        return self

    def __sklearn_clone__(self):
        return type(self)(
            **self.get_params(),
            reduction=self.reduction,
            name=self.name,
            dtype=self._dtype_arg,
        )

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- Keras serialization and pickling ----------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config["dtype"] = self._dtype_arg
        config.update(self.get_params())
        return config

    def __reduce__(self):
        # Keras' default pickles through the model saving library; a config is all a loss has.
        return (_rebuild, (type(self), self.get_config()))

    # -- computation ------------------------------------------------------------------------

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        dtype = keras.backend.standardize_dtype(y_pred.dtype)
        y_true = ops.cast(y_true, dtype)
        eps = keras.config.epsilon()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        positive, negative = self._elementwise(y_true, p, eps)
        weight = self._pos_weight_tensor(y_pred, dtype)
        if weight is not None:
            positive = positive * weight
        return -ops.mean(positive + negative, axis=-1)

    def _pos_weight_tensor(self, y_pred, dtype):
        if self.pos_weight is None:
            return None
        if isinstance(self.pos_weight, float):
            return self.pos_weight
        n_labels = y_pred.shape[-1]
        if n_labels is not None and n_labels != len(self.pos_weight):
            raise ValueError(
                f"pos_weight has {len(self.pos_weight)} entries but y_pred has {n_labels} labels."
            )
        return ops.convert_to_tensor(self.pos_weight, dtype=dtype)

    def _elementwise(self, y, p, eps):
        """Return the positive and negative log-likelihood terms (before negation)."""
        raise NotImplementedError


# --------------------------------------------------------------------------- losses


@keras.saving.register_keras_serializable(package="skml")
class BinaryCrossentropy(_ProbabilityLoss):
    """Binary cross-entropy on probabilities, with an optional per-label positive weight.

    Per sample, the loss is the mean over labels of
    ``-(w_j * y * log(p) + (1 - y) * log(1 - p))``, with ``p`` clipped to
    ``[eps, 1 - eps]``. With ``pos_weight=None`` it equals
    ``keras.losses.BinaryCrossentropy()``.

    Parameters
    ----------
    pos_weight : float, array-like of shape (n_labels,) or None, default=None
        Weight ``w_j`` of the positive term of each label, as ``pos_weight`` in PyTorch's
        ``BCEWithLogitsLoss``: values above 1 raise recall on rare labels. ``None`` means 1.
        See :func:`compute_pos_weight`.
    reduction : str, default="sum_over_batch_size"
        Keras reduction over samples.
    name : str or None, default=None
        Keras name of the loss.
    dtype : str or None, default=None
        Computation dtype; ``None`` uses ``keras.config.floatx()``.

    Examples
    --------
    >>> from skml.losses import BinaryCrossentropy
    >>> loss = BinaryCrossentropy(pos_weight=[1.0, 4.0])
    >>> round(float(loss([[1, 0]], [[0.8, 0.1]])), 4)
    0.1643
    """

    _param_names = ("pos_weight",)
    _checks = {"pos_weight": _check_pos_weight}

    def __init__(self, pos_weight=None, *, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, pos_weight=pos_weight)

    def _elementwise(self, y, p, eps):
        return y * ops.log(p), (1.0 - y) * ops.log(1.0 - p)


@keras.saving.register_keras_serializable(package="skml")
class FocalLoss(_ProbabilityLoss):
    """Focal loss of Lin et al. (2017), per label, on probabilities.

    Per sample, the mean over labels of
    ``-(alpha * w_j * y * (1 - p)**gamma * log(p)
    + (1 - alpha) * (1 - y) * p**gamma * log(1 - p))``, with ``p`` clipped to
    ``[eps, 1 - eps]``. The factor ``(1 - p)**gamma`` down-weights easy, confidently right
    labels so training concentrates on hard ones.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter, >= 0. ``gamma=0`` and ``alpha=None`` give
        :class:`BinaryCrossentropy`.
    alpha : float or None, default=0.25
        Weight of the positive term, in [0, 1]; the negative term gets ``1 - alpha``.
        ``None`` weights both terms 1. The paper's 0.25 was tuned jointly with ``gamma=2``
        for object detection, where it *down*-weights the rare positives.
    pos_weight : float, array-like of shape (n_labels,) or None, default=None
        Extra weight of the positive term of each label (see :class:`BinaryCrossentropy`).
    reduction : str, default="sum_over_batch_size"
        Keras reduction over samples.
    name : str or None, default=None
        Keras name of the loss.
    dtype : str or None, default=None
        Computation dtype; ``None`` uses ``keras.config.floatx()``.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollar, "Focal Loss for Dense Object
    Detection", ICCV 2017.
    """

    _param_names = ("gamma", "alpha", "pos_weight")
    _checks = {
        "gamma": lambda value: _check_gamma("gamma", value),
        "alpha": _check_alpha,
        "pos_weight": _check_pos_weight,
    }

    def __init__(
        self,
        gamma=2.0,
        alpha=0.25,
        pos_weight=None,
        *,
        reduction="sum_over_batch_size",
        name=None,
        dtype=None,
    ):
        super().__init__(
            reduction=reduction,
            name=name,
            dtype=dtype,
            gamma=gamma,
            alpha=alpha,
            pos_weight=pos_weight,
        )

    def _elementwise(self, y, p, eps):
        positive = y * ops.log(p)
        negative = (1.0 - y) * ops.log(1.0 - p)
        if self.gamma:
            positive = positive * ops.power(1.0 - p, self.gamma)
            negative = negative * ops.power(p, self.gamma)
        if self.alpha is not None:
            positive = positive * self.alpha
            negative = negative * (1.0 - self.alpha)
        return positive, negative


@keras.saving.register_keras_serializable(package="skml")
class AsymmetricLoss(_ProbabilityLoss):
    """Asymmetric loss (ASL) of Ridnik et al. (2021) for multi-label classification.

    Negatives get a probability shift ``p_m = max(p - clip, 0)``, which discards very easy
    negatives entirely, and a stronger focusing exponent than positives. Per sample, the mean
    over labels of
    ``-(w_j * y * (1 - p)**gamma_pos * log(p)
    + (1 - y) * p_m**gamma_neg * log(1 - p_m))``, with ``p`` clipped to ``[eps, 1 - eps]``
    and the arguments of both logarithms to at least ``eps``.

    Parameters
    ----------
    gamma_neg : float, default=4.0
        Focusing exponent of negatives, >= 0.
    gamma_pos : float, default=0.0
        Focusing exponent of positives, >= 0 (the paper recommends 0).
    clip : float or None, default=0.05
        Probability margin of negatives, in [0, 1); 0 or ``None`` disables the shift. With
        ``gamma_neg=gamma_pos=0`` and no clip the loss equals :class:`BinaryCrossentropy`.
    pos_weight : float, array-like of shape (n_labels,) or None, default=None
        Extra weight of the positive term of each label (see :class:`BinaryCrossentropy`).
    reduction : str, default="sum_over_batch_size"
        Keras reduction over samples.
    name : str or None, default=None
        Keras name of the loss.
    dtype : str or None, default=None
        Computation dtype; ``None`` uses ``keras.config.floatx()``.

    References
    ----------
    T. Ridnik, E. Ben-Baruch, N. Zamir, A. Noy, I. Friedman, M. Protter and L. Zelnik-Manor,
    "Asymmetric Loss For Multi-Label Classification", ICCV 2021.
    """

    _param_names = ("gamma_neg", "gamma_pos", "clip", "pos_weight")
    _checks = {
        "gamma_neg": lambda value: _check_gamma("gamma_neg", value),
        "gamma_pos": lambda value: _check_gamma("gamma_pos", value),
        "clip": _check_clip,
        "pos_weight": _check_pos_weight,
    }

    def __init__(
        self,
        gamma_neg=4.0,
        gamma_pos=0.0,
        clip=0.05,
        pos_weight=None,
        *,
        reduction="sum_over_batch_size",
        name=None,
        dtype=None,
    ):
        super().__init__(
            reduction=reduction,
            name=name,
            dtype=dtype,
            gamma_neg=gamma_neg,
            gamma_pos=gamma_pos,
            clip=clip,
            pos_weight=pos_weight,
        )

    def _elementwise(self, y, p, eps):
        p_neg = ops.maximum(p - self.clip, 0.0) if self.clip else p
        positive = y * ops.log(ops.maximum(p, eps))
        negative = (1.0 - y) * ops.log(ops.maximum(1.0 - p_neg, eps))
        if self.gamma_pos:
            positive = positive * ops.power(1.0 - p, self.gamma_pos)
        if self.gamma_neg:
            # The base is kept >= eps: at 0 the gradient of x**gamma is infinite for gamma < 1,
            # and on JAX and torch 0 * inf = nan through the max; log(1 - p_neg) is 0 there.
            negative = negative * ops.power(ops.maximum(p_neg, eps), self.gamma_neg)
        return positive, negative


# --------------------------------------------------------------------------- helpers

#: Every loss name that :func:`get_loss` (and the ``loss`` parameter of
#: :class:`~skml.KerasMultiLabelClassifier`) accepts, mapped to its class: a read-only mapping.
LOSSES = MappingProxyType(
    {
        "binary_crossentropy": BinaryCrossentropy,
        "bce": BinaryCrossentropy,
        "focal": FocalLoss,
        "asymmetric": AsymmetricLoss,
        "asl": AsymmetricLoss,
    }
)


def get_loss(loss, pos_weight=None):
    """Resolve a loss specification into a new loss instance carrying ``pos_weight``.

    Parameters
    ----------
    loss : str, skml loss instance, Keras loss or callable
        ``"binary_crossentropy"`` (alias ``"bce"``), ``"focal"``, ``"asymmetric"`` (alias
        ``"asl"``), an instance of :class:`BinaryCrossentropy`, :class:`FocalLoss` or
        :class:`AsymmetricLoss` (copied, never changed), or any other Keras loss or callable
        ``loss(y_true, y_pred)``, returned as is.
    pos_weight : float, array-like of shape (n_labels,) or None, default=None
        Positive weight per label, as made by :func:`compute_pos_weight`.

    Returns
    -------
    loss : keras.losses.Loss or callable
        A new skml loss with ``pos_weight`` set, or the user's own loss unchanged.

    Raises
    ------
    ValueError
        For an unknown string; when ``pos_weight`` is given with a loss that is not an skml
        loss; when ``pos_weight`` is given and the skml loss already has its own.
    TypeError
        When ``loss`` is neither a string nor callable.
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(
                f"Unknown loss {loss!r}; the allowed strings are {sorted(LOSSES)}. "
                "A loss instance or callable is also accepted."
            )
        return LOSSES[loss](pos_weight=pos_weight, dtype="float32")
    if isinstance(loss, _ProbabilityLoss):
        new = loss.__sklearn_clone__()
        if pos_weight is not None:
            if new.pos_weight is not None:
                raise ValueError(
                    f"The loss {loss!r} already has a pos_weight; set class_weight=None or "
                    "remove the loss's pos_weight, not both."
                )
            new.set_params(pos_weight=pos_weight)
        return new
    if callable(loss):
        if pos_weight is not None:
            raise ValueError(
                f"class_weight needs an skml loss ({sorted(LOSSES)} or an instance of "
                f"skml.losses), got {loss!r}."
            )
        return loss
    raise TypeError(f"loss must be a string, a Keras loss or a callable, got {loss!r}.")


#: Resolution of the grid on which :func:`bayes_thresholds` finds non-closed-form thresholds.
_GRID_STEP = 1e-4


def bayes_thresholds(loss, n_labels, *, weight=None):
    """Per-label thresholds of the Bayes rule for hamming loss, on outputs trained by ``loss``.

    A network trained to minimise ``loss`` outputs, for a label whose true probability is ``q``,
    the ``p`` that minimises ``q * loss(y=1, p) + (1 - q) * loss(y=0, p)``. The label is more
    likely present than not when ``q > 0.5``, that is when the output exceeds the minimiser at
    ``q = 0.5``, which this function returns per label. Threshold rules that shrink a rare
    label's threshold toward a safe value (:func:`skml.thresholds.tune_thresholds`) shrink toward
    this one.

    - :class:`BinaryCrossentropy` whose positive term is weighted by ``w``: ``w / (1 + w)``
      (0.5 unweighted), exactly.
    - :class:`FocalLoss` and :class:`AsymmetricLoss` (and their ``pos_weight``): found on a grid
      of outputs with steps of 1e-4. Their minimisers are not ``q``: with their defaults, an output
      of 0.40 (focal, ``alpha=0.25``) or 0.68 (asymmetric, ``gamma_neg=4``, ``clip=0.05``) stands
      for a probability of 0.5.

    Parameters
    ----------
    loss : object
        The network's loss. A loss of another kind (a Keras loss, a function) keeps every
        threshold at 0.5: its mapping is unknown.
    n_labels : int
        Number of network outputs.
    weight : float, array-like of shape (n_labels,) or None, default=None
        A weight of the positive term relative to the negative one, on top of the loss's own
        ``pos_weight``: for example ``w1 / w0`` when a binary target's class weights ``w0`` and
        ``w1`` weigh the samples. Ignored for a loss of another kind.

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)

    Examples
    --------
    >>> from skml.losses import AsymmetricLoss, BinaryCrossentropy, FocalLoss, bayes_thresholds
    >>> bayes_thresholds(BinaryCrossentropy(pos_weight=[1.0, 3.0]), 2)
    array([0.5 , 0.75])
    >>> bayes_thresholds(FocalLoss(gamma=2.0, alpha=None), 1)
    array([0.5])
    >>> bayes_thresholds(FocalLoss(), 1).round(2), bayes_thresholds(AsymmetricLoss(), 1).round(2)
    (array([0.4]), array([0.68]))
    """
    if not isinstance(loss, _ProbabilityLoss):
        return np.full(n_labels, 0.5)
    own = 1.0 if loss.pos_weight is None else loss.pos_weight
    extra = 1.0 if weight is None else weight
    weight = np.broadcast_to(np.multiply(own, extra, dtype=float), (n_labels,))
    if isinstance(loss, BinaryCrossentropy):
        return weight / (1.0 + weight)
    # The loss's own terms on a grid of outputs: the log-likelihood of a present label
    # (positive) and of an absent one (negative), each as a function of the output p.
    grid = np.linspace(_GRID_STEP, 1.0 - _GRID_STEP, round(1 / _GRID_STEP) - 1)
    eps = keras.config.epsilon()
    positive, _ = loss._elementwise(np.ones_like(grid), grid, eps)
    _, negative = loss._elementwise(np.zeros_like(grid), grid, eps)
    positive = keras.ops.convert_to_numpy(positive).astype(float)
    negative = keras.ops.convert_to_numpy(negative).astype(float)
    # q = 0.5: maximise the mean of the two weighted log-likelihoods, one label weight at a time.
    unique, index = np.unique(weight, return_inverse=True)
    best = grid[np.argmax(unique[:, None] * positive[None] + negative[None], axis=1)]
    return best[index]


def compute_pos_weight(y, class_weight, *, label_names=None, max_weight=10.0):
    """Per-label positive weights for the losses of this module.

    Parameters
    ----------
    y : array-like of shape (n_samples, n_labels)
        Binary label indicator matrix (dense or scipy sparse).
    class_weight : None, "balanced", float, array-like of shape (n_labels,), dict or Series
        - ``None``: no weighting; returns ``None``.
        - ``"balanced"``: ``n_negatives / n_positives`` per label, the weight that makes the
          positives and the negatives of a label contribute equally, clipped to
          ``[1 / max_weight, max_weight]``. Labels with no positives, or no negatives, get 1.
        - a number: the weight of every label.
        - array-like: one weight per label, used as given.
        - dict or pandas Series: ``{label: weight}``; keys are entries of ``label_names``
          when given, else integer label indices. Labels left out get 1.
    label_names : array-like of shape (n_labels,) or None, default=None
        Names that the keys of a dict or Series ``class_weight`` refer to.
    max_weight : float or None, default=10.0
        Bound of the ``"balanced"`` weights, >= 1; ``None`` leaves them unbounded. Without a
        bound a label with 2 positives in 1,500 samples would get weight 749: each of its
        positives would outweigh hundreds of samples, the gradient of that one label would
        dominate the shared layers and its predicted probabilities would drift far above its
        prevalence. A cap of 10 keeps rare labels audible while the loss still reflects the
        data; it also bounds the weight of very frequent labels from below by 0.1.

    Returns
    -------
    pos_weight : ndarray of shape (n_labels,) or None
        Weights of the positive term of each label.

    Raises
    ------
    ValueError
        For a malformed ``y``, a wrong number of weights, unknown dict keys, or negative or
        non-finite weights.

    Examples
    --------
    >>> import numpy as np
    >>> from skml.losses import compute_pos_weight
    >>> y = np.array([[1, 0], [0, 0], [0, 1], [0, 1]])
    >>> compute_pos_weight(y, "balanced")
    array([3., 1.])
    """
    if class_weight is None:
        return None
    y = check_label_matrix(y, "y")
    n_labels = y.shape[1]
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight must be None, 'balanced', an array-like or a dict, "
                f"got {class_weight!r}."
            )
        max_weight = check_number(max_weight, "max_weight", low=1, allow_none=True)
        n_pos = y.sum(axis=0).astype(float)
        n_neg = y.shape[0] - n_pos
        weights = np.ones(n_labels)
        defined = (n_pos > 0) & (n_neg > 0)
        weights[defined] = n_neg[defined] / n_pos[defined]
        if max_weight is not None:
            weights = np.clip(weights, 1.0 / max_weight, max_weight)
        return weights
    classes = n_labels
    if label_names is not None:
        classes = np.asarray(label_names)
        if classes.shape != (n_labels,):
            raise ValueError(
                f"label_names has {classes.size} entries but y has {n_labels} labels."
            )
    return check_per_label(class_weight, classes, name="class_weight", default=1.0, low=0)

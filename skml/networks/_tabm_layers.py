"""The Keras layers of :class:`~skml.networks.TabM` (pure Keras: no scikit-learn).

A TabM network is ``k`` MLPs that share almost every weight (Gorishniy et al., "TabM:
Advancing Tabular Deep Learning with Parameter-Efficient Ensembling", ICLR 2025). Here:

* the first ``Dense`` layer (no bias) runs once per batch, on dense or ``tf.SparseTensor`` rows;
* :class:`MemberScaling` gives each member its own copy of that pre-activation, multiplied
  element-wise by the member's trainable scaling vector, plus the shared bias:
  ``(batch, units)`` to ``(batch, k, units)``;
* the remaining hidden layers are shared ``Dense`` layers run on ``(batch, k, units)``;
* :class:`MemberHeads` is each member's own output layer (one einsum), with the output
  activation: ``(batch, k, n_outputs)`` probabilities;
* :class:`TabMNetwork` is the functional model around that graph: it returns the members'
  probabilities while training (the loss is each member's, averaged over members) and their
  mean at inference.

Every class is registered with Keras (package ``"skml"``) so that a saved or pickled network
loads once this module is imported.
"""

import math

import keras
from keras import ops

from skml.networks._layers import _FLOAT, _seeds, periodic_embedding

__all__ = [
    "MemberHeads",
    "MemberScaling",
    "RandomSigns",
    "TabMNetwork",
    "build_tabm",
    "stack_members",
]

SCALING_INITS = ("random-signs", "noisy-ones")


@keras.saving.register_keras_serializable(package="skml")
class RandomSigns(keras.initializers.RandomUniform):
    """Initializer drawing each value from {-1, +1} with equal probability.

    Parameters
    ----------
    seed : int or None, default=None
        An integer seed draws the same values at every call.
    """

    def __init__(self, seed=None):
        super().__init__(minval=-1.0, maxval=1.0, seed=seed)

    def __call__(self, shape, dtype=None):
        uniform = super().__call__(shape, dtype=dtype)
        return ops.where(uniform < 0, -ops.ones_like(uniform), ops.ones_like(uniform))

    def get_config(self):
        return {"seed": super().get_config()["seed"]}


def _scaling_initializer(scaling_init, seed):
    if scaling_init == "random-signs":
        return RandomSigns(seed=seed)
    if scaling_init == "noisy-ones":
        return keras.initializers.RandomNormal(mean=1.0, stddev=0.1, seed=seed)
    raise ValueError(f"scaling_init must be one of {SCALING_INITS}; got {scaling_init!r}.")


@keras.saving.register_keras_serializable(package="skml")
class MemberScaling(keras.layers.Layer):
    """Each member's element-wise scaling of a shared representation, then a shared bias.

    Maps ``(batch, units)`` to ``(batch, k, units)``: member ``j`` gets
    ``x * scale[j] + bias``. The scaling is not regularised: an L2 penalty would pull it
    towards 0, which switches units off, not towards its initial +-1 or 1.

    Parameters
    ----------
    k : int
        Number of members.
    scaling_init : {"random-signs", "noisy-ones"}, default="random-signs"
        Initial scaling: random +-1 signs, or 1 plus Gaussian noise of standard deviation 0.1.
    seed : int or None, default=None
        Seed of the scaling initializer.
    """

    def __init__(self, k, *, scaling_init="random-signs", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.k = int(k)
        self.scaling_init = scaling_init
        self.seed = seed

    def build(self, input_shape):
        units = int(input_shape[-1])
        self.scale = self.add_weight(
            shape=(self.k, units),
            initializer=_scaling_initializer(self.scaling_init, self.seed),
            name="scale",
        )
        self.bias = self.add_weight(shape=(units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.expand_dims(inputs, 1) * self.scale + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.k, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "k": self.k,
            "scaling_init": self.scaling_init,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="skml")
class MemberHeads(keras.layers.Layer):
    """Each member's own output layer: ``(batch, k, units)`` to ``(batch, k, n_outputs)``.

    One einsum with a ``(k, units, n_outputs)`` kernel; each member's slice is initialised as
    a ``Dense`` layer's (Glorot uniform over ``units`` and ``n_outputs``).

    Parameters
    ----------
    n_outputs : int
    activation : str or callable, default="sigmoid"
        Applied to the last axis (softmax: over each member's outputs).
    kernel_regularizer : keras.regularizers.Regularizer or None, default=None
    seed : int or None, default=None
        Seed of the kernel initializer.
    """

    def __init__(
        self, n_outputs, *, activation="sigmoid", kernel_regularizer=None, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.n_outputs = int(n_outputs)
        self.activation = keras.activations.get(activation)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed

    def build(self, input_shape):
        k, units = int(input_shape[-2]), int(input_shape[-1])
        limit = math.sqrt(6.0 / (units + self.n_outputs))
        self.kernel = self.add_weight(
            shape=(k, units, self.n_outputs),
            initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed),
            regularizer=self.kernel_regularizer,
            name="kernel",
        )
        self.bias = self.add_weight(shape=(k, self.n_outputs), initializer="zeros", name="bias")

    def call(self, inputs):
        return self.activation(ops.einsum("bku,kuo->bko", inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "n_outputs": self.n_outputs,
            "activation": keras.activations.serialize(self.activation),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="skml")
class TabMNetwork(keras.Model):
    """A functional model whose graph ends in ``(batch, k, n_outputs)`` member probabilities.

    ``call`` returns them while training and their mean over members otherwise, so inference
    (``predict``, the estimator's ``predict_proba``, an export) sees one
    ``(batch, n_outputs)`` prediction. :meth:`compute_loss` gives each member the targets
    (and sample weights): the training loss is the mean over members of each member's loss,
    never the loss of the averaged prediction, which would let the members collapse into
    one. A validation loss (``training=False``) is that of the mean prediction.

    Built as any functional model, ``TabMNetwork(inputs, outputs, name=...)``; see
    :func:`build_tabm`.
    """

    _skml_cacheable = True  # its config describes it: skml._training may reuse traces

    def call(self, inputs, training=None, mask=None):
        members = super().call(inputs, training=training, mask=mask)
        return members if training else ops.mean(members, axis=1)

    def members(self, inputs):
        """Each member's probabilities at inference, shape ``(batch, k, n_outputs)``."""
        return super().call(inputs, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is not None and y_pred is not None and len(y_pred.shape) == 3:
            k = y_pred.shape[1]
            # Member j of sample i becomes row i * k + j: the loss's mean over rows is then
            # the mean over members of each member's mean over samples.
            y_pred = ops.reshape(y_pred, (-1, y_pred.shape[-1]))
            y = ops.repeat(y, k, axis=0)
            if sample_weight is not None:
                sample_weight = ops.repeat(sample_weight, k, axis=0)
        return super().compute_loss(x, y, y_pred, sample_weight, training=training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if len(y_pred.shape) == 3:  # compiled metrics judge the ensemble's prediction
            y_pred = ops.mean(y_pred, axis=1)
        return super().compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def build_tabm(
    n_features,
    n_outputs,
    *,
    k=8,
    hidden_layer_sizes=(256,),
    activation="relu",
    dropout=0.0,
    l2=0.0,
    scaling_init="random-signs",
    output_activation="sigmoid",
    sparse=False,
    seed=None,
    embedding=None,
    embedding_scale=0.01,
    embedding_frequencies=16,
    embedding_units=16,
):
    """Build a TabM network: ``k`` MLPs sharing their hidden layers, each with its own
    scaling of the first hidden layer and its own output layer.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    n_outputs : int
        Output units of each member.
    k : int, default=8
        Number of members.
    hidden_layer_sizes : tuple of int, default=(256,)
        Units per hidden layer; at least one layer (the members differ from it on).
    activation : str or callable, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout rate after each hidden layer (each member draws its own mask).
    l2 : float, default=0.0
        L2 penalty on the shared kernels, and on the output kernels as their mean over
        members (``l2 / k`` on their sum), so that each member is penalised as one MLP.
    scaling_init : {"random-signs", "noisy-ones"}, default="random-signs"
        Initial scaling of each member (see :class:`MemberScaling`).
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
    sparse : bool, default=False
        Take ``tf.SparseTensor`` rows (``keras.Input(sparse=True)``), never densified: only
        the shared first layer reads them (or the embedding layer, one batch at a time).
    seed : int or None, default=None
        Seed of the initialisers and dropout masks.
    embedding : {None, "periodic"}, default=None
        ``"periodic"`` embeds each feature before the shared first layer
        (:class:`skml.networks._embeddings.PeriodicEmbedding`, shared by the members).
    embedding_scale, embedding_frequencies, embedding_units
        The embeddings' initial frequency scale, frequencies and units per feature.

    Returns
    -------
    model : TabMNetwork
        Uncompiled; maps ``(batch, n_features)`` to ``(batch, k, n_outputs)`` probabilities
        while training and to their mean ``(batch, n_outputs)`` at inference.
    """
    sizes = tuple(int(u) for u in hidden_layer_sizes)
    if not sizes:
        raise ValueError("hidden_layer_sizes must hold at least one layer for TabM; got ().")
    seeds = _seeds(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(n_features,), sparse=sparse, dtype=_FLOAT, name="features")
    x = inputs
    if embedding == "periodic":
        x = periodic_embedding(
            embedding_frequencies, embedding_units, embedding_scale, next(seeds)
        )(x)
    for i, units in enumerate(sizes):
        x = keras.layers.Dense(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            kernel_regularizer=regularizer,
            use_bias=i > 0,  # the first layer's bias comes after the members' scaling
            dtype=_FLOAT,
            name=f"dense_{i}",
        )(x)
        if i == 0:
            x = MemberScaling(
                k, scaling_init=scaling_init, seed=next(seeds), dtype=_FLOAT, name="members"
            )(x)
        x = keras.layers.Activation(activation, dtype=_FLOAT, name=f"activation_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=next(seeds), dtype=_FLOAT, name=f"dropout_{i}")(
                x
            )
    outputs = MemberHeads(
        n_outputs,
        activation=output_activation,
        kernel_regularizer=keras.regularizers.L2(l2 / k) if l2 else None,
        seed=next(seeds),
        dtype=_FLOAT,
        name="output",
    )(x)
    return TabMNetwork(inputs, outputs, name="tabm")


def stack_members(members, sample_shape, *, sparse=False):
    """One network of independent ``members``, their outputs stacked: a deep ensemble.

    Parameters
    ----------
    members : list of keras.Model
        Built networks with the same input and ``(batch, n_outputs)`` outputs.
    sample_shape : tuple of int
        Shape of one input sample.
    sparse : bool, default=False
        Take ``tf.SparseTensor`` rows.

    Returns
    -------
    model : TabMNetwork
        Uncompiled; ``(batch, k, n_outputs)`` member probabilities while training and their
        mean ``(batch, n_outputs)`` at inference. It shares the members' layers and weights
        (no copy): member ``j`` is its nested model ``"member_j"``.
    """
    inputs = keras.Input(shape=tuple(sample_shape), sparse=sparse, dtype=_FLOAT, name="features")
    outputs = []
    for j, member in enumerate(members):
        # Each member is renamed so that the nested models' names are unique.
        named = keras.Model(member.input, member.output, name=f"member_{j}")
        n_outputs = int(named.output.shape[-1])
        outputs.append(keras.layers.Reshape((1, n_outputs), name=f"stack_{j}")(named(inputs)))
    stacked = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(axis=1)(outputs)
    return TabMNetwork(inputs, stacked, name="ensemble")

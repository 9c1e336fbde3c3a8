"""TabM: a parameter-efficient ensemble of MLPs trained as one network."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from skml.networks._base import Network
from skml.networks.mlp import EmbeddingParams, check_activation, check_units

__all__ = ["TabM"]


class TabM(EmbeddingParams, Network):
    """An ensemble of ``k`` MLPs that share their weights, trained together (TabM).

    After TabM-mini (Gorishniy et al., ICLR 2025), adapted so that sparse rows stay cheap: the
    first hidden layer's product with the input is computed once per batch; each member
    multiplies it element-wise by its own trainable scaling vector (then the shared bias and
    activation), runs the shared remaining hidden layers and ends in its own output layer.
    The members cost ``k`` times the work of every layer but the first, and add
    ``k * (units + units * n_outputs + n_outputs)`` weights to one MLP's.

    Each member is trained on its own loss (the training loss is their mean); predictions
    (``predict_proba``, early stopping's validation loss, an export) are the mean of the
    members' probabilities. The fitted network's ``members(X)`` returns each member's,
    shape ``(n_samples, k, n_outputs)``.

    Reads 2-D rows, dense or SciPy sparse (as ``tf.SparseTensor`` batches on TensorFlow,
    never densified, except one batch at a time inside the embedding layer when ``embedding``
    is set).

    Parameters
    ----------
    k : int, default=8
        Number of members. ``k=1`` is one MLP.
    hidden_layer_sizes : tuple of int, default=(256,)
        Units per hidden layer, shared by the members; at least one layer.
    activation : str or callable, default="relu"
        Activation of the hidden layers (any Keras activation name, such as "relu", "gelu").
    dropout : float, default=0.2
        Dropout rate after each hidden layer, in [0, 1); each member draws its own mask.
    l2 : float, default=0.0
        L2 penalty on the shared kernels and on each member's output kernel (averaged over
        members, so that each member is penalised as one MLP); the scalings are not penalised.
        Off by default, as for :class:`MLP` (whose first layer TabM shares).
    scaling_init : {"random-signs", "noisy-ones"}, default="random-signs"
        Initial scaling of each member: random +1/-1 signs, as in TabM, so that the members
        differ from the first step (a flipped sign turns unit ``relu(z)`` into ``relu(-z)``)
        while every scaled unit keeps the variance of the Glorot initialisation; or 1 plus
        Gaussian noise of standard deviation 0.1, members that start nearly identical.
    embedding : {"auto", "periodic"} or None, default=None
        Periodic embeddings of the features before the shared first layer, shared by the
        members, as :class:`MLP`'s (TabM's authors pair it with these embeddings). Off by
        default: TabM's measured defaults predate them (``"auto"`` is MLP's default).
    embedding_scale : float, default=0.01
        Standard deviation of the embeddings' initial frequencies.
    embedding_frequencies : int, default=16
        Trainable frequencies per feature.
    embedding_units : int, default=16
        Width of each feature's embedding.

    Examples
    --------
    >>> from skml import KerasMultiLabelClassifier
    >>> from skml.networks import TabM
    >>> clf = KerasMultiLabelClassifier(network=TabM(k=4, hidden_layer_sizes=(64,)))
    >>> clf.set_params(network__k=16).network
    TabM(hidden_layer_sizes=(64,), k=16)
    """

    _parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [str, callable],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "scaling_init": [StrOptions({"random-signs", "noisy-ones"})],
        **EmbeddingParams._embedding_constraints,
    }

    accepts_sparse = True

    def __init__(
        self,
        k=8,
        *,
        hidden_layer_sizes=(256,),
        activation="relu",
        dropout=0.2,
        l2=0.0,
        scaling_init="random-signs",
        embedding=None,
        embedding_scale=0.01,
        embedding_frequencies=16,
        embedding_units=16,
    ):
        self.k = k
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2
        self.scaling_init = scaling_init
        self.embedding = embedding
        self.embedding_scale = embedding_scale
        self.embedding_frequencies = embedding_frequencies
        self.embedding_units = embedding_units

    def check(self):
        """Validate the parameters; raise ``ValueError`` naming the bad one. Return self."""
        super().check()
        check_units("hidden_layer_sizes", self.hidden_layer_sizes)
        if not tuple(self.hidden_layer_sizes):
            raise ValueError(
                "hidden_layer_sizes must hold at least one layer for TabM (its members differ "
                "from the first hidden layer on); got ()."
            )
        check_activation(self.activation)
        self.check_embedding()
        return self

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the uncompiled Keras TabM network (see :meth:`Network.build`).

        Returns
        -------
        network : skml.networks._tabm_layers.TabMNetwork
            ``(batch, k, n_outputs)`` member probabilities while training, their mean
            ``(batch, n_outputs)`` at inference.
        """
        from skml.networks._tabm_layers import build_tabm

        return build_tabm(
            int(sample_shape[0]),
            n_outputs,
            k=int(self.k),
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            activation=self.activation,
            dropout=self.dropout,
            l2=self.l2,
            scaling_init=self.scaling_init,
            output_activation=output_activation,
            sparse=sparse,
            seed=seed,
            **self.embedding_kwargs(int(sample_shape[0])),
        )

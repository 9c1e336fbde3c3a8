"""MLP: the fully connected network, for tabular rows and sparse text features."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from skml.networks._base import Network

__all__ = ["MLP"]


class MLP(Network):
    """A multi-layer perceptron: dense hidden layers, then one output unit per label.

    Reads 2-D rows, dense or SciPy sparse. On TensorFlow sparse rows reach the network as
    ``tf.SparseTensor`` batches and are never densified.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256,)
        Units per hidden layer; ``()`` gives a logistic regression per label.
    activation : str or callable, default="relu"
        Activation of the hidden layers (any Keras activation name, such as "relu", "gelu").
    dropout : float, default=0.2
        Dropout rate after each hidden layer, in [0, 1).
    batch_normalization : bool, default=False
        Batch normalisation before each hidden activation.
    l2 : float, default=0.0
        L2 penalty on every kernel. Off by default: on sparse text (bibtex) an L2 of 1e-3
        collapsed macro-F1 to 0.001 (see the README's *How the defaults were chosen*).
    embedding : {None, "periodic"}, default=None
        ``"periodic"`` embeds each numerical feature before the first hidden layer:
        ``ReLU(W_j [sin(2 pi c_j x_j), cos(2 pi c_j x_j)] + b_j)`` with 48 trainable
        frequencies and 24 units per feature (Gorishniy et al., NeurIPS 2022, their "PLR"
        embeddings). For dense, standardised rows only: sparse input is refused. It widens the
        first layer ``24 * n_features``-fold, so fits cost more (scene: about 10x).
    embedding_scale : float, default=0.01
        Standard deviation of the initial frequencies ``c_j`` (the authors' default; their
        most important hyperparameter to tune). Used only with ``embedding="periodic"``.

    Examples
    --------
    >>> from skml import KerasMultiLabelClassifier
    >>> from skml.networks import MLP
    >>> clf = KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(64, 32), dropout=0.1))
    >>> clf.set_params(network__dropout=0.3).network
    MLP(dropout=0.3, hidden_layer_sizes=(64, 32))
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [str, callable],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "l2": [Interval(Real, 0, None, closed="left")],
        "embedding": [None, StrOptions({"periodic"})],
        "embedding_scale": [Interval(Real, 0, None, closed="neither")],
    }

    accepts_sparse = True

    def __init__(
        self,
        hidden_layer_sizes=(256,),
        *,
        activation="relu",
        dropout=0.2,
        batch_normalization=False,
        l2=0.0,
        embedding=None,
        embedding_scale=0.01,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.l2 = l2
        self.embedding = embedding
        self.embedding_scale = embedding_scale

    def check(self):
        """Validate the parameters; raise ``ValueError`` naming the bad one. Return self."""
        super().check()
        check_units("hidden_layer_sizes", self.hidden_layer_sizes)
        check_activation(self.activation)
        if self.embedding is None and self.embedding_scale != 0.01:
            raise ValueError(
                f"embedding_scale={self.embedding_scale!r} applies to embedding='periodic' "
                "only; embedding is None."
            )
        return self

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the uncompiled Keras MLP (see :meth:`Network.build`)."""
        from skml.networks._layers import build_mlp

        if sparse and self.embedding is not None:
            raise ValueError(
                f"MLP(embedding={self.embedding!r}) embeds dense numerical features; X is "
                "sparse. Use embedding=None for sparse rows (such as bag-of-words text)."
            )
        return build_mlp(
            int(sample_shape[0]),
            n_outputs,
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            activation=self.activation,
            dropout=self.dropout,
            batch_normalization=self.batch_normalization,
            l2=self.l2,
            output_activation=output_activation,
            sparse=sparse,
            seed=seed,
            embedding=self.embedding,
            embedding_scale=self.embedding_scale,
        )


def check_units(name, sizes):
    """Raise unless ``sizes`` is a tuple of positive integers (``()`` allowed)."""
    try:
        units = tuple(sizes)
    except TypeError:
        units = None
    if units is None or not all(
        isinstance(u, Integral) and not isinstance(u, bool) and u > 0 for u in units
    ):
        raise ValueError(
            f"{name} must be a tuple of positive integers (units per layer; () for none); "
            f"got {sizes!r}."
        )


def check_activation(activation):
    """Raise unless ``activation`` is a callable or the name of a Keras activation."""
    if not isinstance(activation, str):
        return
    from skml._training import import_keras

    try:
        import_keras().activations.get(activation)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "activation must be the name of a Keras activation (such as 'relu', 'gelu', "
            f"'tanh', 'silu') or a callable; got {activation!r}."
        ) from exc

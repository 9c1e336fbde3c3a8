"""MLP: the fully connected network, for tabular rows and sparse text features."""

import inspect
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from skml.networks._base import Network

__all__ = ["AUTO_EMBEDDING_FEATURES", "MLP"]

#: ``embedding="auto"`` embeds rows of at most this many features.
AUTO_EMBEDDING_FEATURES = 512


class EmbeddingParams:
    """The periodic-embedding parameters of :class:`MLP` and :class:`~skml.networks.TabM`."""

    _embedding_constraints = {
        "embedding": [None, StrOptions({"auto", "periodic"})],
        "embedding_scale": [Interval(Real, 0, None, closed="neither")],
        "embedding_frequencies": [Interval(Integral, 1, None, closed="left")],
        "embedding_units": [Interval(Integral, 1, None, closed="left")],
    }

    def embedding_for(self, n_features):
        """The embedding built for rows of ``n_features`` features: ``"periodic"`` or None."""
        if self.embedding == "auto":
            return "periodic" if n_features <= AUTO_EMBEDDING_FEATURES else None
        return self.embedding

    def check_embedding(self):
        """Raise ``ValueError`` for embedding sizes or scale given without an embedding."""
        if self.embedding is None:
            defaults = inspect.signature(type(self).__init__).parameters
            for name in ("embedding_scale", "embedding_frequencies", "embedding_units"):
                if getattr(self, name) != defaults[name].default:
                    raise ValueError(
                        f"{name}={getattr(self, name)!r} applies to the periodic embeddings "
                        "only; embedding is None."
                    )

    def embedding_kwargs(self, n_features):
        """The builders' embedding arguments for rows of ``n_features`` features."""
        return {
            "embedding": self.embedding_for(n_features),
            "embedding_scale": self.embedding_scale,
            "embedding_frequencies": self.embedding_frequencies,
            "embedding_units": self.embedding_units,
        }


class MLP(EmbeddingParams, Network):
    """A multi-layer perceptron: dense hidden layers, then one output unit per label.

    Reads 2-D rows, dense or SciPy sparse. On TensorFlow sparse rows reach the network as
    ``tf.SparseTensor`` batches and are never densified, except one batch at a time inside the
    embedding layer when the rows are embedded (see ``embedding``).

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
    embedding : {"auto", "periodic"} or None, default="auto"
        ``"periodic"`` embeds each numerical feature before the first hidden layer:
        ``ReLU(W_j [sin(2 pi c_j x_j), cos(2 pi c_j x_j)] + b_j)`` with
        ``embedding_frequencies`` trainable frequencies ``c_j`` and ``embedding_units`` units
        per feature (Gorishniy et al., NeurIPS 2022, their "PLR" embeddings). It widens the
        first layer ``embedding_units``-fold. ``"auto"`` embeds rows of at most 512 features
        (``AUTO_EMBEDDING_FEATURES``) and feeds wider rows as they are: on the development suite
        the embeddings lowered hamming loss on the dense tabular sets (emotions, scene, 150 rows
        of emotions, unscaled yeast) and tied yeast, while the 1024 pixels of digits gained
        nothing at many times the cost (wider bag-of-words rows were not tried: bibtex's first
        layer would take 29,000 inputs). The rule reads the number of features only, so sparse and
        dense copies of the same rows get the same network. ``None`` feeds every row as it is
        (the default network of earlier 0.2.0 builds).
    embedding_scale : float, default=0.01
        Standard deviation of the initial frequencies ``c_j`` on standardised features (the
        authors' default; their most important hyperparameter to tune). Not used when no
        embedding is built.
    embedding_frequencies : int, default=16
        Trainable frequencies per feature. The authors' default is 48; 16 matched it on the
        development suite at about 60% of the fit time.
    embedding_units : int, default=16
        Width of each feature's embedding (the authors' default is 24).

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
        **EmbeddingParams._embedding_constraints,
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
        embedding="auto",
        embedding_scale=0.01,
        embedding_frequencies=16,
        embedding_units=16,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.l2 = l2
        self.embedding = embedding
        self.embedding_scale = embedding_scale
        self.embedding_frequencies = embedding_frequencies
        self.embedding_units = embedding_units

    def check(self):
        """Validate the parameters; raise ``ValueError`` naming the bad one. Return self."""
        super().check()
        check_units("hidden_layer_sizes", self.hidden_layer_sizes)
        check_activation(self.activation)
        self.check_embedding()
        return self

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the uncompiled Keras MLP (see :meth:`Network.build`)."""
        from skml.networks._layers import build_mlp

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
            **self.embedding_kwargs(int(sample_shape[0])),
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

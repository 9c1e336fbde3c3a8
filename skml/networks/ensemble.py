"""Ensemble: k networks of one kind, trained one by one, packed into one Keras model."""

from numbers import Integral

from sklearn.utils._param_validation import Interval

from skml.networks._base import Network

__all__ = ["Ensemble"]


class Ensemble(Network):
    """``k`` independent networks of one kind, their probabilities averaged (a deep ensemble).

    A deep ensemble (Lakshminarayanan et al., NeurIPS 2017): every member is a whole network
    built from ``network``, and nothing is shared but the input. ``fit`` trains the members one
    after another, each as a lone fit with its own ``random_state`` would train it: its own
    initial weights, dropout masks, batch order, validation split and early stopping (so
    that together the members see almost every row); member 0 is the network the estimator
    would fit with ``network`` alone. With thresholds tuned out of fold (see below), every
    member instead trains on every row for the same number of epochs, taken from member 0's
    out-of-fold networks. They are then packed into one Keras model whose
    predictions (``predict_proba``, an export) are the mean of the members' probabilities; the
    fitted network's ``members(X)`` returns each member's, shape ``(n_samples, k,
    n_outputs)``, and ``history_`` is member 0's. ``partial_fit``,
    ``warm_start`` and Dask's block-wise training train the packed members together, each on
    its own loss over the same batches (a ``warm_start`` fit stops early, and tunes with
    ``threshold_cv="validation"``, on member 0's validation split and predictions).

    Averaging independently trained networks improves the ranking of the scores: hamming
    loss at threshold 0.5, and macro-F1 once ``threshold="f1"`` tunes per-label thresholds,
    at ``k`` times the fit of one network. ``Ensemble()`` is the estimator's default network
    under ``threshold="f1"`` (``network=None``), where it gained macro-F1 on the development
    suite for about twice the tuned fit. A tuned rule is tuned on single members: its
    out-of-fold networks are single networks (``threshold_cv`` more fits, not ``k`` times as
    many), and ``threshold_cv="validation"`` tunes on member 0's validation split and
    predictions. That is a measured choice, not an identity: the mean of members is less
    extreme than one member's probabilities, yet thresholds tuned on members gained macro-F1
    on the development suite (README, "How the defaults were chosen"). Their mean best epoch
    is then every member's (the estimator's ``final_epochs``).
    :class:`~skml.networks.TabM` is the parameter-efficient alternative: its members share
    almost every weight and train together.

    Parameters
    ----------
    network : MLP or CNN, default=None
        The members' architecture (None: ``MLP()``). Its parameters are searchable as
        ``network__network__<param>`` through the estimator.
    k : int, default=5
        Number of members. ``k=1`` is one network of the kind, trained as it would be alone.

    Examples
    --------
    >>> from skml import KerasMultiLabelClassifier
    >>> from skml.networks import MLP, Ensemble
    >>> clf = KerasMultiLabelClassifier(network=Ensemble(MLP((64,)), k=3), threshold="f1")
    >>> clf.set_params(network__k=4, network__network__dropout=0.1).network
    Ensemble(k=4, network=MLP(dropout=0.1, hidden_layer_sizes=(64,)))
    """

    _parameter_constraints = {
        "network": [Network, None],
        "k": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, network=None, k=5):
        self.network = network
        self.k = k

    @property
    def accepts_sparse(self):
        """Whether the members read sparse rows."""
        # getattr: scikit-learn reads tags before fit validates a bad ``network``.
        return getattr(self._member(), "accepts_sparse", False)

    @property
    def separate_members(self):
        """The members' specs, one per member: ``fit`` trains each on its own, then packs."""
        return [self._member()] * int(self.k)

    @property
    def tuning_network(self):
        """The spec of the out-of-fold networks that tune a threshold rule: one member."""
        return self._member()

    def _member(self):
        from skml.networks.mlp import MLP

        return MLP() if self.network is None else self.network

    def check(self):
        """Validate the parameters; raise ``ValueError`` naming the bad one. Return self."""
        super().check()
        from skml.networks.tabm import TabM

        if isinstance(self.network, (Ensemble, TabM)):
            raise ValueError(
                f"network must be a single network (MLP or CNN) for Ensemble; got "
                f"{type(self.network).__name__}, itself an ensemble: raise its k instead."
            )
        if getattr(self.network, "backbone", None) is not None:
            raise ValueError(
                "network must not hold a CNN backbone for Ensemble: the members would share "
                "the backbone's weights (one Keras model instance), so they would be neither "
                "independent nor each a lone network. Use CNN blocks, or one network."
            )
        self._member().check()
        return self

    def input_checks(self):
        """The members' input checks."""
        return self._member().input_checks()

    def as_input(self, X, fitted_shape=None):
        """``X`` as the members read it."""
        return self._member().as_input(X, fitted_shape)

    def export_signature(self, sample_shape, n_features):
        """The members' export signature."""
        return self._member().export_signature(sample_shape, n_features)

    def pack(self, members, sample_shape, *, sparse=False):
        """One network of the trained ``members``: see
        :func:`skml.networks._tabm_layers.stack_members` (no copy of their weights)."""
        from skml.networks._tabm_layers import stack_members

        return stack_members(members, sample_shape, sparse=sparse)

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the uncompiled ensemble, its members untrained.

        ``fit`` trains the members one by one instead (:attr:`separate_members`, then
        :meth:`pack`); ``partial_fit`` and Dask's block-wise training train this network,
        every member on its own loss over the same batches.

        Parameters
        ----------
        sample_shape, n_outputs, output_activation, seed, sparse, context
            As for :meth:`Network.build`; member ``j`` is built with its own seed derived
            from ``seed`` (member 0 with ``seed`` itself).

        Returns
        -------
        network : skml.networks._tabm_layers.TabMNetwork
            ``(batch, k, n_outputs)`` member probabilities while training, their mean
            ``(batch, n_outputs)`` at inference.
        """
        member = self._member()
        seeds = _member_seeds(seed, int(self.k))
        members = [
            member.build(
                sample_shape,
                n_outputs,
                output_activation=output_activation,
                seed=member_seed,
                sparse=sparse,
                context=context,
            )
            for member_seed in seeds
        ]
        return self.pack(members, sample_shape, sparse=sparse)


def _member_seeds(seed, k):
    """One seed per member; member 0 gets ``seed`` itself, so ``k=1`` is the lone network."""
    from skml.networks._layers import _seeds

    derived = _seeds(seed)
    return [seed] + [next(derived) for _ in range(k - 1)]

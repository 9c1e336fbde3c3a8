"""A user's own network: a Keras model or a build function given as ``network=``."""

import numpy as np

from skml.networks._base import Network

__all__ = ["UserNetwork"]


class UserNetwork(Network):
    """Wraps ``network=`` given as a ``keras.Model`` or a build function (scikeras style).

    The model must end in one probability per output (sigmoid for multi-label and binary
    targets, softmax for multiclass); skml compiles it with its own loss and optimizer. Sparse
    rows reach it as dense batches, densified one batch at a time.

    Parameters
    ----------
    model : keras.Model or callable
        The model (cloned before training, so the given instance is never modified) or a
        function returning one, which may take ``meta`` and ``compile_kwargs`` by name.
    """

    accepts_sparse = True

    def __init__(self, model):
        self.model = model

    def check(self):
        """Nothing to validate before the build (the built model's shape is checked)."""
        return self

    def input_checks(self):
        """Dense or sparse rows of any number of dimensions."""
        return {"dtype": np.float32, "accept_sparse": ("csr", "csc"), "allow_nd": True}

    def build(
        self, sample_shape, n_outputs, *, output_activation, seed, sparse=False, context=None
    ):
        """Build the user's model through scikeras' conventions; check its output width."""
        from skml._scikeras import build_user_model

        context = dict(context or {})
        compile_kwargs = {
            "loss": context.pop("loss", "binary_crossentropy"),
            "optimizer": context.pop("optimizer", "adam"),
        }
        meta = dict(context)
        meta.update(
            {
                "n_features_in_": int(np.prod(sample_shape)),
                "X_shape_": (None, *sample_shape),
                "X_dtype_": np.float32,
                "n_outputs_": 1,
                "n_outputs_expected_": n_outputs,
            }
        )
        network = build_user_model(
            self.model,
            model_kwargs=None,
            meta=meta,
            compile_kwargs=compile_kwargs,
        )
        if tuple(network.output_shape[1:]) != (n_outputs,):
            raise ValueError(
                f"network must output {n_outputs} probabilities per sample "
                f"({output_activation}); its output shape is {network.output_shape}."
            )
        return network

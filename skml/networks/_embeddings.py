"""Periodic embeddings of numerical features (pure Keras: no scikit-learn).

Gorishniy, Rubachev and Babenko, "On Embeddings for Numerical Features in Tabular Deep
Learning" (NeurIPS 2022): each feature ``x_j`` becomes
``ReLU(W_j [sin(2 pi c_j x_j), cos(2 pi c_j x_j)] + b_j)``, with ``k`` trainable frequencies
``c_j`` drawn from ``N(0, scale^2)`` and a per-feature linear map to ``d`` units (their "PLR"
embeddings; the defaults, 48 frequencies, 24 units and scale 0.01, are those of the authors'
``rtdl_num_embeddings.PeriodicEmbeddings``). The embeddings of all features are concatenated
before the first hidden layer. Sparse rows are densified a batch at a time: a zero feature
still embeds to a non-zero vector, so the embeddings of a row are dense.

The layer is registered with Keras (package ``"skml"``) so that a saved or pickled network
loads once this module is imported.
"""

import math

import keras
from keras import ops

__all__ = ["PeriodicEmbedding"]


@keras.saving.register_keras_serializable(package="skml")
class PeriodicEmbedding(keras.layers.Layer):
    """``(batch, n_features)`` to ``(batch, n_features * units)`` periodic embeddings.

    Parameters
    ----------
    n_frequencies : int, default=48
        Trainable frequencies per feature.
    units : int, default=24
        Width of each feature's embedding.
    scale : float, default=0.01
        Standard deviation of the initial frequencies (on standardised features).
    seed : int or None, default=None
        Seed of the initialisers.
    """

    def __init__(self, n_frequencies=48, units=24, scale=0.01, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.n_frequencies = n_frequencies
        self.units = units
        self.scale = scale
        self.seed = seed

    def build(self, input_shape):
        n_features = int(input_shape[-1])
        seeds = (None, None) if self.seed is None else (self.seed, (self.seed + 1) % (2**31 - 1))
        self.frequencies = self.add_weight(
            shape=(n_features, self.n_frequencies),
            initializer=keras.initializers.RandomNormal(stddev=self.scale, seed=seeds[0]),
            name="frequencies",
        )
        self.kernel = self.add_weight(
            shape=(n_features, 2 * self.n_frequencies, self.units),
            initializer=keras.initializers.GlorotUniform(seed=seeds[1]),
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(n_features, self.units), initializer="zeros", name="bias"
        )

    def call(self, inputs):
        inputs = ops.convert_to_tensor(inputs, sparse=False)
        angles = 2.0 * math.pi * self.frequencies[None] * inputs[..., None]
        periodic = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)
        embedded = ops.einsum("bfk,fku->bfu", periodic, self.kernel) + self.bias[None]
        return ops.reshape(ops.relu(embedded), (-1, inputs.shape[-1] * self.units))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(input_shape[-1]) * self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            n_frequencies=self.n_frequencies, units=self.units, scale=self.scale, seed=self.seed
        )
        return config

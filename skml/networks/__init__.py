"""The networks of :class:`skml.KerasMultiLabelClassifier`, one spec class per architecture.

``KerasMultiLabelClassifier(network=...)`` takes a spec (:class:`MLP`, the default,
:class:`CNN`, :class:`TabM` or :class:`Ensemble`), a ``keras.Model`` or a build function. A
spec's parameters are the estimator's nested parameters: ``GridSearchCV`` reaches them as
``network__dropout`` and so on.

Adding an architecture is one subclass of :class:`Network` in this package (its parameters,
``_parameter_constraints`` and ``build``; ``input_checks``/``as_input`` when it reads something
other than 2-D rows) plus its tests; the estimator needs no change.

Importing this package does not import TensorFlow: :func:`build_mlp` and :func:`build_cnn`,
the plain Keras builders the specs call, load Keras on first use.
"""

import importlib

from skml.networks._base import Network
from skml.networks.cnn import CNN
from skml.networks.ensemble import Ensemble
from skml.networks.mlp import MLP
from skml.networks.tabm import TabM

__all__ = ["CNN", "MLP", "Ensemble", "Network", "TabM", "build_cnn", "build_mlp"]


def __getattr__(name):
    if name in ("build_cnn", "build_mlp"):
        return getattr(importlib.import_module("skml.networks._layers"), name)
    raise AttributeError(f"module 'skml.networks' has no attribute {name!r}")

"""Training and inference machinery shared by skml's estimators (Keras, no scikit-learn).

One job per module:

``fit.py``
    :func:`fit_network`, the one entry point of a fit: compiles, picks the path.
``rows.py``
    The rows, dense or CSR, and the stateless permutation ``(seed, epoch)`` that orders every
    epoch of every path; a batch of CSR rows is built in the graph as a ``tf.SparseTensor``.
``epoch.py``
    The traced functions of one epoch and one evaluation (TensorFlow's fast path).
``loop.py``
    The epoch loop of the fast path: early stopping, progress display.
``cache.py``
    Reuse of traced functions across fits: keys, template networks, ``cache_info``.
``keras_fit.py``
    The one ``Model.fit`` set-up (other backends, ``fast=False``, ``tf.distribute``).
``trainer.py``
    :class:`Trainer`: one pass per call (``partial_fit``, Dask blocks).
``infer.py``
    :class:`Predictor`: outputs for dense or CSR rows.
``backend.py``
    Keras import, the float32 ``floatx`` switch, traced-function plumbing.

Nothing here imports TensorFlow before it is needed.
"""

from skml._training.backend import float32_floatx, import_keras
from skml._training.cache import cache_info, clear_cache
from skml._training.fit import fit_network
from skml._training.infer import Predictor
from skml._training.loop import EarlyStopping as _EarlyStopping
from skml._training.trainer import Trainer

__all__ = [
    "Predictor",
    "Trainer",
    "cache_info",
    "clear_cache",
    "fit_network",
    "float32_floatx",
    "import_keras",
]

# Also imported elsewhere: ``_EarlyStopping`` (the fast path's, by ``skml._dask``).
_ = _EarlyStopping

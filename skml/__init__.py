"""skml: multi-label neural network classifiers for scikit-learn.

Importing ``skml`` is cheap: TensorFlow, Keras and scikit-learn are loaded on first use
of a public name, not at package import.
"""

import importlib
import os

# TensorFlow reads its C++ log level once, at import: keep its start-up INFO/WARNING lines quiet
# unless the user chose a level. (TF 2.21 still prints a few absl lines before this applies.)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.2.0"

_LAZY = {
    "KerasMultiLabelClassifier": "skml.classifier",
    "TunedThresholdMultiLabelClassifier": "skml.tuning",
    "CalibratedMultiLabelClassifier": "skml.calibration",
}
_SUBMODULES = {
    "datasets",
    "metrics",
    "model_selection",
    "losses",
    "thresholds",
    "resampling",
    "networks",
    "plotting",
    "classifier",
    "tuning",
    "calibration",
    "parallel",
}

__all__ = [*_LAZY, *sorted(_SUBMODULES), "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"skml.{name}")
    raise AttributeError(f"module 'skml' has no attribute {name!r}")


def __dir__():
    return __all__

"""Pickling of fitted estimators that loads in a fresh Python process.

A fitted network is a Keras model compiled with skml's registered losses. Keras pickles a
model as a ``.keras`` archive whose loss refers to ``skml>BinaryCrossentropy`` (and so on),
which only resolves once :mod:`skml.losses` has been imported. Unpickling rebuilds an object's
attributes *before* its ``__setstate__`` runs, so the model cannot simply sit in the state:
it is stored as the bytes of its own pickle, and :func:`load_state` registers skml's Keras
objects first, then rebuilds the model from those bytes.

The state also records the skml version that wrote it. A state from another version is loaded
when its format is understood; otherwise the error names both versions.
"""

import pickle

__all__ = ["dump_estimator", "dump_state", "load_estimator", "load_state"]

# Bumped whenever the pickled state changes in a way older code cannot read.
_FORMAT = 1
_KERAS_KEYS = ("model_",)


def _version():
    from skml import __version__

    return __version__


def dump_state(state):
    """The picklable copy of an estimator's ``__dict__``."""
    state = dict(state)
    state.pop("_predictor", None)
    for key in _KERAS_KEYS:
        if state.get(key) is not None:
            state[key] = _KerasBytes(_dumps_network(state[key]))
    state["_skml_version"] = _version()
    state["_skml_format"] = _FORMAT
    return state


def dump_estimator(estimator):
    """``__getstate__`` of an estimator holding a Keras network in ``model_``."""
    import numpy as np

    state = dict(estimator.__dict__)
    state.pop("_trainer", None)  # traced functions: rebuilt on the next partial_fit
    if state.get("model_") is not None:
        # Keras' pickle resets the dropout generators; keep their state, so that training
        # continued after unpickling (partial_fit, warm_start) matches the original's.
        state["_seed_states"] = [
            (i, np.asarray(v.value))
            for i, v in enumerate(estimator.model_.variables)
            if v.path.endswith("seed_generator_state")
        ]
    return dump_state(state)


def load_estimator(estimator, state):
    """``__setstate__``: the estimator's attributes, network and its prediction function."""
    state = load_state(state, type(estimator).__name__)
    seed_states = state.pop("_seed_states", ())
    estimator.__dict__.update(state)
    if estimator.__dict__.get("model_") is not None:
        from skml._training import Predictor

        variables = estimator.model_.variables
        for i, value in seed_states:
            if i < len(variables) and tuple(variables[i].shape) == value.shape:
                variables[i].assign(value)
        estimator._predictor = Predictor(estimator.model_)


def load_state(state, owner):
    """Rebuild an estimator's ``__dict__`` from :func:`dump_state`'s output.

    Parameters
    ----------
    state : dict
        The unpickled state.
    owner : str
        Class name of the estimator, for the messages.
    """
    state = dict(state)
    saved_version = state.pop("_skml_version", None)
    saved_format = state.pop("_skml_format", None)
    if saved_format is not None and saved_format > _FORMAT:
        raise ValueError(
            f"This {owner} was saved by skml {saved_version}, whose pickle format "
            f"({saved_format}) is newer than skml {_version()} reads ({_FORMAT}); install "
            f"skml {saved_version} to load it."
        )
    blobs = {k: v for k, v in state.items() if isinstance(v, _KerasBytes)}
    if blobs:
        # Register the Keras objects the networks refer to: losses and custom layers.
        import skml.losses  # noqa: F401
        import skml.networks._embeddings  # noqa: F401
        import skml.networks._tabm_layers  # noqa: F401

    for key, blob in blobs.items():
        try:
            state[key] = pickle.loads(blob.data)
        except Exception as exc:
            origin = f"skml {saved_version}" if saved_version else "an unknown skml version"
            raise ValueError(
                f"Could not rebuild the Keras network of a pickled {owner} saved by {origin} "
                f"and loaded by skml {_version()}: {type(exc).__name__}: {exc}"
            ) from exc
    return state


def _dumps_network(network):
    """The pickle of a Keras model through Keras' own ``__reduce__``.

    scikeras, once imported, replaces ``keras.Model.__reduce__`` with a function that
    re-registers the model's class under an empty package when it is not a plain Keras class
    (``">TabMNetwork"`` instead of ``"skml>TabMNetwork"``), which a fresh process cannot load.
    """
    import io

    import keras
    from keras.src.saving.keras_saveable import KerasSaveable

    # Undo such a re-registration (from an earlier pickle of the bare model, say).
    for name, obj in list(keras.saving.get_custom_objects().items()):
        if name.startswith("skml>"):
            keras.saving.register_keras_serializable("skml", name.split(">", 1)[1])(obj)

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, keras.Model):
                return KerasSaveable.__reduce__(obj)
            return NotImplemented

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(network)
    return buffer.getvalue()


class _KerasBytes:
    """The pickle of a Keras object, loaded only by :func:`load_state`."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return (_KerasBytes, (self.data,))

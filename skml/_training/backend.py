"""Keras import, the float32 ``floatx`` switch and the plumbing of traced functions."""

import contextlib
import os
import threading

__all__ = ["count_trace", "float32_floatx", "import_keras", "is_tensorflow", "lock", "trace"]

#: Guards the caches, the trace counts and the ``floatx`` switch.
lock = threading.Lock()
_stats = {"train_traces": 0, "predict_traces": 0}
_floatx_users = 0
_floatx_saved = None


def import_keras():
    """Import Keras, keeping TensorFlow's C++ start-up log quiet unless the user chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def is_tensorflow():
    """Whether Keras runs on the TensorFlow backend."""
    return import_keras().backend.backend() == "tensorflow"


@contextlib.contextmanager
def float32_floatx():
    """Keras ``floatx`` reads float32 inside, and the user's own value again after.

    skml's networks and losses are built in float32 explicitly, but Keras compiles a model's
    loss wrapper and loss tracker in ``floatx()``: with a float16 or float64 ``floatx`` (set in
    ``~/.keras/keras.json``, for example) a traced training step would mix dtypes. Concurrent
    fits share one switch, counted, so the last one out restores the user's value.
    """
    global _floatx_users, _floatx_saved
    keras = import_keras()
    with lock:
        if _floatx_users == 0:
            _floatx_saved = keras.config.floatx()
            if _floatx_saved != "float32":
                keras.config.set_floatx("float32")
        _floatx_users += 1
    try:
        yield
    finally:
        with lock:
            _floatx_users -= 1
            if _floatx_users == 0 and _floatx_saved != "float32":
                keras.config.set_floatx(_floatx_saved)


def count_trace(kind):
    """Count one trace of ``kind`` (``"train_traces"`` or ``"predict_traces"``)."""
    with lock:
        _stats[kind] += 1


def trace_counts():
    """A copy of the trace counts."""
    with lock:
        return dict(_stats)


def trace(fn, input_signature):
    """``tf.function(fn)`` with a fixed signature, without TensorFlow's retracing warning.

    TensorFlow counts traces per Python code object and warns about "excessive retracing"
    when one code object is traced for many objects, as a method of many networks is. Each
    function here has a fixed input signature and is traced once per network or architecture
    by design, so the warning would only mislead: it is turned off the way TensorFlow turns it
    off for functions it restores from a SavedModel.
    """
    import tensorflow as tf

    function = tf.function(fn, input_signature=input_signature, autograph=False)
    function._omit_frequent_tracing_warning = True
    return function

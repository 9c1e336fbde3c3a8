"""Build a user-supplied network through scikeras.

skml *wraps* scikeras rather than subclassing it. Subclassing ``scikeras.wrappers.KerasClassifier``
would bring its ``**kwargs`` constructor, its old tags API, its target encoders (which turn a
multi-label ``y`` into an argmax problem when each training row happens to carry one label) and
its seeded fit, which leaves TensorFlow's global op-determinism flag switched on; skml would
have to override nearly all of it, and importing the class would import TensorFlow. So skml owns
the scikit-learn contract, the targets and the training loop, and uses scikeras for what users of
scikeras already know: a ``model`` that is a Keras ``Model`` or a build function whose arguments
are filled by name (``meta``, ``compile_kwargs``, ``params`` and the routed ``model__*`` values).

This is the only module of skml that imports scikeras.
"""

__all__ = ["build_user_model"]


def build_user_model(model, *, model_kwargs, meta, compile_kwargs):
    """Build ``model`` with scikeras' build-function conventions.

    Parameters
    ----------
    model : keras.Model or callable
        A Keras model (cloned, so the user's instance is never trained in place) or a function
        returning one. The function receives, when its signature asks for them, ``meta`` (the
        fitted metadata such as ``n_features_in_`` and ``n_outputs_expected_``),
        ``compile_kwargs`` and the entries of ``model_kwargs`` by name.
    model_kwargs : dict or None
        Extra arguments for the build function.
    meta : dict
        Metadata of the fit, exposed to the build function as ``meta``.
    compile_kwargs : dict
        ``loss`` and ``optimizer`` skml will compile with, exposed as ``compile_kwargs``.

    Returns
    -------
    network : keras.Model
    """
    import keras
    from scikeras.wrappers import KerasClassifier

    routed = {f"model__{k}": v for k, v in (model_kwargs or {}).items()}
    wrapper = KerasClassifier(
        model=model,
        loss=compile_kwargs["loss"],
        optimizer=compile_kwargs["optimizer"],
        verbose=0,
        **routed,
    )
    wrapper._random_state = None  # skml seeds its own pipeline; no global TF seed is set
    for key, value in meta.items():
        setattr(wrapper, key, value)
    network = wrapper._build_keras_model()
    if not isinstance(network, keras.Model):
        raise TypeError(
            f"model must be a keras.Model or a function returning one; got {type(network)!r}."
        )
    if network is model:
        network = keras.models.clone_model(model)
    return network

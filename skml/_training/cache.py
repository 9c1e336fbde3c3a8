"""Reuse of traced functions across fits: cache keys, template networks, an LRU of each.

The traced training functions are cached by everything that shapes the graph (architecture
up to seeds and layer names, loss, optimizer class and settings but its learning rate, batch
size, the layout of the rows and the shape of the targets). They run on a private *template*
copy of the network: a fit of a configuration seen before loads its fresh weights into the
template, trains, and copies the result back, without tracing again. This matters in grid
searches, where tracing otherwise dominates the fit of small networks. (Keras'
``Optimizer.stateless_apply`` is not available on TensorFlow, so the graph cannot take the
weights as inputs; copying them in and out costs one assign per variable.)

The inference functions of :mod:`skml._training.infer` are cached the same way, by
architecture.
"""

import hashlib
from collections import OrderedDict

import numpy as np

from skml._training import backend
from skml._training.backend import import_keras, lock
from skml._training.epoch import EpochRunner

__all__ = ["cache_get", "cache_info", "clear_cache", "model_key", "predict_cache", "runner"]

# Networks larger than this train and predict on their own variables instead of a cached
# template: tracing is then negligible next to the work, and a template would double memory.
_MAX_CACHED_PARAMS = 5_000_000
_CACHE_SIZE = 8

_train_cache = OrderedDict()
predict_cache = OrderedDict()


def cache_info():
    """Counts of traced functions and cached entries, for tests and diagnostics."""
    with lock:
        return {
            **backend._stats,
            "train_entries": len(_train_cache),
            "predict_entries": len(predict_cache),
        }


def clear_cache():
    """Drop every cached traced function (and the template networks they hold)."""
    with lock:
        _train_cache.clear()
        predict_cache.clear()


def cache_get(cache, key, make):
    """``cache[key]``, made on a miss, least recently used entries evicted."""
    with lock:
        entry = cache.get(key)
        if entry is not None:
            cache.move_to_end(key)
            return entry
    entry = make()
    with lock:
        entry = cache.setdefault(key, entry)
        cache.move_to_end(key)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return entry


# --------------------------------------------------------------------------- keys


def _freeze(obj):
    """A hashable, type-exact copy of a Keras config, or TypeError."""
    if isinstance(obj, dict):
        return ("dict", tuple(sorted((str(k), _freeze(v)) for k, v in obj.items())))
    if isinstance(obj, (list, tuple)):
        return ("seq", tuple(_freeze(v) for v in obj))
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return (type(obj).__name__, obj)
    if isinstance(obj, np.generic):
        return (type(obj).__name__, obj.item())
    if isinstance(obj, np.ndarray):
        digest = hashlib.sha1(np.ascontiguousarray(obj).tobytes()).hexdigest()
        return ("ndarray", obj.dtype.str, obj.shape, digest)
    raise TypeError(f"cannot key on {type(obj).__name__}")


def _without_seeds(config):
    """Drop the ``seed`` of every Keras or skml object in ``config``.

    Keras initialisers only run when variables are created, and Keras' random layers keep
    their generator state in a variable, so the seeds are not part of the traced graph. skml's
    own layers (:mod:`skml.networks`) use their seeds for their initialisers only.
    """
    if isinstance(config, dict):
        out = {k: _without_seeds(v) for k, v in config.items()}
        inner = out.get("config")
        module = str(out.get("module", ""))
        if module.startswith(("keras", "skml.networks.")) and isinstance(inner, dict):
            out["config"] = {k: v for k, v in inner.items() if k != "seed"}
        return out
    if isinstance(config, (list, tuple)):
        return [_without_seeds(v) for v in config]
    return config


def _from_keras(obj, *prefixes):
    return type(obj).__module__.startswith(("keras.", *prefixes))


def _all_layers(layer):
    yield layer
    for sub in getattr(layer, "layers", ()):
        yield from _all_layers(sub)


def model_key(model):
    """Key of the network's architecture, or None when it cannot be trusted to describe it."""
    keras_model = type(model).__name__ in ("Functional", "Sequential") and _from_keras(model)
    # skml's own networks (TabM) describe themselves fully in their config, seeds aside.
    if not (keras_model or getattr(type(model), "_skml_cacheable", False)):
        return None
    layers = _all_layers(model)
    if not model.built or not all(_from_keras(layer, "skml.networks.") for layer in layers):
        return None
    if model.count_params() > _MAX_CACHED_PARAMS:
        return None
    try:
        config = _without_seeds(model.get_config())
        return _freeze(_canonical_names(config, _layer_names(config)))
    except (TypeError, NotImplementedError, KeyError, ValueError):
        return None


def _layer_names(config, names=None):
    """Position of every layer name of a Sequential or Functional config (nested included)."""
    names = {} if names is None else names
    names.setdefault(config["name"], f"\x00layer{len(names)}")
    for entry in config.get("layers", ()):
        inner = entry["config"]
        if "layers" in inner:
            _layer_names(inner, names)
        else:
            names.setdefault(inner["name"], f"\x00layer{len(names)}")
    return names


def _canonical_names(config, names):
    """``config`` with its layer names replaced by their positions, where they are names.

    Layer names only wire the graph: a build function called twice makes "dense_3", then
    "dense_7", and both builds must share one key. Only the places that hold a layer name
    are rewritten, never a value that happens to equal one (an activation called "relu").
    """

    def ref(item):  # [name, node_index, tensor_index]
        if isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            return [names.get(item[0], item[0]), *item[1:]]
        if isinstance(item, (list, tuple)):
            return [ref(x) for x in item]
        return item

    def history(obj):
        if isinstance(obj, dict):
            return {k: ref(v) if k == "keras_history" else history(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [history(v) for v in obj]
        return obj

    config = dict(config)
    config["name"] = names[config["name"]]
    for key in ("input_layers", "output_layers"):
        if key in config:
            config[key] = ref(config[key])
    layers = []
    for entry in config.get("layers", ()):
        entry = dict(entry)
        inner = dict(entry["config"])
        if "layers" in inner:
            inner = _canonical_names(inner, names)
        else:
            inner["name"] = names[inner["name"]]
        entry["config"] = inner
        if "name" in entry:
            entry["name"] = names.get(entry["name"], entry["name"])
        if "inbound_nodes" in entry:
            entry["inbound_nodes"] = history(entry["inbound_nodes"])
        layers.append(entry)
    if "layers" in config:
        config["layers"] = layers
    return config


def loss_key(loss):
    """Key of a Keras or skml loss, or None."""
    keras = import_keras()
    if isinstance(loss, keras.losses.Loss) and _from_keras(loss, "skml."):
        config = {k: v for k, v in loss.get_config().items() if k != "name"}
        try:
            return (type(loss).__module__, type(loss).__qualname__, _freeze(config))
        except (TypeError, NotImplementedError):
            return None
    if callable(loss) and getattr(loss, "__module__", "").startswith(("keras.", "skml.")):
        return ("function", loss)
    return None


def optimizer_key(optimizer):
    """Key of a Keras optimizer, its learning rate left out (a variable, not traced), or None."""
    if not _from_keras(optimizer):
        return None
    config = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    if isinstance(config.get("learning_rate"), float):
        config.pop("learning_rate")  # a variable of the optimizer: loaded, not traced
    try:
        return (type(optimizer).__qualname__, _freeze(config))
    except TypeError:
        return None


# --------------------------------------------------------------------------- templates


def _seeded(config):
    """``config`` with every unset Keras seed set to 0.

    The template's weights and generator states are always loaded from the network being
    trained, so its seeds are irrelevant; fixing them keeps cloning off Keras' global RNG.
    """
    if isinstance(config, dict):
        out = {k: _seeded(v) for k, v in config.items()}
        if "seed" in out and out["seed"] is None:
            out["seed"] = 0
        return out
    if isinstance(config, list):
        return [_seeded(v) for v in config]
    return config


def _make_template(network, loss, optimizer):
    keras = import_keras()

    def clone(layer):
        return type(layer).from_config(_seeded(layer.get_config()))

    template = keras.models.clone_model(network, clone_function=clone)
    template.compile(
        optimizer=type(optimizer).from_config(optimizer.get_config()),
        loss=loss,
        jit_compile=network.jit_compile,
    )
    return template


def _same_layout(a, b):
    va, vb = a.variables, b.variables
    return len(va) == len(vb) and all(
        tuple(x.shape) == tuple(y.shape) and x.dtype == y.dtype for x, y in zip(va, vb)
    )


def _same_optimizer_layout(a, b):
    if not b.built:
        return True  # built on first use, over the same trainable variables as the template's
    va, vb = a.variables, b.variables
    return len(va) == len(vb) and all(tuple(x.shape) == tuple(y.shape) for x, y in zip(va, vb))


def runner(network, loss, optimizer, *, batch_size, layout, target_shape):
    """An :class:`EpochRunner` for this fit, locked for the caller: a cached one on a
    template, or a fresh one on ``network`` itself when the configuration has no trusted key
    or its template is busy."""
    kwargs = dict(batch_size=batch_size, layout=layout, target_shape=tuple(target_shape))

    def fresh():
        own = EpochRunner(network, **kwargs)
        own.lock.acquire()
        return own

    parts = (model_key(network), loss_key(loss), optimizer_key(optimizer))
    if any(part is None for part in parts) or network.dtype_policy.name != "float32":
        return fresh()
    key = (*parts, batch_size, layout.key, tuple(target_shape), network.jit_compile)
    cached = cache_get(
        _train_cache,
        key,
        lambda: EpochRunner(_make_template(network, loss, optimizer), **kwargs),
    )
    # A concurrent fit (threads) of the same configuration holds the template: do not wait.
    if (
        not _same_layout(cached.model, network)
        or not _same_optimizer_layout(cached.model.optimizer, optimizer)
        or not cached.lock.acquire(blocking=False)
    ):
        return fresh()
    return cached

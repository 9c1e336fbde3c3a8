"""Training and inference machinery shared by skml's estimators (Keras, no scikit-learn).

Training
    Every epoch visits the training rows in the order of a stateless permutation keyed by
    ``(seed, epoch)``, so training is reproducible without touching any global random state.

    * TensorFlow backend (the fast path): the whole training set goes into one ``tf.function``
      call per epoch, which runs a ``tf.while_loop`` that gathers each batch and calls the
      model's own ``train_step``, so the loss, sample weights, regularisation, optimizer (and
      any override of them) behave exactly as in ``Model.fit``; a second function evaluates
      the validation loss. No ``tf.data`` pipeline, no per-batch Python work, and the early
      stopping of ``keras.callbacks.EarlyStopping(restore_best_weights=True)``.
    * The traced functions are cached by everything that shapes the graph (architecture up to
      seeds and layer names, loss, optimizer class and settings but its learning rate, batch
      size, input and output shapes). They run on a private *template* copy of the network: a
      fit of a configuration seen before loads its fresh weights into the template, trains,
      and copies the result back, without tracing again. This matters in grid searches, where
      tracing otherwise dominates the fit of small networks. (Keras'
      ``Optimizer.stateless_apply`` is not available on TensorFlow, so the graph cannot take
      the weights as inputs; copying them in and out costs one assign per variable.)
    * Other backends use ``Model.fit`` on a ``tf.data`` pipeline that yields the same
      permutations, with the same early stopping; ``train(..., fast=False)`` does so on
      TensorFlow too, and gives the same network as the fast path.

Inference (``Predictor``)
    On TensorFlow, a model's first calls go through one ``tf.function`` per architecture that
    calls ``model.stateless_call`` with the fitted weights as inputs (nothing is traced for a
    new model of a known architecture); later calls through a function traced for the model
    itself, the cheapest to call. Both have a fixed input signature: no retracing between
    calls of different sizes. Other backends call the model.
"""

import contextlib
import hashlib
import os
import sys
import threading
from collections import OrderedDict

import numpy as np

_PREDICT_CHUNK = 65_536
_EVAL_BATCH_SIZE = 1024
# Networks larger than this train and predict on their own variables instead of a cached
# template: tracing is then negligible next to the work, and a template would double memory.
_MAX_CACHED_PARAMS = 5_000_000
_CACHE_SIZE = 8

_lock = threading.Lock()
_train_cache = OrderedDict()
_predict_cache = OrderedDict()
_stats = {"train_traces": 0, "predict_traces": 0}


def import_keras():
    """Import Keras, keeping TensorFlow's C++ start-up log quiet unless the user chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


_floatx_users = 0
_floatx_saved = None


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
    with _lock:
        if _floatx_users == 0:
            _floatx_saved = keras.config.floatx()
            if _floatx_saved != "float32":
                keras.config.set_floatx("float32")
        _floatx_users += 1
    try:
        yield
    finally:
        with _lock:
            _floatx_users -= 1
            if _floatx_users == 0 and _floatx_saved != "float32":
                keras.config.set_floatx(_floatx_saved)


def _is_tensorflow():
    return import_keras().backend.backend() == "tensorflow"


def cache_info():
    """Counts of traced functions and cached entries, for tests and diagnostics."""
    with _lock:
        return {
            **_stats,
            "train_entries": len(_train_cache),
            "predict_entries": len(_predict_cache),
        }


def clear_cache():
    """Drop every cached traced function (and the template networks they hold)."""
    with _lock:
        _train_cache.clear()
        _predict_cache.clear()


# --------------------------------------------------------------------------- data


def _permutation(n_samples, seed, epoch):
    """Order of the rows in ``epoch``: a stateless shuffle keyed by ``(seed, epoch)``."""
    import tensorflow as tf

    key = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(
        tf.range(n_samples, dtype=tf.int64), seed=key, alg="philox"
    )


def make_dataset(X, y, sample_weight, *, batch_size, shuffle, seed, epochs=1, first_epoch=0):
    """Return a ``tf.data.Dataset`` of ``(X, y, sample_weight)`` batches.

    With ``shuffle``, the dataset holds ``epochs`` passes one after the other, epoch ``e``
    in the order of ``_permutation(n_samples, seed, e)``: the order the fast path uses.
    Epochs are numbered from ``first_epoch`` (a warm-started fit continues the numbering).
    """
    import tensorflow as tf

    n_samples = X.shape[0]
    tensors = tuple(tf.constant(a) for a in (X, y, sample_weight))

    def gather(idx):
        return tuple(tf.gather(t, idx) for t in tensors)

    if shuffle:
        ds = tf.data.Dataset.range(first_epoch, first_epoch + epochs).flat_map(
            lambda epoch: tf.data.Dataset.from_tensor_slices(
                _permutation(n_samples, seed, epoch)
            ).batch(batch_size)
        )
    else:
        ds = tf.data.Dataset.range(n_samples).batch(batch_size)
    return ds.map(gather).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- progress


def progress_callback(epochs):
    """A callback printing one progress bar over epochs, with the epoch's logs."""
    keras = import_keras()

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._progress = _EpochBar(epochs)

        def on_epoch_end(self, epoch, logs=None):
            self._progress.update(epoch, logs)

        def on_train_end(self, logs=None):
            self._progress.close()

    return EpochProgress()


class _EpochBar:
    """One progress bar over epochs (``verbose=1``)."""

    def __init__(self, epochs):
        keras = import_keras()
        self.epochs = epochs
        self._done = 0
        self._bar = keras.utils.Progbar(target=epochs, unit_name="epoch")

    def update(self, epoch, logs):
        values = [(k, float(v)) for k, v in (logs or {}).items()]
        self._done = epoch + 1
        self._bar.update(epoch + 1, values=values, finalize=epoch + 1 == self.epochs)

    def close(self):
        if self._done < self.epochs:  # stopped early: close the line
            sys.stdout.write("\n")
            sys.stdout.flush()


class _EpochLines:
    """One line per epoch (``verbose=2``), as ``Model.fit(verbose=2)`` prints them."""

    def __init__(self, epochs, n_batches):
        self.epochs = epochs
        self.n_batches = n_batches

    def start_epoch(self, epoch):
        keras = import_keras()
        sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")
        self._bar = keras.utils.Progbar(target=self.n_batches, verbose=2)

    def update(self, epoch, logs):
        self._bar.update(self.n_batches, values=list(logs.items()), finalize=True)

    def close(self):
        pass


class _EarlyStopping:
    """``keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True)``."""

    def __init__(self, patience):
        self.patience = patience
        self.wait = 0
        self.best = None
        self.best_weights = None

    def update(self, epoch, val_loss, snapshot):
        """Record the epoch; return True when training must stop."""
        if self.best_weights is None:
            self.best_weights = snapshot()
        self.wait += 1
        if self.best is None or val_loss < self.best:
            self.best = val_loss
            self.best_weights = snapshot()
            self.wait = 0
            return False
        return self.wait >= self.patience and epoch > 0


# --------------------------------------------------------------------------- cache keys


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
    """Drop the ``seed`` of every Keras object in ``config``.

    Keras initialisers only run when variables are created, and Keras' random layers keep
    their generator state in a variable, so the seeds are not part of the traced graph.
    """
    if isinstance(config, dict):
        out = {k: _without_seeds(v) for k, v in config.items()}
        inner = out.get("config")
        if str(out.get("module", "")).startswith("keras") and isinstance(inner, dict):
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


def _model_key(model):
    """Key of the network's architecture, or None when it cannot be trusted to describe it."""
    if type(model).__name__ not in ("Functional", "Sequential") or not _from_keras(model):
        return None
    if not model.built or not all(_from_keras(layer) for layer in _all_layers(model)):
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


def _loss_key(loss):
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


def _optimizer_key(optimizer):
    if not _from_keras(optimizer):
        return None
    config = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    if isinstance(config.get("learning_rate"), float):
        config.pop("learning_rate")  # a variable of the optimizer: loaded, not traced
    try:
        return (type(optimizer).__qualname__, _freeze(config))
    except TypeError:
        return None


def _cache_get(cache, key, make):
    """``cache[key]``, made on a miss, least recently used entries evicted."""
    with _lock:
        entry = cache.get(key)
        if entry is not None:
            cache.move_to_end(key)
            return entry
    entry = make()
    with _lock:
        entry = cache.setdefault(key, entry)
        cache.move_to_end(key)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return entry


# --------------------------------------------------------------------------- fast training


class _EpochRunner:
    """Traced epoch and evaluation functions over one compiled network.

    ``model`` is either the network being trained (no copies) or a private template shared
    by fits of the same configuration (``load`` and ``store`` copy the state in and out).
    """

    def __init__(self, model, *, batch_size, x_spec, y_spec):
        import tensorflow as tf

        self.model = model
        self.batch_size = batch_size
        self.lock = threading.Lock()
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        # Initial optimizer state (zero moments, zero iterations), restored before each fit.
        self._optimizer_init = [tf.identity(v.value) for v in optimizer.variables]
        w_spec = tf.TensorSpec([None], tf.float32)
        seed_spec = tf.TensorSpec([2], tf.int64)
        self.train_epoch = _trace(self._train_epoch, [x_spec, y_spec, w_spec, seed_spec])
        self.evaluate = _trace(self._evaluate, [x_spec, y_spec, w_spec])
        step = model.train_step
        if model.jit_compile:  # as Model.fit does: XLA for the step, on accelerators
            step = tf.function(step, jit_compile=True, reduce_retracing=True)
        self._step = step

    def _train_epoch(self, X, y, sample_weight, key):
        import tensorflow as tf

        with _lock:
            _stats["train_traces"] += 1
        model = self.model
        model.reset_metrics()
        n_samples = tf.shape(X, out_type=tf.int64)[0]
        order = _permutation(n_samples, key[0], key[1])
        batch_size = tf.constant(self.batch_size, tf.int64)
        n_batches = (n_samples + batch_size - 1) // batch_size

        def body(i):
            idx = order[i * batch_size : (i + 1) * batch_size]
            with tf.device("/CPU:0"):  # the data stays in host memory; batches travel
                batch = tuple(tf.gather(t, idx) for t in (X, y, sample_weight))
            self._step(batch)
            return (i + 1,)

        tf.while_loop(lambda i: i < n_batches, body, (tf.constant(0, tf.int64),))
        return model.get_metrics_result()

    def _evaluate(self, X, y, sample_weight):
        import tensorflow as tf

        with _lock:
            _stats["train_traces"] += 1
        model = self.model
        model.reset_metrics()
        n_samples = tf.shape(X, out_type=tf.int64)[0]
        chunk = tf.constant(max(self.batch_size, _EVAL_BATCH_SIZE), tf.int64)

        def body(start):
            stop = start + chunk
            model.test_step((X[start:stop], y[start:stop], sample_weight[start:stop]))
            return (stop,)

        tf.while_loop(lambda s: s < n_samples, body, (tf.constant(0, tf.int64),))
        return model.get_metrics_result()

    def load(self, network, optimizer, resume=False):
        """Copy ``network``'s weights into the template, and a fresh optimizer state (or,
        with ``resume``, ``optimizer``'s own state: moments and iteration count)."""
        if network is self.model:
            return
        template = self.model
        for target, source in zip(template.variables, network.variables):
            target.assign(source.value)
        if resume:
            if not optimizer.built:
                optimizer.build(network.trainable_variables)
            for target, source in zip(template.optimizer.variables, optimizer.variables):
                target.assign(source.value)
            return
        for target, value in zip(template.optimizer.variables, self._optimizer_init):
            target.assign(value)
        learning_rate = optimizer.get_config().get("learning_rate")
        if isinstance(learning_rate, float):
            template.optimizer.learning_rate = learning_rate

    def snapshot(self):
        """The current weights (as ``Model.get_weights``: random generator states excluded)."""
        import tensorflow as tf

        return [tf.identity(v.value) for v in self.model.weights]

    def store(self, network, optimizer, best_weights):
        """Copy the trained state to ``network`` and ``optimizer``; then ``best_weights``."""
        if network is not self.model:
            for target, source in zip(network.variables, self.model.variables):
                target.assign(source.value)
            if not optimizer.built:
                optimizer.build(network.trainable_variables)
            for target, source in zip(optimizer.variables, self.model.optimizer.variables):
                target.assign(source.value)
        if best_weights is not None:
            for target, value in zip(network.weights, best_weights):
                target.assign(value)


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


def _runner(network, loss, optimizer, *, batch_size, X, y):
    """An ``_EpochRunner`` for this fit: a cached one (locked for the caller) or a fresh one."""
    import tensorflow as tf

    x_spec = tf.TensorSpec([None, *X.shape[1:]], tf.float32)
    y_spec = tf.TensorSpec([None, *y.shape[1:]], tf.float32)

    def fresh():
        runner = _EpochRunner(network, batch_size=batch_size, x_spec=x_spec, y_spec=y_spec)
        runner.lock.acquire()
        return runner

    parts = (_model_key(network), _loss_key(loss), _optimizer_key(optimizer))
    if any(part is None for part in parts) or network.dtype_policy.name != "float32":
        return fresh()
    key = (*parts, batch_size, tuple(X.shape[1:]), tuple(y.shape[1:]), network.jit_compile)
    runner = _cache_get(
        _train_cache,
        key,
        lambda: _EpochRunner(
            _make_template(network, loss, optimizer),
            batch_size=batch_size,
            x_spec=x_spec,
            y_spec=y_spec,
        ),
    )
    # A concurrent fit (threads) of the same configuration holds the template: do not wait.
    if (
        not _same_layout(runner.model, network)
        or not _same_optimizer_layout(runner.model.optimizer, optimizer)
        or not runner.lock.acquire(blocking=False)
    ):
        return fresh()
    return runner


def _train_fast(
    network,
    *,
    loss,
    optimizer,
    train,
    validation,
    epochs,
    batch_size,
    patience,
    seed,
    verbose,
    first_epoch=0,
    resume=False,
):
    import tensorflow as tf

    X, y, sample_weight = (tf.convert_to_tensor(a, tf.float32) for a in train)
    if validation is not None:
        validation = tuple(tf.convert_to_tensor(a, tf.float32) for a in validation)
    runner = _runner(network, loss, optimizer, batch_size=batch_size, X=train[0], y=train[1])
    try:
        runner.load(network, optimizer, resume=resume)
        history = {}
        n_batches = -(-train[0].shape[0] // batch_size)
        progress = None
        if verbose == 1:
            progress = _EpochBar(epochs)
        elif verbose >= 2:
            progress = _EpochLines(epochs, n_batches)
        stopping = _EarlyStopping(patience) if validation is not None else None
        for epoch in range(epochs):
            if verbose >= 2:
                progress.start_epoch(epoch)
            key = tf.constant([seed, first_epoch + epoch], tf.int64)
            logs = {k: float(v) for k, v in runner.train_epoch(X, y, sample_weight, key).items()}
            if validation is not None:
                val_logs = runner.evaluate(*validation)
                logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
            for k, v in logs.items():
                history.setdefault(k, []).append(v)
            if progress is not None:
                progress.update(epoch, logs)
            val_loss = logs.get("val_loss")  # None for a model whose metrics lack the loss
            if stopping is not None and val_loss is not None:
                if stopping.update(epoch, val_loss, runner.snapshot):
                    break
        if progress is not None:
            progress.close()
        # As Model.fit: an optimizer keeping moving averages (use_ema) writes them now.
        runner.model.optimizer.finalize_variable_values(runner.model.trainable_variables)
        runner.store(network, optimizer, None if stopping is None else stopping.best_weights)
    finally:
        runner.lock.release()
    return history


# --------------------------------------------------------------------------- Keras fit


def _steps_per_execution(n_batches):
    """The largest divisor of ``n_batches`` up to 64: executions never straddle epochs."""
    for steps in range(min(n_batches, 64), 0, -1):
        if n_batches % steps == 0:
            return steps
    return 1


def _train_keras(
    network,
    *,
    train,
    validation,
    epochs,
    batch_size,
    patience,
    seed,
    verbose,
    first_epoch=0,
    resume=False,
):
    keras = import_keras()
    import tensorflow as tf

    n_batches = -(-train[0].shape[0] // batch_size)
    # Under a tf.distribute strategy, Keras' multi-step execution fails on the partial last
    # batch ("You must feed a value for placeholder tensor"): run one step per call there.
    distributed = _is_tensorflow() and tf.distribute.has_strategy()
    network.compile(
        optimizer=network.optimizer,
        loss=network.loss,
        steps_per_execution=1 if distributed else _steps_per_execution(n_batches),
    )
    # Compiling again keeps the optimizer object, and so its state (``resume``).
    train_ds = make_dataset(
        *train,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        epochs=epochs,
        first_epoch=first_epoch,
    )
    callbacks = []
    val_ds = None
    if validation is not None:
        val_ds = make_dataset(
            *validation, batch_size=max(batch_size, _EVAL_BATCH_SIZE), shuffle=False, seed=None
        )
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        )
    if verbose == 1:
        callbacks.append(progress_callback(epochs))
    history = network.fit(
        train_ds,
        epochs=epochs,
        steps_per_epoch=n_batches,
        validation_data=val_ds,
        callbacks=callbacks,
        shuffle=False,  # the dataset holds every epoch's permutation
        verbose=2 if verbose >= 2 else 0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def train(
    network,
    *,
    loss,
    optimizer,
    train,
    validation,
    epochs,
    batch_size,
    patience,
    seed,
    verbose,
    fast=True,
    first_epoch=0,
    resume=False,
):
    """Train ``network`` in place and return its history.

    Parameters
    ----------
    network : keras.Model
        Uncompiled network; compiled here with ``loss`` and ``optimizer``. With ``resume``,
        a compiled network whose training continues.
    loss, optimizer : keras objects
        Ignored with ``resume`` (the network's own are used).
    train : tuple of ndarray
        ``(X, y, sample_weight)``, float32.
    validation : tuple of ndarray or None
        Held-out ``(X, y, sample_weight)``; when given, training stops after ``patience``
        epochs without improvement of its loss and the best weights are restored.
    epochs, batch_size, patience : int
    seed : int
        Seed of the per-epoch shuffling.
    verbose : int
        0 silent, 1 one progress bar over epochs, 2 one line per epoch.
    fast : bool, default=True
        Use the traced epoch loop on the TensorFlow backend; False always uses ``Model.fit``
        (same shuffling and early stopping: the two give the same network).
    first_epoch : int, default=0
        Number of the first epoch, which keys its shuffle: a continued training passes the
        number of epochs already run, so it never repeats an order.
    resume : bool, default=False
        Continue the training of a compiled network: keep its optimizer state (Adam moments,
        iteration count) instead of starting from a fresh one.

    Returns
    -------
    history : dict of str to list of float
        ``loss`` (and ``val_loss``) per epoch.
    """
    if not resume:
        network.compile(optimizer=optimizer, loss=loss)
    kwargs = dict(
        train=train,
        validation=validation,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        verbose=verbose,
        first_epoch=first_epoch,
        resume=resume,
    )
    if fast and _is_tensorflow():
        return _train_fast(network, loss=loss, optimizer=network.optimizer, **kwargs)
    return _train_keras(network, **kwargs)


def fit_network(
    network,
    *,
    loss,
    optimizer,
    X,
    y,
    sample_weight,
    train_rows,
    val_rows,
    epochs,
    batch_size,
    patience,
    seed,
    verbose,
    fast=True,
    first_epoch=0,
    resume=False,
):
    """Train ``network`` in place on the rows ``train_rows`` of ``X``; return its history.

    Parameters
    ----------
    network : keras.Model
        Uncompiled network; compiled here with ``loss`` and ``optimizer``. With ``resume``,
        a compiled network whose training continues with its own optimizer state.
    loss, optimizer : keras objects
        Ignored with ``resume``.
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, ...)
        float32 features; a CSR matrix is never densified whole.
    y : ndarray of shape (n_samples, n_outputs)
        float32 targets.
    sample_weight : ndarray of shape (n_samples,)
        float32 weights.
    train_rows : ndarray of int
        Rows of ``X`` to train on.
    val_rows : ndarray of int or None
        Held-out rows: training stops after ``patience`` epochs without improvement of their
        loss and the best weights are restored. None: no early stopping.
    epochs, batch_size, patience : int
    seed : int
        Seed of the per-epoch shuffling (a stateless permutation keyed by ``(seed, epoch)``).
    verbose : int
        0 silent, 1 one progress bar over epochs, 2 one line per epoch.
    fast : bool, default=True
        Use the traced epoch loop on TensorFlow; False goes through ``Model.fit`` (as under a
        ``tf.distribute`` strategy, whose scope the caller has entered).
    first_epoch : int, default=0
        Number of the first epoch, which keys its shuffle.
    resume : bool, default=False
        Continue the training of a compiled network (keep its optimizer state).

    Returns
    -------
    history : dict of str to list of float
        ``loss`` (and ``val_loss``) per epoch.
    """
    import scipy.sparse as sp

    if sp.issparse(X):
        from skml._sparse import train_sparse

        if resume:
            loss, optimizer = network.loss, network.optimizer
        return train_sparse(
            network,
            loss=loss,
            optimizer=optimizer,
            X=sp.csr_matrix(X),
            y=y,
            sample_weight=sample_weight,
            train_rows=train_rows,
            val_rows=val_rows,
            epochs=epochs,
            batch_size=batch_size,
            patience=patience,
            seed=seed,
            verbose=verbose,
        )
    train_data = (X[train_rows], y[train_rows], sample_weight[train_rows])
    validation = None
    if val_rows is not None:
        validation = (X[val_rows], y[val_rows], sample_weight[val_rows])
    return train(
        network,
        loss=loss,
        optimizer=optimizer,
        train=train_data,
        validation=validation,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        verbose=verbose,
        fast=fast,
        first_epoch=first_epoch,
        resume=resume,
    )


class Trainer:
    """One network trained by successive calls, each one pass over the rows it is given.

    ``partial_fit`` and training on Dask blocks use it: the optimizer state (Adam moments,
    iteration count) and the random generator states of the network persist from call to
    call, as over the epochs of one ``train``. On TensorFlow each call runs the traced epoch
    of the fast path, traced once for this network on the first call. Other backends (and
    ``fast=False``) call ``Model.fit``.

    Parameters
    ----------
    network : keras.Model
        A network compiled with its loss and optimizer.
    batch_size : int
    fast : bool, default=True
        Use the traced epoch on TensorFlow (False: ``Model.fit``, as under a strategy).
    """

    def __init__(self, network, *, batch_size, fast=True):
        self.network = network
        self.batch_size = batch_size
        self.fast = fast and _is_tensorflow()
        self._own = None  # a runner on the network itself, kept between calls

    def _acquire(self, X, y):
        # A runner on the network itself, not a cached template: calls are many (chunks,
        # blocks), and copying the weights and optimizer state in and out of a template at
        # every call would cost more than the one trace.
        import tensorflow as tf

        if self._own is None:
            self._own = _EpochRunner(
                self.network,
                batch_size=self.batch_size,
                x_spec=tf.TensorSpec([None, *X.shape[1:]], tf.float32),
                y_spec=tf.TensorSpec([None, *y.shape[1:]], tf.float32),
            )
        self._own.lock.acquire()
        return self._own

    def epoch(self, X, y, sample_weight, key):
        """One pass over ``(X, y, sample_weight)`` in the order keyed by ``key = (seed, n)``.

        Returns
        -------
        logs : dict of str to float
            The epoch's mean ``loss`` (and any compiled metric).
        """
        X, y, sample_weight = (np.asarray(a, dtype=np.float32) for a in (X, y, sample_weight))
        if not self.fast:
            order = _permutation(X.shape[0], key[0], key[1]).numpy()
            history = self.network.fit(
                X[order],
                y[order],
                sample_weight=sample_weight[order],
                batch_size=self.batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
            )
            return {k: float(v[-1]) for k, v in history.history.items()}
        import tensorflow as tf

        network = self.network
        runner = self._acquire(X, y)
        try:
            runner.load(network, network.optimizer, resume=True)
            logs = runner.train_epoch(
                tf.convert_to_tensor(X),
                tf.convert_to_tensor(y),
                tf.convert_to_tensor(sample_weight),
                tf.constant([int(key[0]), int(key[1])], tf.int64),
            )
            logs = {k: float(v) for k, v in logs.items()}
            runner.store(network, network.optimizer, None)
        finally:
            runner.lock.release()
        return logs

    def evaluate(self, X, y, sample_weight):
        """Mean loss (and metrics) of the network on ``(X, y, sample_weight)``."""
        X, y, sample_weight = (np.asarray(a, dtype=np.float32) for a in (X, y, sample_weight))
        if not self.fast:
            return self.network.evaluate(
                X,
                y,
                sample_weight=sample_weight,
                batch_size=max(self.batch_size, _EVAL_BATCH_SIZE),
                return_dict=True,
                verbose=0,
            )
        import tensorflow as tf

        runner = self._acquire(X, y)
        try:
            runner.load(self.network, self.network.optimizer, resume=True)
            logs = runner.evaluate(*(tf.convert_to_tensor(a) for a in (X, y, sample_weight)))
            return {k: float(v) for k, v in logs.items()}
        finally:
            runner.lock.release()

    def finish(self):
        """As at the end of ``Model.fit``: an optimizer with ``use_ema`` writes its averages."""
        network = self.network
        if network.optimizer is not None and network.optimizer.built:
            network.optimizer.finalize_variable_values(network.trainable_variables)


# --------------------------------------------------------------------------- inference


def _trace(fn, input_signature):
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


def _state(model):
    return model.trainable_variables + model.non_trainable_variables


class _Forward:
    """``model.stateless_call(weights, x, training=False)`` traced once per architecture.

    Every model of the architecture shares the trace; the weights come in as inputs.
    """

    def __init__(self, template, x_spec):
        import tensorflow as tf

        self.template = template
        specs = [tf.TensorSpec(v.shape, v.dtype) for v in _state(template)]
        self._fn = _trace(self._forward, [specs, x_spec])

    def _forward(self, weights, x):
        with _lock:
            _stats["predict_traces"] += 1
        template = self.template
        n_trainable = len(template.trainable_variables)
        outputs, _ = template.stateless_call(
            weights[:n_trainable], weights[n_trainable:], x, training=False
        )
        return outputs

    def __call__(self, model, x):
        return self._fn([v.value for v in _state(model)], x)


def _closure_forward(model, x_spec):
    """A forward function that reads ``model``'s variables itself: traced per model, but the
    cheapest to call (no weights to bind), which is what one-row latency needs."""

    def forward(x):
        with _lock:
            _stats["predict_traces"] += 1
        return model(x, training=False)

    fn = _trace(forward, [x_spec])
    return lambda model, x: fn(x)


def _shared_forward(model, x_spec):
    """The architecture's shared ``_Forward``, or None when the model has no trusted key."""
    key = _model_key(model)
    if key is None:
        return None
    if len(model.trainable_variables) + len(model.non_trainable_variables) != len(model.variables):
        return None
    # The template only lends its structure: the first model of each architecture serves.
    key = (key, tuple(x_spec.shape[1:]))
    return _cache_get(_predict_cache, key, lambda: _Forward(model, x_spec))


class Predictor:
    """Fast, picklable-by-omission inference for a fitted Keras model.

    On TensorFlow the first calls go through the forward function shared by every model of
    the same architecture (no tracing: a grid search scores each fitted model once or twice);
    from the ``_OWN_TRACE_AFTER``-th call on, a function traced for this model alone, which
    halves the per-call overhead (``predict_proba`` of one row in a service).
    """

    _OWN_TRACE_AFTER = 3

    def __init__(self, model):
        self.model = model
        self._calls = 0
        self._fn = None
        self._own = False

    def _compiled(self):
        if not _is_tensorflow():
            return None
        self._calls += 1
        if self._own:
            return self._fn
        import tensorflow as tf

        x_spec = tf.TensorSpec((None, *self.model.input_shape[1:]), tf.float32)
        if self._calls < self._OWN_TRACE_AFTER:
            if self._fn is None:
                self._fn = _shared_forward(self.model, x_spec)
            if self._fn is not None:
                return self._fn
        self._fn = _closure_forward(self.model, x_spec)
        self._own = True
        return self._fn

    def __call__(self, X):
        """Return the model's outputs for ``X`` (ndarray or CSR matrix) as a float64 ndarray."""
        import scipy.sparse as sp

        if sp.issparse(X):
            from skml._sparse import predict_sparse

            return predict_sparse(self.model, self, X)
        keras = import_keras()
        X = np.asarray(X, dtype=np.float32)
        fn = self._compiled()
        out = []
        for start in range(0, max(X.shape[0], 1), _PREDICT_CHUNK):
            chunk = X[start : start + _PREDICT_CHUNK]
            if fn is not None:
                out.append(fn(self.model, chunk).numpy())
            else:
                out.append(keras.ops.convert_to_numpy(self.model(chunk, training=False)))
        if len(out) == 1:
            return out[0].astype(np.float64)
        return np.concatenate(out).astype(np.float64)

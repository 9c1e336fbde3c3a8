"""Export a fitted classifier as a TensorFlow SavedModel that needs neither skml nor Keras.

The exported graph maps float32 rows ``(n, n_features)`` to the same probabilities as
``predict_proba`` (labels constant in training included), so a service can load it with plain
TensorFlow: ``tf.saved_model.load(path).serve(X)``. The decision rule (thresholds, label names,
``min_labels``) is written beside it in ``skml.json``.
"""

import json
from pathlib import Path

import numpy as np

__all__ = ["export_saved_model"]

_EPS = 1e-7


def export_saved_model(clf, path):
    """Write ``clf`` (fitted) to the folder ``path``; return the path."""
    from skml._training import import_keras

    keras = import_keras()
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "export writes a TensorFlow SavedModel and needs the TensorFlow Keras backend; "
            f"the active backend is {keras.backend.backend()!r}."
        )
    import tensorflow as tf

    kind = clf._target_kind
    n_labels = clf.n_labels_ if kind == "multilabel" else len(clf.classes_)
    network = clf.model_
    if kind == "multilabel":
        # Columns: [network outputs..., constant labels...], then permuted into label order.
        order = np.concatenate([clf._active_labels, clf.constant_labels_]).astype(int)
        permutation = tf.constant(np.argsort(order), dtype=tf.int32)
        constants = tf.constant(
            np.asarray(getattr(clf, "_constant_proba", []), dtype=np.float32)[None, :]
        )

    def probabilities(x):
        n = tf.shape(x)[0]
        if kind == "multilabel":
            parts = []
            if network is not None:
                parts.append(tf.cast(network(x, training=False), tf.float32))
            if clf.constant_labels_.size:
                parts.append(tf.tile(constants, tf.stack([n, 1])))
            p = tf.gather(tf.concat(parts, axis=1), permutation, axis=1)
            return tf.clip_by_value(p, _EPS, 1 - _EPS)
        p = tf.cast(network(x, training=False), tf.float32)
        if kind == "binary":
            p = tf.clip_by_value(p, _EPS, 1 - _EPS)
            return tf.concat([1 - p, p], axis=1)
        return p / tf.reduce_sum(p, axis=1, keepdims=True)

    archive = keras.export.ExportArchive()
    if network is not None:
        archive.track(network)
    else:
        archive.track(keras.layers.Identity())
    archive.add_endpoint(
        name="serve",
        fn=probabilities,
        input_signature=[tf.TensorSpec((None, clf.n_features_in_), tf.float32)],
    )
    path = Path(path)
    archive.write_out(str(path), verbose=False)
    meta = {
        "target_kind": kind,
        "classes": np.asarray(clf.classes_).tolist(),
        "n_features_in": int(clf.n_features_in_),
        "n_outputs": int(n_labels),
        "thresholds": np.asarray(clf.thresholds_).tolist(),
        "min_labels": int(clf.min_labels),
        "feature_names_in": getattr(clf, "feature_names_in_", np.array([])).tolist(),
    }
    (path / "skml.json").write_text(json.dumps(meta, indent=2, default=str))
    return path

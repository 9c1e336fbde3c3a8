"""Export a fitted classifier as a TensorFlow SavedModel that needs neither skml nor Keras.

The exported ``serve`` function takes float32 input of the shape ``predict_proba`` takes and
returns the same probabilities (labels constant in training included), so a service can load it
with plain TensorFlow: ``tf.saved_model.load(path).serve(X)``. The input is

* ``(n, n_features)`` for the MLP (also when it was trained on sparse rows: pass them dense) and
  for a user network fitted on rows;
* ``(n, height, width, channels)`` for a CNN fitted on images;
* ``(n, height * width * channels)`` for a CNN fitted on flattened rows with ``input_shape``:
  the exported function reshapes them, as ``predict_proba`` does.

The network spec says which (``export_signature``) and the output head computes the
probabilities (``tf_proba``), so the export is ``predict_proba`` by construction.

The decision rule (thresholds, label names, ``min_labels``) and the input shape are written
beside it in ``skml.json``. The folder is written under a temporary name beside the destination
and renamed into place, so a failure never leaves a SavedModel without its ``skml.json``, and
never touches a folder already there.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["export_saved_model"]


def export_saved_model(clf, path, *, overwrite=False):
    """Write ``clf`` (fitted) to the folder ``path``; return ``path`` as a ``pathlib.Path``.

    Raises ``FileExistsError`` for a non-empty folder unless ``overwrite``,
    ``NotADirectoryError`` when ``path`` (or its parent) is a file, ``FileNotFoundError`` when
    the parent folder does not exist and ``PermissionError`` when it is not writable.
    """
    from skml._training import import_keras

    keras = import_keras()
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "export writes a TensorFlow SavedModel and needs the TensorFlow Keras backend; "
            f"the active backend is {keras.backend.backend()!r}."
        )
    given = Path(path)
    target = _check_destination(given, overwrite)
    signature, image_shape = clf._spec.export_signature(clf._sample_shape, clf.n_features_in_)
    meta = {
        "target_kind": clf._head.kind,
        "classes": np.asarray(clf.classes_).tolist(),
        "input_shape": [None, *signature[1:]],
        "n_features_in": int(clf.n_features_in_),
        "n_outputs": int(clf.n_labels_),
        "thresholds": np.asarray(clf.thresholds_).tolist(),
        "min_labels": int(clf.min_labels),
        "feature_names_in": getattr(clf, "feature_names_in_", np.array([])).tolist(),
    }
    meta_text = json.dumps(meta, indent=2, default=str)  # fails here, before any file is written
    archive = _archive(clf, keras, signature, image_shape)

    try:
        scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    except OSError as exc:
        raise type(exc)(f"Cannot export to {str(given)!r}: {exc}") from exc
    staging = scratch / target.name  # created by TensorFlow: the permissions follow the umask
    try:
        _write(archive, staging)
        (staging / "skml.json").write_text(meta_text)
        _move_into_place(staging, target)
    except OSError as exc:
        raise type(exc)(f"Cannot export to {str(given)!r}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return given


def _check_destination(path, overwrite):
    """The absolute destination, after refusing paths that cannot or must not be written."""
    target = Path(os.path.abspath(path))
    if not target.name:
        raise ValueError(f"Cannot export to {str(path)!r}: give a folder to create, not a root.")
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise NotADirectoryError(
                f"Cannot export to {str(path)!r}: it is an existing file, not a folder."
            )
        if not overwrite and any(target.iterdir()):
            raise FileExistsError(
                f"Cannot export to {str(path)!r}: the folder exists and is not empty; pass "
                "overwrite=True to replace it."
            )
    parent = target.parent
    if not parent.exists():
        raise FileNotFoundError(
            f"Cannot export to {str(path)!r}: the parent folder {str(parent)!r} does not exist."
        )
    if not parent.is_dir():
        raise NotADirectoryError(
            f"Cannot export to {str(path)!r}: the parent {str(parent)!r} is a file, not a folder."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(
            f"Cannot export to {str(path)!r}: the parent folder {str(parent)!r} is not writable."
        )
    return target


def _archive(clf, keras, signature, image_shape):
    """A ``keras.export.ExportArchive`` whose ``serve`` endpoint computes ``predict_proba``."""
    import tensorflow as tf

    network = clf.model_

    def probabilities(x):
        if image_shape is not None:
            x = tf.reshape(x, (-1, *image_shape))
        outputs = None if network is None else network(x, training=False)
        return clf._head.tf_proba(outputs, tf.shape(x)[0])

    archive = keras.export.ExportArchive()
    archive.track(network if network is not None else keras.layers.Identity())
    archive.add_endpoint(
        name="serve",
        fn=probabilities,
        input_signature=[tf.TensorSpec(signature, tf.float32)],
    )
    return archive


def _write(archive, folder):
    """``archive.write_out``, with TensorFlow's I/O errors raised as ``OSError``."""
    import tensorflow as tf

    try:
        archive.write_out(str(folder), verbose=False)
    except tf.errors.OpError as exc:
        raise OSError(exc.message) from exc


def _move_into_place(staging, target):
    """Rename ``staging`` to ``target``; a folder already there is replaced, else kept."""
    if not (target.exists() or target.is_symlink()):
        os.rename(staging, target)
        return
    aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    try:
        old = aside / target.name
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)

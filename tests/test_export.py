"""Export: a SavedModel that predicts without skml installed, written atomically."""

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from skml import KerasMultiLabelClassifier
from skml.datasets import make_multilabel_digits
from skml.networks import CNN, MLP, Ensemble, TabM
from tests.conftest import FAST

LOADER = Path(__file__).with_name("_export_loader.py")
# One epoch: the export must reproduce predict_proba, whatever the network learned.
ONE_EPOCH = {**FAST, "epochs": 1}
TINY_CNN = {
    "network": CNN(filters=(2,), dense_units=(4,)),
    "epochs": 1,
    "batch_size": 64,
    "random_state": 0,
}


def _user_model(meta):
    import keras

    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Dense(meta["n_outputs_expected_"], activation="sigmoid"),
        ]
    )


def _fit(case, X, y, images):
    """A fitted classifier and the X its ``predict_proba`` takes, for one kind of network."""
    if case == "constant_label":
        y = y.copy()
        y[:, 1] = 0
    if case == "all_constant":
        y = np.zeros_like(y)
    if case == "binary":
        y = y[:, 0]
    if case == "multiclass":
        y = y.argmax(axis=1)
    if case == "sparse":
        X = sp.csr_matrix(np.where(X > 2, X, 0))
    if case == "user_model":
        return KerasMultiLabelClassifier(**{**ONE_EPOCH, "network": _user_model}).fit(X, y), X
    if case == "cnn_images":
        X, y = images
        return KerasMultiLabelClassifier(**TINY_CNN).fit(X, y), X
    if case == "cnn_flat":
        X, y = images
        flat = X.reshape(len(X), -1)
        return KerasMultiLabelClassifier(
            **{**TINY_CNN, "network": CNN(filters=(2,), dense_units=(4,), input_shape=X.shape[1:])}
        ).fit(flat, y), flat
    if case == "cnn_sequences":
        network = CNN(filters=(2,), dense_units=(4,), pooling=None, input_shape=(None, 1))
        return KerasMultiLabelClassifier(**{**TINY_CNN, "network": network}).fit(X, y), X
    if case in ("plain", "tabm_periodic", "ensemble"):  # the default MLP embeds these 10 features
        network = {
            "plain": MLP(hidden_layer_sizes=(4,), embedding=None),
            "tabm_periodic": TabM(2, hidden_layer_sizes=(4,), embedding="periodic"),
            "ensemble": Ensemble(MLP(hidden_layer_sizes=(4,)), k=2),
        }[case]
        return KerasMultiLabelClassifier(**{**ONE_EPOCH, "network": network}).fit(X, y), X
    threshold = 0.5 if case == "multiclass" else 0.4  # argmax decides a multiclass target
    return KerasMultiLabelClassifier(**ONE_EPOCH, threshold=threshold).fit(X, y), X


CASES = [
    "multilabel",
    "constant_label",
    "all_constant",
    "binary",
    "multiclass",
    "sparse",
    "user_model",
    "cnn_images",
    "cnn_flat",
    "cnn_sequences",
    "plain",
    "tabm_periodic",
    "ensemble",
]


# Session scope: the two xdist workers steal tests from each other, and a module fixture is
# rebuilt each time a worker comes back to this module; a session one once per worker at most.
@pytest.fixture(scope="session")
def exported(multilabel_data, tmp_path_factory):
    """Every kind of network fitted, exported and loaded in one process that lacks skml."""
    bunch = make_multilabel_digits(40, canvas_size=12, max_digits=2, digit_size=6, random_state=0)
    images = bunch.data, bunch.target
    folder = tmp_path_factory.mktemp("exported")
    results, args = {}, []
    for case in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # constant labels, short sparse epochs
            clf, X = _fit(case, *multilabel_data, images)
        try:
            path = clf.export(folder / case)
        except Exception as exc:  # raised by that case's test; the other cases still run
            results[case] = exc
            continue
        dense = X.toarray() if sp.issparse(X) else X
        np.save(folder / f"{case}.npy", dense)
        args += [str(path), str(folder / f"{case}.npy"), str(folder / f"{case}.npz")]
        results[case] = clf, X, path
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(LOADER), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for case, result in results.items():
        if not isinstance(result, Exception):
            results[case] = (*result, np.load(folder / f"{case}.npz"))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_export_predicts_same_proba_without_skml(case, exported):
    if isinstance(exported[case], Exception):
        raise exported[case]
    clf, X, path, loaded = exported[case]
    if case == "sparse":
        assert clf.model_.inputs[0].sparse  # the network really reads sparse rows
    if case == "all_constant":
        assert clf.model_ is None
    assert_allclose(loaded["proba"], clf.predict_proba(X), atol=1e-5)

    meta = json.loads((path / "skml.json").read_text())
    expected_shape = [None, *X.shape[1:]]  # what predict_proba takes, one sample per row
    assert meta["input_shape"] == expected_shape
    assert loaded["input_shape"].tolist() == [-1, *X.shape[1:]]
    assert meta["target_kind"] == clf._head.kind
    assert meta["classes"] == np.asarray(clf.classes_).tolist()
    assert_allclose(meta["thresholds"], clf.thresholds_)


def test_export_before_fit(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        KerasMultiLabelClassifier().export(tmp_path / "model")
    assert not list(tmp_path.iterdir())


def test_export_returns_path_and_accepts_empty_folder(fitted, tmp_path):
    (tmp_path / "model").mkdir()
    path = fitted.export(str(tmp_path / "model"))
    assert path == tmp_path / "model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left
    assert {"saved_model.pb", "skml.json", "variables"} <= {p.name for p in path.iterdir()}


def test_export_refuses_non_empty_folder_unless_overwrite(fitted, tmp_path):
    path = tmp_path / "model"
    path.mkdir()
    (path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="model.*overwrite=True"):
        fitted.export(path)
    assert [p.name for p in path.iterdir()] == ["notes.txt"]

    fitted.export(path, overwrite=True)
    names = {p.name for p in path.iterdir()}
    assert "notes.txt" not in names and {"saved_model.pb", "skml.json"} <= names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    meta = json.loads((path / "skml.json").read_text())
    assert_allclose(meta["thresholds"], fitted.thresholds_)


def test_export_to_a_file_is_refused(fitted, tmp_path):
    path = tmp_path / "model"
    path.write_text("not a folder")
    for overwrite in (False, True):
        with pytest.raises(NotADirectoryError, match="model.*is an existing file"):
            fitted.export(path, overwrite=overwrite)
    assert path.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_export_bad_parent_raises_oserror_naming_the_path(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.*model.*does not exist"):
        fitted.export(tmp_path / "missing" / "model")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="file.*model.*is a file"):
        fitted.export(tmp_path / "file" / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_export_to_read_only_parent_raises_permission_error(fitted, tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("this user may write into read-only folders (root)")
        with pytest.raises(PermissionError, match="locked.*model.*not writable"):
            fitted.export(parent / "model")
        assert not list(parent.iterdir())
    finally:
        parent.chmod(0o700)


@pytest.mark.slow  # three exports
@pytest.mark.skipif(importlib.util.find_spec("resource") is None, reason="needs POSIX rlimits")
def test_failed_write_leaves_nothing_behind(multilabel_data, tmp_path):
    """A write failing mid-way (file size limit) leaves no partial folder, the old one intact."""
    import resource
    import signal

    # Without feature embeddings the weights are far smaller than the graph, which leaves room
    # for a size limit between the two.
    X, y = multilabel_data
    network = MLP(hidden_layer_sizes=(8,), embedding=None)
    fitted = KerasMultiLabelClassifier(**{**ONE_EPOCH, "network": network}).fit(X, y)
    old = tmp_path / "old"
    fitted.export(old)
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    # Writes past this size fail (EFBIG): the variables are written, saved_model.pb is not.
    limit = (old / "saved_model.pb").stat().st_size // 2
    assert max(len(b) for name, b in before.items() if name.parts[0] == "variables") < limit

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    errors = []
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        for path, overwrite in [(tmp_path / "new", False), (old, True)]:
            try:
                fitted.export(path, overwrite=overwrite)
            except Exception as exc:  # checked below, once the limit is lifted
                errors.append((path, exc))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)

    assert [path for path, _ in errors] == [tmp_path / "new", old]
    for path, exc in errors:
        assert type(exc) is OSError and str(path) in str(exc), repr(exc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]  # no temporary folders
    after = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    assert after == before


_JAX_EXPORT = """
import numpy as np
from skml import KerasMultiLabelClassifier
from skml.networks import MLP
X = np.random.default_rng(0).normal(size=(20, 3))
y = (X > 0).astype(int)
clf = KerasMultiLabelClassifier(network=MLP(()), epochs=1, random_state=0).fit(X, y)
try:
    clf.export("model")
except RuntimeError as exc:
    assert "TensorFlow Keras backend" in str(exc) and "'jax'" in str(exc), exc
    print("ok")
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_export_on_another_backend_is_a_clear_error(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", _JAX_EXPORT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    assert not list(tmp_path.iterdir())

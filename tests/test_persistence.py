"""Persistence where users are: a fitted model saved here loads in a fresh Python process.

Every load runs in a subprocess that has imported nothing of skml: the bug these tests guard
against (Keras could not find skml's registered losses) is invisible inside one process, where
``skml.losses`` is already imported by the time anything is unpickled.
"""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification

from skml import KerasMultiLabelClassifier
from skml.losses import AsymmetricLoss, FocalLoss
from skml.networks import CNN, MLP, Ensemble, TabM
from tests.conftest import FAST

SUBPROCESS_TIMEOUT = 300
ONE_EPOCH = {**FAST, "epochs": 1}
#: Early stopping that fires on these rows, restoring the mean of the best epoch and the 2 after.
AVERAGED = {**FAST, "epochs": 40, "patience": 2, "learning_rate_init": 0.05}


def _run(script, *args):
    """Run ``script`` in a fresh interpreter; fail with its output if it fails or hangs."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the subprocess did not finish within {SUBPROCESS_TIMEOUT} s: {exc}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def data():
    X, y = make_multilabel_classification(n_samples=120, n_features=8, n_classes=4, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def focal(data):
    """A fitted model whose loss is one of skml's registered Keras losses."""
    X, y = data
    return KerasMultiLabelClassifier(loss=FocalLoss(gamma=1.0), **FAST).fit(X, y)


def _models(data):
    """One fitted model of every kind that pickles differently (one epoch: only loading counts)."""
    X, y = data
    y_const = y.copy()
    y_const[:, 3] = 0
    frame = pd.DataFrame(y, columns=["drama", "comedy", "thriller", "horror"])
    images = np.random.default_rng(0).random((120, 8, 8, 1)).astype(np.float32)
    return {
        "bce": (KerasMultiLabelClassifier(**ONE_EPOCH), X, y),
        "focal": (KerasMultiLabelClassifier(loss=FocalLoss(gamma=1.0), **ONE_EPOCH), X, y),
        "asymmetric": (KerasMultiLabelClassifier(loss=AsymmetricLoss(), **ONE_EPOCH), X, y),
        "asymmetric-str": (KerasMultiLabelClassifier(loss="asymmetric", **ONE_EPOCH), X, y),
        "balanced": (KerasMultiLabelClassifier(class_weight="balanced", **ONE_EPOCH), X, y),
        "sparse": (KerasMultiLabelClassifier(**ONE_EPOCH), sp.csr_matrix(X), y),
        "frame": (KerasMultiLabelClassifier(threshold={"horror": 0.3}, **ONE_EPOCH), X, frame),
        "constant": (KerasMultiLabelClassifier(**ONE_EPOCH), X, y_const),
        "binary": (KerasMultiLabelClassifier(**ONE_EPOCH), X, y[:, 0]),
        "multiclass": (KerasMultiLabelClassifier(**ONE_EPOCH), X, y.argmax(axis=1)),
        "cnn": (
            KerasMultiLabelClassifier(**{**ONE_EPOCH, "network": CNN(filters=(4,))}),
            images,
            y,
        ),
        # A tuned rule with a parameter of its own: it must come back with the model.
        "f1": (
            KerasMultiLabelClassifier(threshold="f1", threshold_shrinkage=2.0, **ONE_EPOCH),
            X,
            y,
        ),
        # Under "f1" the default network (network=None) is an ensemble of 5 default MLPs.
        "f1-default": (
            KerasMultiLabelClassifier(threshold="f1", epochs=1, random_state=0),
            X,
            y,
        ),
        # The default MLP embeds these 10 features; without embeddings, and TabM with them.
        "plain": (
            KerasMultiLabelClassifier(
                **{**ONE_EPOCH, "network": MLP(hidden_layer_sizes=(8,), embedding=None)}
            ),
            X,
            y,
        ),
        "tabm-periodic": (
            KerasMultiLabelClassifier(
                **{**ONE_EPOCH, "network": TabM(2, hidden_layer_sizes=(8,), embedding="periodic")}
            ),
            X,
            y,
        ),
        "ensemble": (
            KerasMultiLabelClassifier(
                **{**ONE_EPOCH, "network": Ensemble(MLP(hidden_layer_sizes=(8,)), k=2)}
            ),
            X,
            y,
        ),
        # Early stopping fires: the restored weights are the mean of three epochs'.
        "averaged": (KerasMultiLabelClassifier(**AVERAGED), X, y),
    }


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """Fitted models written with pickle and joblib, and their expected outputs."""
    import warnings

    folder = tmp_path_factory.mktemp("saved")
    models, expected = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the constant label
        for name, (clf, X, y) in _models(data).items():
            clf.fit(X, y)
            models[name] = clf
            expected[f"{name}_X"] = X.toarray() if sp.issparse(X) else X
            expected[f"{name}_proba"] = clf.predict_proba(X)
            expected[f"{name}_pred"] = np.asarray(clf.predict(X))
    for name, clf in models.items():
        with open(folder / f"{name}.pkl", "wb") as file:
            pickle.dump(clf, file)
        joblib.dump(clf, folder / f"{name}.joblib")
    np.savez(folder / "expected.npz", **expected)
    return folder, models


@pytest.mark.slow
def test_the_averaged_model_restored_a_mean_of_epochs(saved):
    # What the "averaged" case saves: early stopping fired, 2 epochs after the best one, so
    # the weights it restored are the mean of three epochs' (not one epoch's weights).
    _, models = saved
    val_loss = models["averaged"].history_["val_loss"]
    assert len(val_loss) < AVERAGED["epochs"]
    assert int(np.argmin(val_loss)) == len(val_loss) - 1 - AVERAGED["patience"]


LOAD = """
    import sys
    assert not any(m == "skml" or m.startswith("skml.") for m in sys.modules)
    import pickle, joblib, numpy as np, scipy.sparse as sp
    folder, how, first = sys.argv[1], sys.argv[2], sys.argv[3]
    expected = np.load(f"{folder}/expected.npz")
    names = sorted({k.rsplit("_", 1)[0] for k in expected.files}, key=lambda n: n != first)
    for name in names:
        path = f"{folder}/{name}.{how}"
        if how == "pkl":
            with open(path, "rb") as file:
                clf = pickle.load(file)
        else:
            clf = joblib.load(path)
        X = expected[f"{name}_X"]
        if name == "sparse":
            X = sp.csr_matrix(X)
        np.testing.assert_allclose(clf.predict_proba(X), expected[f"{name}_proba"], atol=1e-6)
        assert (np.asarray(clf.predict(X)) == expected[f"{name}_pred"]).all(), name
        params = clf.get_params()  # every parameter came back with the model
        assert params["threshold_shrinkage"] == (2.0 if name == "f1" else None), name
        if name == "f1-default":  # the default network it resolved to came back with it
            assert params["network"] is None and type(clf._spec).__name__ == "Ensemble"
            clf.model_.get_layer("member_4")  # 5 members
            # its fitted settings came back: a warm start onto another network is refused
            from skml.networks import MLP
            clf.set_params(warm_start=True, network=MLP())
            try:
                clf.fit(X, expected[f"{name}_pred"])
            except ValueError as error:
                assert "network is now MLP, the fitted one Ensemble" in str(error), error
            else:
                raise AssertionError("a warm start continued a network it could not apply")
        # From the third call on, prediction runs the model's own traced function: reach it.
        for _ in range(3):
            np.testing.assert_allclose(
                clf.predict_proba(X[:1]), expected[f"{name}_proba"][:1], atol=1e-6
            )
        print("loaded", name)
"""


@pytest.mark.slow
@pytest.mark.parametrize("how, first", [("pkl", "bce"), ("joblib", "asymmetric-str")])
def test_saved_model_loads_in_a_fresh_process(saved, how, first):
    folder, models = saved
    # The model loaded first is the one that meets an empty process: vary it over the losses.
    out = _run(LOAD, folder, how, first)
    assert out.split("\n")[0] == f"loaded {first}"
    assert out.count("loaded") == len(models)


def test_clone_and_deepcopy_of_a_fitted_model(focal, data):
    import copy

    X, _ = data
    assert clone(focal).get_params()["loss"].gamma == 1.0
    copied = copy.deepcopy(focal)
    np.testing.assert_allclose(copied.predict_proba(X), focal.predict_proba(X), atol=1e-7)


def test_state_records_the_version(focal):
    import skml

    state = focal.__getstate__()
    assert state["_skml_version"] == skml.__version__
    restored = pickle.loads(pickle.dumps(focal))
    assert "_skml_version" not in vars(restored)


def test_state_from_a_newer_format_names_both_versions(focal):
    import skml

    state = focal.__getstate__()
    state.update(_skml_version="9.9.0", _skml_format=99)
    empty = KerasMultiLabelClassifier.__new__(KerasMultiLabelClassifier)
    with pytest.raises(ValueError, match=rf"skml 9\.9\.0.*skml {skml.__version__}"):
        empty.__setstate__(state)


def test_unreadable_network_names_both_versions(focal):
    from skml._persistence import _KerasBytes

    state = focal.__getstate__()
    state.update(_skml_version="0.0.1", model_=_KerasBytes(b"not a pickle"))
    empty = KerasMultiLabelClassifier.__new__(KerasMultiLabelClassifier)
    with pytest.raises(ValueError, match=r"saved by skml 0\.0\.1 and loaded by skml"):
        empty.__setstate__(state)


CROSS_VALIDATE = """
    import sys
    import numpy as np
    from sklearn.datasets import make_multilabel_classification
    from sklearn.model_selection import cross_validate
    from skml import KerasMultiLabelClassifier
    from skml.networks import MLP, Ensemble, TabM

    FAST = {FAST!r}
    # The MLP, whose default embeds these 6 features (a registered custom layer); TabM, whose
    # Keras model class must also reach the parent registered; TabM with the embeddings; and
    # an ensemble of embedded MLPs (nested models).
    NETWORKS = [
        FAST["network"],
        TabM(k=2, hidden_layer_sizes=(8,)),
        TabM(k=2, hidden_layer_sizes=(8,), embedding="periodic"),
        Ensemble(MLP(hidden_layer_sizes=(8,)), k=2),
    ]

    def check(out, X, y, clf):
        assert len(out["estimator"]) == 3
        for est in out["estimator"]:
            proba = est.predict_proba(X)
            assert proba.shape == (90, 3)
            assert est.get_params()["threshold_shrinkage"] == clf.threshold_shrinkage
            # The later calls run the model's own traced function: the same probabilities.
            for _ in range(3):
                np.testing.assert_allclose(est.predict_proba(X), proba, atol=1e-6)
            if clf.network is None:  # the default network of "f1" came back as an ensemble
                assert type(est._spec).__name__ == "Ensemble", est._spec
            # The fitted network's settings came back too: a warm start that would train
            # another network is refused before any training.
            est.set_params(warm_start=True, network=MLP(hidden_layer_sizes=(5,)))
            try:
                est.fit(X, y)
            except ValueError as error:
                assert "cannot apply a new one" in str(error), error
            else:
                raise AssertionError("a warm start continued a network it could not apply")

    def stopped(out, clf):
        if clf.epochs > 3:  # the averaged one: early stopping fired in every fold
            assert all(len(est.history_["loss"]) < clf.epochs for est in out["estimator"])

    def main(backend):
        X, y = make_multilabel_classification(90, 6, n_classes=3, random_state=0)
        clfs = [KerasMultiLabelClassifier(**{**FAST, "network": n}) for n in NETWORKS]
        # The first stops early, its weights averaged over its best epoch and the 2 after.
        clfs[0].set_params(**{AVERAGED!r})
        # The second tunes its thresholds out of fold, with a rare-label pseudo-count of its own.
        clfs[1].set_params(threshold="f1", threshold_shrinkage=2.0)
        # The default network of threshold="f1", resolved in the workers: 5 default MLPs.
        clfs.append(KerasMultiLabelClassifier(epochs=2, random_state=0, threshold="f1"))
        if backend == "loky":
            for clf in clfs:
                out = cross_validate(clf, X, y, cv=3, n_jobs=2, return_estimator=True)
                check(out, X, y, clf)
                stopped(out, clf)
        else:
            import joblib
            from distributed import Client, LocalCluster

            with (
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None) as cluster,
                Client(cluster) as client,
                joblib.parallel_config(backend="dask"),
            ):
                client.wait_for_workers(2, timeout=120)
                for clf in clfs:
                    out = cross_validate(clf, X, y, cv=3, return_estimator=True)
                    check(out, X, y, clf)
                    stopped(out, clf)
        print("returned", 3 * len(clfs), "fitted estimators")

    if __name__ == "__main__":
        main(sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_cross_validate_returns_estimators_to_a_fresh_parent(backend, tmp_path):
    if backend == "dask":
        pytest.importorskip("distributed")
    # The parent never fits a model itself: only the unpickled results meet its empty
    # registry. The script is a file, so that worker processes can re-import its __main__.
    script = tmp_path / "cross_validate_script.py"
    script.write_text(
        textwrap.dedent(CROSS_VALIDATE)
        .replace("{FAST!r}", repr(FAST))
        .replace("{AVERAGED!r}", repr({k: v for k, v in AVERAGED.items() if FAST.get(k) != v}))
    )
    try:
        done = subprocess.run(
            [sys.executable, str(script), backend],
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"cross_validate on {backend} hung for {SUBPROCESS_TIMEOUT} s")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "returned 15 fitted estimators" in done.stdout  # 5 networks, 3 folds each
    # every network's optimizer state comes back whole (Keras warns of a mismatch otherwise)
    assert "saved optimizer" not in done.stderr

"""Ensemble: k whole networks in one model, each on its own loss, their mean at inference."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skml import KerasMultiLabelClassifier
from skml.networks import CNN, MLP, Ensemble, TabM
from skml.networks._tabm_layers import TabMNetwork

FAST = {"epochs": 3, "batch_size": 16, "random_state": 0}


def _rows(n=40, n_features=6, n_labels=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    y = (rng.random((n, n_labels)) < 0.4).astype(int)
    return X, y


@pytest.mark.parametrize(
    "spec, message",
    [
        (Ensemble(k=0), "'k' parameter of Ensemble"),
        (Ensemble(k=2.5), "'k' parameter of Ensemble"),
        (Ensemble(network="mlp"), "'network' parameter of Ensemble"),
        (Ensemble(TabM()), "network must be a single network .* got TabM"),
        (Ensemble(Ensemble()), "network must be a single network .* got Ensemble"),
        (Ensemble(MLP(dropout=1.0)), "'dropout' parameter of MLP"),
    ],
)
def test_check_names_the_bad_parameter(spec, message):
    with pytest.raises(ValueError, match=message):
        spec.check()
    X, y = _rows()
    with pytest.raises(ValueError, match=message):  # and the estimator's fit says the same
        KerasMultiLabelClassifier(network=spec, **FAST).fit(X, y)


def test_a_cnn_backbone_is_refused_its_weights_would_be_shared():
    import keras

    backbone = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="network must not hold a CNN backbone for Ensemble"):
        Ensemble(CNN(backbone=backbone), k=2).check()


def test_tags_of_a_bad_nested_network_wait_for_fits_message():
    # scikit-learn reads tags (is_classifier, cross_validate) before fit validates.
    from sklearn.base import is_classifier

    clf = KerasMultiLabelClassifier(network=Ensemble(network="mlp"))
    assert is_classifier(clf)
    with pytest.raises(ValueError, match="'network' parameter of Ensemble"):
        clf.fit(*_rows())


def test_one_member_is_the_network_trained_alone():
    X, y = _rows()
    alone = KerasMultiLabelClassifier(network=MLP((8,)), **FAST).fit(X, y)
    packed = KerasMultiLabelClassifier(network=Ensemble(MLP((8,)), k=1), **FAST).fit(X, y)
    assert_allclose(packed.history_["loss"], alone.history_["loss"], rtol=1e-5)
    assert_allclose(packed.predict_proba(X), alone.predict_proba(X), atol=1e-6)


def test_members_differ_and_the_prediction_is_their_mean():
    X, y = _rows()
    clf = KerasMultiLabelClassifier(network=Ensemble(MLP((8,)), k=3), **FAST).fit(X, y)
    assert isinstance(clf.model_, TabMNetwork)
    members = np.asarray(clf.model_.members(X))
    assert members.shape == (len(X), 3, y.shape[1])
    assert np.abs(members[:, 0] - members[:, 1]).max() > 1e-3  # own seeds, own weights
    assert_allclose(clf.predict_proba(X), members.mean(axis=1), atol=1e-6)
    # k whole networks: k times the weights of one
    one = KerasMultiLabelClassifier(network=MLP((8,)), **FAST).fit(X, y)
    assert clf.model_.count_params() == 3 * one.model_.count_params()


def test_default_member_is_the_default_mlp():
    X, y = _rows()
    clf = KerasMultiLabelClassifier(network=Ensemble(k=2), **FAST).fit(X, y)
    names = [layer.name for layer in clf.model_.get_layer("member_0").layers]
    assert any("embedding" in name for name in names)  # MLP()'s auto embeddings, 6 features


@pytest.mark.parametrize(
    "threshold, default",
    [("f1", Ensemble()), (0.5, MLP()), ("accuracy", MLP()), (np.full(3, 0.4), MLP())],
)
def test_default_network_is_an_ensemble_under_f1_only(threshold, default):
    # network=None: 5 default MLPs averaged under threshold="f1", one MLP under any other
    # rule; the very networks the explicit specs train, with the same thresholds.
    X, y = _rows(n=60)
    params = {**FAST, "epochs": 2, "threshold": threshold}
    got = KerasMultiLabelClassifier(**params).fit(X, y)
    want = KerasMultiLabelClassifier(network=default, **params).fit(X, y)
    assert got.network is None and type(got.model_) is type(want.model_)
    assert got.model_.count_params() == want.model_.count_params()
    assert_allclose(got.predict_proba(X), want.predict_proba(X), atol=1e-6)
    assert_allclose(got.thresholds_, want.thresholds_)
    if isinstance(threshold, str) and threshold == "f1":
        assert isinstance(got.model_, TabMNetwork)
        assert np.asarray(got.model_.members(X)).shape[1] == 5


def test_warm_start_continues_the_fitted_network_whatever_none_now_means():
    # Fitted at threshold 0.5 (one MLP), continued with threshold="f1" (whose default is an
    # Ensemble): the single network trains on and is tuned, it is not swapped for 5.
    X, y = _rows(n=60)
    clf = KerasMultiLabelClassifier(warm_start=True, **FAST).fit(X, y)
    single = clf.model_
    clf.set_params(threshold="f1").fit(X, y)
    assert clf.model_ is single and not isinstance(clf.model_, TabMNetwork)
    assert clf.n_iter_ == 2 * FAST["epochs"] and clf.thresholds_.shape == (3,)
    # and back: an ensemble fitted under "f1" stays one at threshold 0.5, and tunes on its
    # member 0 when "f1" comes back
    clf = KerasMultiLabelClassifier(threshold="f1", warm_start=True, **FAST).fit(X, y)
    ensemble = clf.model_
    clf.set_params(threshold=0.5).fit(X, y)
    assert clf.model_ is ensemble and type(clf._spec) is Ensemble
    clf.set_params(threshold="f1", threshold_cv="validation").fit(X, y)
    assert clf.model_ is ensemble and not np.allclose(clf.thresholds_, 0.5)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"network": Ensemble(MLP((8,)), k=2)}, "network is now Ensemble, the fitted one MLP"),
        ({"network__dropout": 0.3}, r"network__dropout is now 0.3, the fitted network's 0.2"),
    ],
)
def test_continuing_refuses_a_network_it_would_not_apply(change, message):
    # A warm start or partial_fit continues the fitted network: another network asked for
    # by name is an error, never silently the old one. network=None is not a change.
    X, y = _rows(n=60)
    warm = KerasMultiLabelClassifier(network=MLP((8,)), warm_start=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=f"warm_start=True continues .*{message}"):
        clone(warm).fit(X, y).set_params(**change).fit(X, y)
    chunked = KerasMultiLabelClassifier(network=MLP((8,)), random_state=0).partial_fit(X, y)
    with pytest.raises(ValueError, match=f"partial_fit continues .*{message}"):
        chunked.set_params(**change).partial_fit(X, y)
    # the same network again, a new but equal spec, continues
    warm.set_params(network=MLP((8,))).fit(X, y)
    assert warm.n_iter_ == 2 * FAST["epochs"]


def test_sparse_rows_train_the_same_ensemble_as_dense():
    X, y = _rows()
    X[X < 0.5] = 0.0
    spec = Ensemble(MLP((8,), embedding=None), k=2)
    dense = KerasMultiLabelClassifier(network=spec, **FAST).fit(X, y)
    sparse = KerasMultiLabelClassifier(network=spec, **FAST).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.history_["loss"], dense.history_["loss"], rtol=1e-4)
    assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-5)


def test_cnn_members_read_images():
    rng = np.random.default_rng(0)
    images = rng.random((24, 8, 8, 1)).astype(np.float32)
    y = (rng.random((24, 2)) < 0.5).astype(int)
    spec = Ensemble(CNN(filters=(2,), dense_units=(4,)), k=2)
    clf = KerasMultiLabelClassifier(network=spec, **FAST).fit(images, y)
    assert clf.predict_proba(images).shape == (24, 2)
    with pytest.raises(ValueError, match="X has 64 features"):
        clf.predict(images.reshape(24, -1))


def test_nested_parameters_are_searchable():
    X, y = _rows()
    clf = KerasMultiLabelClassifier(network=Ensemble(MLP((4,)), k=2), **FAST)
    assert clone(clf).get_params()["network__network__hidden_layer_sizes"] == (4,)
    search = GridSearchCV(
        clf, {"network__k": [1, 2], "network__network__dropout": [0.0, 0.3]}, cv=2
    ).fit(X, y)
    assert search.best_estimator_.network.k in (1, 2)
    assert search.best_estimator_.network.network.dropout in (0.0, 0.3)


def test_fit_trains_each_member_alone_member_0_is_the_lone_network():
    X, y = _rows(n=60)
    spec = MLP((8,))
    params = {**FAST, "epochs": 50, "patience": 1}
    alone = KerasMultiLabelClassifier(network=spec, **params).fit(X, y)
    assert len(alone.history_["loss"]) < 50  # early stopping fired: its own epoch
    clf = KerasMultiLabelClassifier(network=Ensemble(spec, k=3), **params).fit(X, y)
    members = np.asarray(clf.model_.members(X))
    assert_allclose(members[:, 0], alone.predict_proba(X), atol=1e-6)
    assert clf.history_ == alone.history_  # the first member's
    # the others are trained from their own seeds
    assert np.abs(members[:, 1] - members[:, 2]).max() > 1e-3


@pytest.mark.parametrize("threshold_cv", [2, "validation"])
def test_threshold_rule_tunes_on_single_members(threshold_cv):
    # Out of fold: the tuning networks are single members; on the validation split: member
    # 0's. Either way the thresholds are those of the lone network's estimator.
    X, y = _rows(n=80)
    params = {**FAST, "threshold": "f1", "threshold_cv": threshold_cv}
    alone = KerasMultiLabelClassifier(network=MLP((8,)), **params).fit(X, y)
    clf = KerasMultiLabelClassifier(network=Ensemble(MLP((8,)), k=2), **params).fit(X, y)
    assert_allclose(clf.thresholds_, alone.thresholds_)
    assert not np.allclose(clf.thresholds_, 0.5)  # tuned


def test_warm_start_tunes_on_member_0_too():
    # A continued ensemble tunes on the validation split with member 0's predictions, as
    # its first fit did: tuning on the mean would read rows the other members trained on.
    X, y = _rows(n=80)
    params = {**FAST, "threshold": "f1", "threshold_cv": "validation", "warm_start": True}
    clf = KerasMultiLabelClassifier(network=Ensemble(MLP((8,)), k=2), **params).fit(X, y)
    clf.fit(X, y)
    from sklearn.utils import check_random_state

    from skml._fit import _Run

    run = _Run(clf, clf._head, clf._head.encode(y), check_random_state(0))
    member_0 = clf.model_.get_layer("member_0")
    scores = np.asarray(member_0(X[run.val_rows]))
    from skml.thresholds import tune_thresholds

    assert_allclose(clf.thresholds_, tune_thresholds(y[run.val_rows], scores), atol=1e-6)


def test_partial_fit_and_warm_start_train_the_packed_members_together():
    X, y = _rows(n=60)
    spec = Ensemble(MLP((8,)), k=2)
    clf = KerasMultiLabelClassifier(network=spec, random_state=0)
    clf.partial_fit(X, y).partial_fit(X, y)
    assert clf.n_iter_ == 2 and isinstance(clf.model_, TabMNetwork)
    members = np.asarray(clf.model_.members(X))
    assert_allclose(clf.predict_proba(X), members.mean(axis=1), atol=1e-6)
    # warm_start continues the packed network a fit made: every member moves
    warm = KerasMultiLabelClassifier(network=spec, warm_start=True, **FAST).fit(X, y)
    before = np.asarray(warm.model_.members(X))
    warm.fit(X, y)
    after = np.asarray(warm.model_.members(X))
    assert warm.n_iter_ == 2 * FAST["epochs"]
    assert (np.abs(after - before).max(axis=(0, 2)) > 1e-4).all()

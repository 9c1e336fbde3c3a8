"""Tests of skml.losses: values against NumPy references, the sklearn and Keras protocols."""

import json
import pickle

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, clone

import skml.losses
from skml.losses import (
    AsymmetricLoss,
    BinaryCrossentropy,
    FocalLoss,
    bayes_thresholds,
    compute_pos_weight,
    get_loss,
)

EPS = 1e-7
N_LABELS = 5
POS_WEIGHTS = [None, 2.5, [0.5, 1.0, 3.0, 7.25, 0.0]]


# ----------------------------------------------------------------------- NumPy references


def _weight(pos_weight):
    return 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=float)


def ref_bce(y, p, pos_weight=None):
    p = np.clip(p, EPS, 1 - EPS)
    w = _weight(pos_weight)
    per_label = -(w * y * np.log(p) + (1 - y) * np.log(1 - p))
    return per_label.mean(axis=1).mean()


def ref_focal(y, p, gamma, alpha, pos_weight=None):
    p = np.clip(p, EPS, 1 - EPS)
    w = _weight(pos_weight)
    a_pos, a_neg = (1.0, 1.0) if alpha is None else (alpha, 1 - alpha)
    per_label = -(
        a_pos * w * y * (1 - p) ** gamma * np.log(p) + a_neg * (1 - y) * p**gamma * np.log(1 - p)
    )
    return per_label.mean(axis=1).mean()


def ref_asl(y, p, gamma_neg, gamma_pos, clip, pos_weight=None):
    p = np.clip(p, EPS, 1 - EPS)
    w = _weight(pos_weight)
    p_m = np.maximum(p - (clip or 0.0), 0.0)
    per_label = -(
        w * y * (1 - p) ** gamma_pos * np.log(np.maximum(p, EPS))
        + (1 - y) * p_m**gamma_neg * np.log(np.maximum(1 - p_m, EPS))
    )
    return per_label.mean(axis=1).mean()


@pytest.fixture(params=[0, 1, 2])
def data(request):
    """Random labels and probabilities, with exact 0s and 1s to exercise the clipping."""
    rng = np.random.default_rng(request.param)
    y = (rng.random((40, N_LABELS)) < 0.3).astype(float)
    p = rng.random((40, N_LABELS))
    p[0, :2] = [0.0, 1.0]
    p[1, :2] = [1.0, 0.0]
    return y, p


def value(loss, y, p):
    return float(keras.ops.convert_to_numpy(loss(y, p)))


# ----------------------------------------------------------------------- values


@pytest.mark.parametrize("pos_weight", POS_WEIGHTS)
def test_bce_matches_reference(data, pos_weight):
    y, p = data
    loss = BinaryCrossentropy(pos_weight=pos_weight, dtype="float64")
    assert_allclose(value(loss, y, p), ref_bce(y, p, pos_weight), rtol=1e-6, atol=1e-6)


def test_bce_matches_keras(data):
    y, p = data
    ours = value(BinaryCrossentropy(), y, p)
    assert_allclose(ours, value(keras.losses.BinaryCrossentropy(), y, p), rtol=1e-6)


@pytest.mark.parametrize("pos_weight", POS_WEIGHTS)
@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, 0.25), (0.5, None), (0.0, 0.75), (3, 1)])
def test_focal_matches_reference(data, gamma, alpha, pos_weight):
    y, p = data
    loss = FocalLoss(gamma=gamma, alpha=alpha, pos_weight=pos_weight, dtype="float64")
    expected = ref_focal(y, p, gamma, alpha, pos_weight)
    assert_allclose(value(loss, y, p), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("pos_weight", POS_WEIGHTS)
@pytest.mark.parametrize(
    ("gamma_neg", "gamma_pos", "clip"),
    [(4.0, 0.0, 0.05), (2.0, 1.0, 0.2), (0.5, 0.0, 0.3), (1.0, 2.0, None), (3.0, 0.0, 0.0)],
)
def test_asl_matches_reference(data, gamma_neg, gamma_pos, clip, pos_weight):
    y, p = data
    loss = AsymmetricLoss(gamma_neg, gamma_pos, clip, pos_weight=pos_weight, dtype="float64")
    expected = ref_asl(y, p, gamma_neg, gamma_pos, clip, pos_weight)
    assert_allclose(value(loss, y, p), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("pos_weight", POS_WEIGHTS)
def test_focal_without_focus_or_alpha_is_bce(data, pos_weight):
    y, p = data
    focal = FocalLoss(gamma=0, alpha=None, pos_weight=pos_weight, dtype="float64")
    bce = BinaryCrossentropy(pos_weight=pos_weight, dtype="float64")
    assert_allclose(value(focal, y, p), value(bce, y, p), rtol=1e-12)


@pytest.mark.parametrize("clip", [0, None])
@pytest.mark.parametrize("pos_weight", POS_WEIGHTS)
def test_asl_without_focus_or_clip_is_bce(data, clip, pos_weight):
    y, p = data
    asl = AsymmetricLoss(gamma_neg=0, gamma_pos=0, clip=clip, pos_weight=pos_weight)
    bce = BinaryCrossentropy(pos_weight=pos_weight)
    assert_allclose(value(asl, y, p), value(bce, y, p), rtol=1e-6)


def test_unreduced_loss_is_mean_over_labels(data):
    y, p = data
    per_sample = keras.ops.convert_to_numpy(
        BinaryCrossentropy(reduction=None, dtype="float64")(y, p)
    )
    assert per_sample.shape == (y.shape[0],)
    assert_allclose(per_sample.mean(), ref_bce(y, p), rtol=1e-6)


def test_pos_weight_length_must_match_labels(data):
    y, p = data
    with pytest.raises(ValueError, match="pos_weight has 2 entries but y_pred has 5"):
        BinaryCrossentropy(pos_weight=[1.0, 2.0])(y, p)


# ----------------------------------------------------------------------- protocols

LOSSES = [
    BinaryCrossentropy(pos_weight=[1.0, 2.0, 3.0, 4.0, 5.0]),
    FocalLoss(gamma=1.5, alpha=None, pos_weight=2.0),
    AsymmetricLoss(gamma_neg=3.0, gamma_pos=1.0, clip=None, pos_weight=np.arange(1.0, 6.0)),
]


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_pickle_round_trip(data, loss):
    y, p = data
    restored = pickle.loads(pickle.dumps(loss))
    assert type(restored) is type(loss)
    assert restored.get_params() == loss.get_params()
    assert restored.get_config() == loss.get_config()
    assert value(restored, y, p) == value(loss, y, p)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_config_round_trip(data, loss):
    y, p = data
    config = loss.get_config()
    json.dumps(config)  # plain Python values only
    restored = type(loss).from_config(config)
    assert restored.get_config() == config
    assert value(restored, y, p) == value(loss, y, p)

    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"] == f"skml>{type(loss).__name__}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is type(loss)
    assert restored.get_params() == loss.get_params()


def test_config_keeps_keras_arguments():
    loss = FocalLoss(gamma=1.0, reduction="sum", name="mine", dtype="float64")
    restored = FocalLoss.from_config(loss.get_config())
    assert (restored.reduction, restored.name, restored.dtype) == ("sum", "mine", "float64")
    assert restored.get_config() == loss.get_config()


def test_saved_model_reloads(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="sgd", loss=FocalLoss(gamma=1.0, pos_weight=[1.0, 2.0, 3.0]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    loss = loaded.loss
    assert isinstance(loss, FocalLoss)
    assert loss.get_params() == {"gamma": 1.0, "alpha": 0.25, "pos_weight": [1.0, 2.0, 3.0]}


def test_get_params_are_constructor_arguments():
    assert BinaryCrossentropy().get_params() == {"pos_weight": None}
    assert FocalLoss().get_params() == {"gamma": 2.0, "alpha": 0.25, "pos_weight": None}
    assert AsymmetricLoss().get_params() == {
        "gamma_neg": 4.0,
        "gamma_pos": 0.0,
        "clip": 0.05,
        "pos_weight": None,
    }
    assert FocalLoss(pos_weight=np.array([1, 2])).get_params()["pos_weight"] == [1.0, 2.0]


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_clone_gives_equal_independent_copy(loss):
    copy = clone(loss)
    assert type(copy) is type(loss)
    assert copy is not loss
    assert copy.get_params() == loss.get_params()
    assert copy.get_config() == loss.get_config()
    copy.set_params(pos_weight=None)
    assert loss.get_params()["pos_weight"] is not None


def test_clone_keeps_keras_arguments():
    copy = clone(AsymmetricLoss(reduction="sum", name="asl", dtype="float64"))
    assert (copy.reduction, copy.name, copy.dtype) == ("sum", "asl", "float64")


def test_set_params():
    loss = FocalLoss()
    assert loss.set_params(gamma=3, alpha=None) is loss
    assert loss.get_params() == {"gamma": 3.0, "alpha": None, "pos_weight": None}
    with pytest.raises(ValueError, match=r"Invalid parameter\(s\) \['beta'\] for FocalLoss"):
        loss.set_params(beta=1)
    with pytest.raises(
        ValueError, match=r"alpha must be None or a finite number in \[0, 1\]; got 2.0"
    ):
        loss.set_params(gamma=1.0, alpha=2.0)
    assert loss.gamma == 3.0  # nothing changes when a value is rejected


def test_repr_and_hash():
    loss = AsymmetricLoss(clip=None, pos_weight=[1.0, 2.0])
    assert repr(loss) == (
        "AsymmetricLoss(gamma_neg=4.0, gamma_pos=0.0, clip=None, pos_weight=[1.0, 2.0])"
    )
    assert {loss: 1}[loss] == 1


class Holder(BaseEstimator):
    def __init__(self, loss=None):
        self.loss = loss


def test_nested_params_in_an_estimator():
    holder = Holder(loss=FocalLoss())
    params = holder.get_params(deep=True)
    assert {"loss__gamma", "loss__alpha", "loss__pos_weight"} <= set(params)
    assert "loss__reduction" not in params
    holder.set_params(loss__gamma=3)
    assert holder.loss.gamma == 3.0

    copy = clone(holder)
    assert copy.loss is not holder.loss
    assert copy.loss.get_params() == holder.loss.get_params()
    copy.set_params(loss__alpha=0.5)
    assert holder.loss.alpha == 0.25
    assert "FocalLoss(gamma=3.0" in repr(holder)


@pytest.mark.parametrize(
    "loss",
    [
        BinaryCrossentropy(pos_weight=[1.0, 2.0, 3.0]),
        FocalLoss(alpha=None),
        AsymmetricLoss(),
        # Starts with most probabilities below the clip: the shifted negatives must give
        # finite gradients even with gamma_neg < 1 (JAX and torch would give nan at 0).
        pytest.param(
            AsymmetricLoss(gamma_neg=0.5, gamma_pos=1.0, clip=0.2, pos_weight=2.0),
            marks=pytest.mark.slow,
        ),
    ],
    ids=["bce", "focal", "asl", "asl-clipped"],
)
def test_training_decreases_loss(loss):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype("float32")
    y = (X[:, :3] + 0.3 * rng.normal(size=(64, 3)) > 0).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                3, activation="sigmoid", bias_initializer=keras.initializers.Constant(-3.0)
            ),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    history = model.fit(X, y, epochs=2, batch_size=64, verbose=0).history["loss"]
    assert np.all(np.isfinite(history))
    assert history[1] < history[0]
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


# ----------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: FocalLoss(gamma=-1), r"gamma must be a finite number in \[0, inf\); got -1"),
        (lambda: FocalLoss(gamma="2"), "gamma must be a finite number in .*; got '2'"),
        (lambda: FocalLoss(gamma=np.inf), "gamma must be a finite number in .*; got inf"),
        (lambda: FocalLoss(alpha=1.5), r"alpha must be None or a finite number in \[0, 1\]"),
        (lambda: FocalLoss(alpha=-0.1), r"alpha must be None or a finite number in \[0, 1\]"),
        (lambda: AsymmetricLoss(gamma_neg=-2), r"gamma_neg must be a finite number in \[0, inf\)"),
        (lambda: AsymmetricLoss(gamma_pos=-2), r"gamma_pos must be a finite number in \[0, inf\)"),
        (
            lambda: AsymmetricLoss(clip=1.0),
            r"clip must be None or a finite number in \[0, 1\); got 1.0",
        ),
        (lambda: AsymmetricLoss(clip=-0.1), r"clip must be None or a finite number in \[0, 1\)"),
        (
            lambda: BinaryCrossentropy(pos_weight=-1.0),
            r"pos_weight must be a finite number in \[0, inf\)",
        ),
        (
            lambda: BinaryCrossentropy(pos_weight=np.nan),
            "pos_weight must be a finite number.*got nan",
        ),
        (
            lambda: FocalLoss(pos_weight=[1.0, -2.0]),
            r"pos_weight must hold finite values in \[0, inf\); got 1: -2.0",
        ),
        (lambda: FocalLoss(pos_weight=[[1.0, 2.0]]), r"shape \(n_labels,\), got an array"),
        (lambda: FocalLoss(pos_weight=[]), r"shape \(n_labels,\), got an array"),
        (lambda: FocalLoss(pos_weight="heavy"), "pos_weight must be None, a number or"),
    ],
)
def test_bad_params_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------- get_loss


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("binary_crossentropy", BinaryCrossentropy),
        ("bce", BinaryCrossentropy),
        ("focal", FocalLoss),
        ("asymmetric", AsymmetricLoss),
        ("asl", AsymmetricLoss),
    ],
)
def test_get_loss_from_string(name, cls):
    loss = get_loss(name, pos_weight=np.array([1.0, 3.0]))
    assert type(loss) is cls
    assert loss.pos_weight == [1.0, 3.0]
    assert get_loss(name).pos_weight is None
    assert get_loss(name) is not get_loss(name)


def test_get_loss_copies_instances():
    user = FocalLoss(gamma=1.0)
    loss = get_loss(user, pos_weight=[2.0, 3.0])
    assert loss is not user
    assert loss.get_params() == {"gamma": 1.0, "alpha": 0.25, "pos_weight": [2.0, 3.0]}
    assert user.pos_weight is None

    own = FocalLoss(pos_weight=4.0)
    assert get_loss(own).get_params() == own.get_params()
    assert get_loss(own) is not own
    with pytest.raises(ValueError, match="already has a pos_weight"):
        get_loss(own, pos_weight=[1.0, 2.0])


def test_get_loss_passes_other_losses_through():
    keras_loss = keras.losses.BinaryCrossentropy()
    assert get_loss(keras_loss) is keras_loss
    assert get_loss(keras.losses.binary_crossentropy) is keras.losses.binary_crossentropy
    with pytest.raises(ValueError, match="class_weight needs an skml loss"):
        get_loss(keras_loss, pos_weight=[1.0])


def test_get_loss_rejects_unknown():
    with pytest.raises(ValueError, match=r"Unknown loss 'mse'; the allowed strings are \["):
        get_loss("mse")
    with pytest.raises(TypeError, match="loss must be a string"):
        get_loss(3)


def test_losses_is_the_one_read_only_registry_of_names():
    registry = skml.losses.LOSSES
    assert set(registry) == {"binary_crossentropy", "bce", "focal", "asymmetric", "asl"}
    with pytest.raises(TypeError):
        registry["mse"] = BinaryCrossentropy
    for name, factory in registry.items():
        assert type(get_loss(name)) is factory
    with pytest.raises(ValueError) as excinfo:
        get_loss("mse")
    assert f"the allowed strings are {sorted(registry)}" in str(excinfo.value)


def test_compute_pos_weight_keyed_and_scalar_weights():
    y = np.array([[1, 0, 1], [0, 1, 1]])
    by_name = compute_pos_weight(y, {"eel": 3.0}, label_names=["cat", "dog", "eel"])
    assert_allclose(by_name, [1.0, 1.0, 3.0])
    pd = pytest.importorskip("pandas")
    series = pd.Series([2.0, 4.0], index=["eel", "cat"])
    assert_allclose(compute_pos_weight(y, series, label_names=["cat", "dog", "eel"]), [4, 1, 2])
    assert_allclose(compute_pos_weight(y, 2.0), [2.0, 2.0, 2.0])


# ----------------------------------------------------------------------- compute_pos_weight


def test_compute_pos_weight_balanced():
    y = np.zeros((1500, 5), dtype=int)
    y[:2, 0] = 1  # 2 positives: 749 unbounded
    y[:300, 1] = 1  # 1200 / 300
    y[:, 2] = 0  # no positives
    y[:, 3] = 1  # no negatives
    y[:1400, 4] = 1  # 100 / 1400: bounded below
    weights = compute_pos_weight(y, "balanced")
    assert_allclose(weights, [10.0, 4.0, 1.0, 1.0, 0.1])
    assert_allclose(compute_pos_weight(y, "balanced", max_weight=None)[[0, 4]], [749, 1 / 14])
    assert_allclose(compute_pos_weight(y, "balanced", max_weight=2)[:2], [2.0, 2.0])


def test_compute_pos_weight_explicit():
    y = np.array([[1, 0, 1], [0, 1, 1]])
    assert compute_pos_weight(y, None) is None
    assert_allclose(compute_pos_weight(y, [1, 2.5, 0]), [1.0, 2.5, 0.0])
    assert_allclose(compute_pos_weight(y, {2: 3.0}), [1.0, 1.0, 3.0])
    names = ["cat", "dog", "eel"]
    assert_allclose(compute_pos_weight(y, {"dog": 5}, label_names=names), [1.0, 5.0, 1.0])


def test_compute_pos_weight_accepts_sparse():
    sparse = pytest.importorskip("scipy.sparse")
    y = np.array([[1, 0], [0, 0], [0, 1], [0, 1]])
    weights = compute_pos_weight(sparse.csr_matrix(y), "balanced")
    assert_allclose(weights, [3.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"class_weight": "auto"}, "class_weight must be None, 'balanced'"),
        ({"class_weight": [1.0, 2.0]}, r"class_weight has shape \(2,\) but y has 3 labels"),
        ({"class_weight": [1.0, -2.0, 1.0]}, "class_weight must hold finite values.*got 1: -2.0"),
        ({"class_weight": [1.0, np.nan, 1.0]}, "class_weight must hold finite values.*got 1: nan"),
        (
            {"class_weight": {"bat": 2.0, "dog": 1.0}, "label_names": ["cat", "dog", "eel"]},
            r"class_weight names unknown label\(s\) \['bat'\]; the labels are \['cat'",
        ),
        ({"class_weight": {5: 2.0}}, r"unknown label\(s\) \[5\]; the labels are \[0, 1, 2\]"),
        ({"class_weight": {0: -1.0}}, "class_weight must hold finite values.*got 0: -1.0"),
        ({"class_weight": {0: np.inf}}, "class_weight must hold finite values.*got 0: inf"),
        ({"class_weight": {"a": 1.0}, "label_names": ["a"]}, "label_names has 1 entries"),
        ({"class_weight": "balanced", "max_weight": 0.5}, "max_weight must be None or a"),
    ],
)
def test_compute_pos_weight_rejects(kwargs, match):
    y = np.array([[1, 0, 1], [0, 1, 1]])
    with pytest.raises(ValueError, match=match):
        compute_pos_weight(y, **kwargs)


def test_compute_pos_weight_checks_y():
    with pytest.raises(ValueError, match="y must be a 2-D label indicator matrix"):
        compute_pos_weight([1, 0, 1], "balanced")
    with pytest.raises(ValueError, match="y must be a 0/1 label indicator matrix; values other"):
        compute_pos_weight([[2, 0], [0, 1]], "balanced")


# ------------------------------------------------------------------ Bayes thresholds


def _expected_loss(loss, p):
    """The loss of an output ``p`` on a label that is present with probability 0.5."""
    p = np.asarray(p, dtype="float32").reshape(-1, 1)
    present, absent = loss(np.ones_like(p), p), loss(np.zeros_like(p), p)
    return 0.5 * float(present) + 0.5 * float(absent)


@pytest.mark.parametrize(
    "loss",
    [
        FocalLoss(),
        FocalLoss(gamma=1.0, alpha=0.7),
        FocalLoss(pos_weight=4.0),
        AsymmetricLoss(),
        AsymmetricLoss(gamma_neg=2.0, gamma_pos=1.0, clip=0.0),
        AsymmetricLoss(pos_weight=0.5),
    ],
    ids=repr,
)
def test_bayes_threshold_minimises_the_loss_of_an_even_chance(loss):
    """Outputs trained by the loss sit at the returned value for a 50% label: its minimiser."""
    (threshold,) = bayes_thresholds(loss, 1)
    at = _expected_loss(loss, threshold)
    for step in (0.002, 0.02, 0.1):
        for p in (threshold - step, threshold + step):
            if 0 < p < 1:
                assert at <= _expected_loss(loss, p) + 1e-7, (threshold, p)
    assert not np.isclose(threshold, 0.5, atol=0.01)  # none of these is calibrated


def test_bayes_thresholds_reduce_to_bce_and_keep_unknown_losses_at_one_half():
    assert_allclose(bayes_thresholds(FocalLoss(gamma=2.0, alpha=None), 3), 0.5, atol=1e-4)
    weights = [1.0, 3.0, 0.25]
    plain_asl = AsymmetricLoss(gamma_neg=0.0, gamma_pos=0.0, clip=0.0, pos_weight=weights)
    assert_allclose(bayes_thresholds(plain_asl, 3), [0.5, 0.75, 0.2], atol=1e-4)
    assert_allclose(bayes_thresholds(BinaryCrossentropy(pos_weight=weights), 3), [0.5, 0.75, 0.2])
    assert_allclose(bayes_thresholds(FocalLoss(pos_weight=[1.0, 4.0]), 2)[0], 0.3988, atol=2e-4)
    assert_allclose(bayes_thresholds(keras.losses.BinaryCrossentropy(), 2), 0.5)
    # An extra positive weight (a binary target's w1 / w0) multiplies the loss's own.
    assert_allclose(bayes_thresholds(BinaryCrossentropy(), 1, weight=4.0), [0.8])
    assert_allclose(
        bayes_thresholds(FocalLoss(pos_weight=2.0), 2, weight=[1.0, 2.0]),
        [
            bayes_thresholds(FocalLoss(pos_weight=2.0), 1)[0],
            bayes_thresholds(FocalLoss(pos_weight=4.0), 1)[0],
        ],
    )
    assert_allclose(bayes_thresholds(keras.losses.BinaryCrossentropy(), 1, weight=4.0), 0.5)
    assert_allclose(bayes_thresholds("binary_crossentropy", 2), 0.5)

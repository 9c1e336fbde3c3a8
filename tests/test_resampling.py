import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier

from skml.resampling import MLROS, MLSMOTE, imbalance_ratio_per_label, mean_imbalance_ratio


def imbalanced_data(n_samples=600, seed=0):
    """Independent labels with positive rates from 50% down to 1%."""
    rng = np.random.RandomState(seed)
    rates = np.array([0.5, 0.35, 0.2, 0.1, 0.05, 0.02, 0.01])
    y = (rng.uniform(size=(n_samples, len(rates))) < rates).astype(int)
    X = rng.normal(size=(n_samples, 4)) + y @ rng.normal(size=(len(rates), 4))
    return X, y


@pytest.fixture(scope="module")
def data():
    return imbalanced_data()


SAMPLERS = [MLROS(random_state=0), MLSMOTE(random_state=0)]
IDS = ["MLROS", "MLSMOTE"]


# Imbalance measures


def test_imbalance_ratios():
    y = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0], [1, 1, 1]])
    assert_allclose(imbalance_ratio_per_label(y), [1, 2, 4])
    assert mean_imbalance_ratio(y) == pytest.approx(7 / 3)
    assert_allclose(imbalance_ratio_per_label(sp.csr_matrix(y)), [1, 2, 4])
    assert_allclose(imbalance_ratio_per_label(pd.DataFrame(y)), [1, 2, 4])


def test_imbalance_ratio_of_absent_label_is_inf():
    y = np.array([[1, 0, 1], [1, 0, 0]])
    assert_allclose(imbalance_ratio_per_label(y), [1, np.inf, 2])
    assert mean_imbalance_ratio(y) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="no positive label"):
        imbalance_ratio_per_label(np.zeros((3, 2)))


# Shared behaviour


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_originals_first_and_imbalance_reduced(data, sampler):
    X, y = data
    X_res, y_res = clone(sampler).fit_resample(X, y)
    n = len(y)
    assert len(X_res) == len(y_res) > n
    assert_array_equal(X_res[:n], X)
    assert_array_equal(y_res[:n], y)
    assert mean_imbalance_ratio(y_res) < mean_imbalance_ratio(y)
    before, after = y.sum(axis=0), y_res.sum(axis=0)
    minority = imbalance_ratio_per_label(y) > mean_imbalance_ratio(y)
    assert (after[minority] > before[minority]).all()
    # The minority labels grow by a larger factor than the most frequent label.
    growth = after / before
    assert growth[minority].min() > growth[np.argmax(before)]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_random_state_gives_same_output(data, sampler):
    X, y = data
    a = clone(sampler).fit_resample(X, y)
    b = clone(sampler).fit_resample(X, y)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[1], b[1])
    c = clone(sampler).set_params(random_state=1).fit_resample(X, y)
    assert not np.array_equal(a[0][len(X) :], c[0][len(X) :])


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_input_not_modified(data, sampler):
    X, y = data
    X_copy, y_copy = X.copy(), y.copy()
    X_res, y_res = clone(sampler).fit_resample(X, y)
    X_res[:] = -1
    y_res[:] = 0
    assert_array_equal(X, X_copy)
    assert_array_equal(y, y_copy)


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_pandas_in_pandas_out(data, sampler):
    X, y = data
    X_df = pd.DataFrame(X, columns=list("abcd"), index=np.arange(len(X)) + 1000)
    y_df = pd.DataFrame(y, columns=[f"label{j}" for j in range(y.shape[1])])
    X_res, y_res = clone(sampler).fit_resample(X_df, y_df)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.DataFrame)
    assert list(X_res.columns) == list("abcd")
    assert list(y_res.columns) == list(y_df.columns)
    assert_array_equal(X_res.index, np.arange(len(X_res)))
    assert_allclose(X_res.to_numpy()[: len(X)], X)
    X_np, y_np = clone(sampler).fit_resample(X, y)
    assert_allclose(X_res.to_numpy(), X_np)
    assert_array_equal(y_res.to_numpy(), y_np)


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_fitted_statistics(data, sampler):
    X, y = data
    fitted = clone(sampler).fit(X, y)
    assert_allclose(fitted.imbalance_ratio_per_label_, imbalance_ratio_per_label(y))
    assert fitted.mean_imbalance_ratio_ == pytest.approx(mean_imbalance_ratio(y))
    assert_array_equal(
        fitted.minority_labels_,
        np.flatnonzero(imbalance_ratio_per_label(y) > mean_imbalance_ratio(y)),
    )


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_in_imblearn_pipeline(sampler):
    pipeline_module = pytest.importorskip("imblearn.pipeline")
    from imblearn.base import is_sampler

    assert is_sampler(sampler)
    X, y = make_multilabel_classification(n_samples=120, n_classes=5, random_state=0)
    pipe = pipeline_module.Pipeline(
        [("sampler", clone(sampler)), ("clf", MultiOutputClassifier(LogisticRegression()))]
    )
    pipe.fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert hasattr(pipe.named_steps["sampler"], "mean_imbalance_ratio_")


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
@pytest.mark.parametrize(
    "X, y, match",
    [
        (
            np.zeros((4, 2)),
            np.array([[0, 2], [1, 0], [1, 1], [0, 1]]),
            "y must be a 0/1 label indicator matrix; values other than 0/1 found: 2",
        ),
        (np.zeros((4, 2)), np.array([0, 1, 1, 0]), "must be a 2-D label indicator"),
        (np.zeros((3, 2)), np.array([[0, 1], [1, 0], [1, 1], [0, 1]]), "3 and 4"),
        (np.zeros((4, 2)), np.array([[0, 1], [1, np.nan], [1, 1], [0, 1]]), "NaN"),
        (np.zeros((4, 2)), None, "requires y to be passed, but the target y is None"),
    ],
)
def test_bad_input(sampler, X, y, match):
    with pytest.raises(ValueError, match=match):
        clone(sampler).fit_resample(X, y)


@pytest.mark.parametrize(
    "sampler, match",
    [
        (MLROS(percentage=0), "'percentage' parameter"),
        (MLROS(percentage="25"), "'percentage' parameter"),
        (MLSMOTE(k_neighbors=0), "'k_neighbors' parameter"),
        (MLSMOTE(label_generation="vote"), "'label_generation' parameter"),
    ],
)
def test_bad_parameters(data, sampler, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        sampler.fit_resample(X, y)


# ML-ROS


def test_mlros_grows_by_percentage(data):
    X, y = data
    # 2% is less than the 30 clones that bring the minority labels to MeanIR here.
    sampler = MLROS(percentage=2, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert len(y_res) == len(y) + 12
    clones = sampler.sample_indices_[len(y) :]
    assert_array_equal(sampler.sample_indices_[: len(y)], np.arange(len(y)))
    assert_array_equal(X_res[len(y) :], X[clones])
    # Every clone carries a minority label.
    assert y[clones][:, sampler.minority_labels_].any(axis=1).all()


def test_mlros_stops_when_minority_labels_reach_mean_ir(data):
    X, y = data
    sampler = MLROS(percentage=25, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    n_new = len(y_res) - len(y)
    assert 12 < n_new < 150
    ratios = y_res.sum(axis=0).max() / y_res.sum(axis=0)
    assert (ratios[sampler.minority_labels_] <= sampler.mean_imbalance_ratio_).all()


def test_mlros_without_minority_labels_returns_copy():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    X = np.arange(8).reshape(4, 2)
    X_res, y_res = MLROS().fit_resample(X, y)
    assert_array_equal(X_res, X)
    assert X_res is not X and y_res is not y


def test_mlros_sparse_list_and_nan_x(data):
    X, y = data
    X_res, y_res = MLROS(random_state=0).fit_resample(X, y)
    X_sp, y_sp = MLROS(random_state=0).fit_resample(sp.csr_matrix(X), sp.csr_matrix(y))
    assert sp.issparse(X_sp) and sp.issparse(y_sp)
    assert_allclose(X_sp.toarray(), X_res)
    assert_array_equal(y_sp.toarray(), y_res)
    texts = [f"document {i}" for i in range(len(y))]
    texts_res, _ = MLROS(random_state=0).fit_resample(texts, y)
    assert texts_res[: len(y)] == texts and len(texts_res) == len(y_res)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    X_nan_res, _ = MLROS(random_state=0).fit_resample(X_nan, y)  # only cloned, never read
    assert np.isnan(X_nan_res[0, 0])


# MLSMOTE


def test_mlsmote_synthetic_samples_lie_between_bag_samples(data):
    X, y = data
    sampler = MLSMOTE(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    first = sampler.minority_labels_[0]
    n_first = y[:, first].sum()
    X_new, y_new = X_res[len(X) : len(X) + n_first], y_res[len(X) : len(X) + n_first]
    # The first block is made from the bag of the first minority label.
    assert y_new[:, first].all()
    bag = X[y[:, first] == 1]
    assert (X_new >= bag.min(axis=0) - 1e-12).all() and (X_new <= bag.max(axis=0) + 1e-12).all()
    assert not any((X_new == row).all(axis=1).any() for row in bag)


def test_mlsmote_label_generation_nesting():
    # One minority label only, so the features are the same in all three modes.
    rng = np.random.RandomState(0)
    y = np.column_stack(
        [rng.uniform(size=300) < 0.6, rng.uniform(size=300) < 0.5, rng.uniform(size=300) < 0.05]
    ).astype(int)
    X = rng.normal(size=(300, 3))
    outputs = {
        mode: MLSMOTE(label_generation=mode, random_state=0).fit_resample(X, y)
        for mode in ("intersection", "ranking", "union")
    }
    assert_allclose(outputs["ranking"][0], outputs["union"][0])
    assert_allclose(outputs["ranking"][0], outputs["intersection"][0])
    inter, rank, union = (outputs[m][1][len(y) :] for m in ("intersection", "ranking", "union"))
    assert (inter <= rank).all() and (rank <= union).all()
    assert inter[:, 2].all()
    assert (inter != union).any()


def test_mlsmote_few_samples_warn_and_fall_back():
    rng = np.random.RandomState(0)
    y = np.zeros((60, 3), dtype=int)
    y[:, 0] = 1
    y[:30, 1] = 1
    y[:3, 2] = 1  # 3 samples < k_neighbors + 1
    X = rng.normal(size=(60, 2))
    with pytest.warns(UserWarning, match="label 2: 3 sample"):
        X_res, y_res = MLSMOTE(k_neighbors=5, random_state=0).fit_resample(X, y)
    assert len(y_res) == 63
    y[1:3, 2] = 0  # a single sample is duplicated
    with pytest.warns(UserWarning, match="label 2: 1 sample"):
        X_res, y_res = MLSMOTE(k_neighbors=5, random_state=0).fit_resample(X, y)
    assert_array_equal(X_res[60], X[0])
    assert_array_equal(y_res[60], y[0])


def test_mlsmote_rejects_sparse_and_nan_x(data):
    X, y = data
    with pytest.raises(TypeError, match="MLSMOTE needs dense numeric X"):
        MLSMOTE().fit_resample(sp.csr_matrix(X), y)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLSMOTE().fit_resample(X_nan, y)


def test_mlsmote_integer_x_gives_float_output(data):
    X, y = data
    X_res, _ = MLSMOTE(random_state=0).fit_resample(np.round(X * 10).astype(int), y)
    assert X_res.dtype == np.float64

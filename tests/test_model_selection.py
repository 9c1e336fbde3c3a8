import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import make_multilabel_classification
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ShuffleSplit,
    cross_validate,
    train_test_split,
)
from sklearn.neighbors import KNeighborsClassifier

from skml.model_selection import (
    MultilabelStratifiedKFold,
    MultilabelStratifiedShuffleSplit,
    RepeatedMultilabelStratifiedKFold,
    _rebalance,
    multilabel_train_test_split,
)

# Largest |positive rate in train - positive rate in test| allowed for any label of DATA.
RATE_TOL = 0.02


@pytest.fixture(scope="module")
def data():
    X, y = make_multilabel_classification(
        n_samples=2000, n_features=10, n_classes=10, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def small():
    # Seed 2 gives a rare label (11 of 101 rows); seed 1 did too, after 1.6 s of resampling.
    X, y = make_multilabel_classification(n_samples=101, n_features=5, n_classes=4, random_state=2)
    return X, y


def max_rate_gap(y, train, test):
    return np.abs(y[train].mean(axis=0) - y[test].mean(axis=0)).max()


def assert_partition(n_samples, folds):
    seen = np.concatenate([test for _, test in folds])
    assert_array_equal(np.sort(seen), np.arange(n_samples))
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0
        assert_array_equal(np.union1d(train, test), np.arange(n_samples))


def as_list(cv, X, y):
    return [(train, test) for train, test in cv.split(X, y)]


def assert_same_splits(a, b):
    assert len(a) == len(b)
    for (train_a, test_a), (train_b, test_b) in zip(a, b, strict=True):
        assert_array_equal(train_a, train_b)
        assert_array_equal(test_a, test_b)


# MultilabelStratifiedKFold


@pytest.mark.parametrize("n_splits", [2, 3, 5])
def test_kfold_partitions_with_exact_sizes(small, n_splits):
    X, y = small
    folds = as_list(MultilabelStratifiedKFold(n_splits, random_state=0), X, y)
    assert len(folds) == n_splits
    assert_partition(len(y), folds)
    # As KFold: the first n_samples % n_splits folds are one larger, here in any order.
    sizes = sorted(len(test) for _, test in folds)
    expected = sorted(len(test) for _, test in KFold(n_splits).split(X))
    assert sizes == expected


def test_kfold_stratifies(data):
    X, y = data
    for train, test in MultilabelStratifiedKFold(5, random_state=0).split(X, y):
        assert max_rate_gap(y, train, test) <= RATE_TOL


def test_kfold_random_state_gives_same_folds(small):
    X, y = small
    cv = MultilabelStratifiedKFold(3, random_state=42)
    assert_same_splits(as_list(cv, X, y), as_list(cv, X, y))
    other = as_list(MultilabelStratifiedKFold(3, random_state=7), X, y)
    assert any(
        not np.array_equal(a[1], b[1]) for a, b in zip(as_list(cv, X, y), other, strict=True)
    )


@pytest.mark.parametrize("random_state", [None, 3])
def test_kfold_without_shuffle_is_deterministic(small, random_state):
    X, y = small
    cv = MultilabelStratifiedKFold(3, shuffle=False, random_state=random_state)
    first = as_list(cv, X, y)
    assert_partition(len(y), first)
    assert_same_splits(first, as_list(cv, X, y))


def test_kfold_shuffle_without_random_state_varies(data):
    X, y = data
    cv = MultilabelStratifiedKFold(5)
    assert not np.array_equal(next(cv.split(X, y))[1], next(cv.split(X, y))[1])


def test_kfold_accepts_sparse_and_dataframe_y(small):
    X, y = small
    cv = MultilabelStratifiedKFold(3, random_state=0)
    expected = as_list(cv, X, y)
    assert_same_splits(expected, as_list(cv, X, sp.csr_matrix(y)))
    assert_same_splits(expected, as_list(cv, pd.DataFrame(X), pd.DataFrame(y)))


def test_kfold_repr_and_n_splits():
    cv = MultilabelStratifiedKFold(4, random_state=1)
    assert repr(cv) == "MultilabelStratifiedKFold(n_splits=4, random_state=1, shuffle=True)"
    assert cv.get_n_splits() == 4


def test_kfold_single_label_column(small):
    X, y = small
    folds = as_list(MultilabelStratifiedKFold(3, random_state=0), X, y[:, :1])
    assert_partition(len(y), folds)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array([0, 1] * 10), "must be a 2-D label indicator matrix"),
        (
            np.array([[0, 2]] * 20),
            "y must be a 0/1 label indicator matrix; values other than 0/1 found: 2",
        ),
        (None, "requires y to be passed, but the target y is None"),
    ],
)
def test_kfold_rejects_bad_y(y, match):
    with pytest.raises(ValueError, match=match):
        next(MultilabelStratifiedKFold(2).split(np.zeros((20, 1)), y))


def test_kfold_rejects_bad_parameters(small):
    X, y = small
    with pytest.raises(ValueError, match="n_splits=2 or more"):
        MultilabelStratifiedKFold(1)
    with pytest.raises(ValueError, match="n_splits must be an integer"):
        MultilabelStratifiedKFold(2.5)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        MultilabelStratifiedKFold(2, shuffle="yes")
    with pytest.raises(ValueError, match="greater than the number of samples"):
        next(MultilabelStratifiedKFold(5).split(X[:3], y[:3]))


def test_rebalance_reaches_exact_sizes_and_keeps_strata(data):
    _, y = data
    y = y.astype(bool)
    rng = np.random.RandomState(0)
    parts = np.r_[np.zeros(1300, dtype=int), np.ones(700, dtype=int)]
    rng.shuffle(parts)
    fixed = _rebalance(y, parts.copy(), np.array([1500, 500]), rng)
    assert_array_equal(np.bincount(fixed), [1500, 500])
    # Exactly the 200 samples needed move, all from the oversized part 1.
    assert (fixed != parts).sum() == 200
    assert_array_equal(fixed[parts == 0], 0)


# RepeatedMultilabelStratifiedKFold


def test_repeated_kfold(small):
    X, y = small
    cv = RepeatedMultilabelStratifiedKFold(3, n_repeats=2, random_state=0)
    splits = as_list(cv, X, y)
    assert cv.get_n_splits() == len(splits) == 6
    assert_partition(len(y), splits[:3])
    assert_partition(len(y), splits[3:])
    assert not np.array_equal(splits[0][1], splits[3][1])
    assert_same_splits(splits, as_list(cv, X, y))
    assert repr(cv) == (
        "RepeatedMultilabelStratifiedKFold(n_repeats=2, n_splits=3, random_state=0)"
    )


def test_repeated_kfold_rejects_1d_y():
    cv = RepeatedMultilabelStratifiedKFold(2, n_repeats=2)
    with pytest.raises(ValueError, match="2-D label indicator"):
        next(cv.split(np.zeros((10, 1)), np.arange(10) % 2))


# MultilabelStratifiedShuffleSplit


@pytest.mark.parametrize(
    "test_size, train_size, n_train, n_test",
    [
        (None, None, 1800, 200),  # ShuffleSplit's default test_size=0.1
        (0.25, None, 1500, 500),
        (None, 0.7, 1400, 600),
        (400, 1000, 1000, 400),
        (0.2, 0.5, 1000, 400),
        (333, None, 1667, 333),
        (0.1234, None, 1753, 247),  # test rounds up, as in scikit-learn
    ],
)
def test_shuffle_split_exact_sizes(data, test_size, train_size, n_train, n_test):
    X, y = data
    cv = MultilabelStratifiedShuffleSplit(
        2, test_size=test_size, train_size=train_size, random_state=0
    )
    reference = ShuffleSplit(2, test_size=test_size, train_size=train_size, random_state=0)
    ref_train, ref_test = next(reference.split(X))
    assert (len(ref_train), len(ref_test)) == (n_train, n_test)
    for train, test in cv.split(X, y):
        assert (len(train), len(test)) == (n_train, n_test)
        assert np.intersect1d(train, test).size == 0
        assert max_rate_gap(y, train, test) <= RATE_TOL


def test_shuffle_split_beats_random_split(data):
    X, y = data
    stratified = MultilabelStratifiedShuffleSplit(5, test_size=0.2, random_state=0)
    plain = ShuffleSplit(5, test_size=0.2, random_state=0)
    stratified_gap = max(max_rate_gap(y, tr, te) for tr, te in stratified.split(X, y))
    plain_gap = min(max_rate_gap(y, tr, te) for tr, te in plain.split(X))
    assert stratified_gap < plain_gap


def test_shuffle_split_determinism(small):
    X, y = small
    cv = MultilabelStratifiedShuffleSplit(3, test_size=0.3, random_state=5)
    splits = as_list(cv, X, y)
    assert_same_splits(splits, as_list(cv, X, y))
    assert not np.array_equal(splits[0][1], splits[1][1])
    assert cv.get_n_splits() == 3
    assert " ".join(repr(cv).split()) == (
        "MultilabelStratifiedShuffleSplit(n_splits=3, random_state=5, test_size=0.3, "
        "train_size=None)"
    )


def test_shuffle_split_rejects_bad_sizes(small):
    X, y = small
    with pytest.raises(ValueError, match="test_size=1.5"):
        next(MultilabelStratifiedShuffleSplit(test_size=1.5).split(X, y))
    with pytest.raises(ValueError, match="should be smaller than the number of samples"):
        next(MultilabelStratifiedShuffleSplit(test_size=60, train_size=60).split(X, y))


# multilabel_train_test_split


def test_train_test_split_sizes_and_strata(data):
    X, y = data
    X_train, X_test, y_train, y_test = multilabel_train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    assert (len(X_train), len(X_test)) == (1500, 500)
    gap = np.abs(y_train.mean(axis=0) - y_test.mean(axis=0)).max()
    assert gap <= RATE_TOL
    random_gaps = []
    for seed in range(5):
        _, _, r_train, r_test = train_test_split(X, y, test_size=0.25, random_state=seed)
        random_gaps.append(np.abs(r_train.mean(axis=0) - r_test.mean(axis=0)).max())
    assert gap < min(random_gaps)
    # Rows stay paired.
    rows = {tuple(row): i for i, row in enumerate(X)}
    idx = [rows[tuple(row)] for row in X_test]
    assert_array_equal(y[idx], y_test)


def test_train_test_split_train_and_test_below_n(data):
    X, y = data
    parts = multilabel_train_test_split(X, y, train_size=1000, test_size=400, random_state=0)
    assert [len(p) for p in parts] == [1000, 400, 1000, 400]
    assert np.abs(parts[2].mean(axis=0) - parts[3].mean(axis=0)).max() <= RATE_TOL


def test_train_test_split_matches_shuffle_split(small):
    X, y = small
    _, _, _, y_test = multilabel_train_test_split(X, y, test_size=0.3, random_state=3)
    cv = MultilabelStratifiedShuffleSplit(1, test_size=0.3, random_state=3)
    _, test = next(cv.split(X, y))
    assert_array_equal(y_test, y[test])


def test_train_test_split_types(small):
    X, y = small
    X_df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    y_df = pd.DataFrame(y, columns=list("abcd"))
    parts = multilabel_train_test_split(
        X_df, sp.csr_matrix(X), X.tolist(), y_df, test_size=21, random_state=0
    )
    assert isinstance(parts[0], pd.DataFrame) and list(parts[0].columns) == list(X_df.columns)
    assert sp.issparse(parts[2]) and parts[3].shape == (21, 5)
    assert isinstance(parts[4], list) and len(parts[5]) == 21
    assert isinstance(parts[7], pd.DataFrame) and len(parts[7]) == 21
    assert_array_equal(parts[0].index, parts[6].index)


def test_train_test_split_stratify_keyword(small):
    X, y = small
    a = multilabel_train_test_split(X, test_size=0.2, random_state=0, stratify=y)
    b = multilabel_train_test_split(X, y, test_size=0.2, random_state=0)
    assert_array_equal(a[1], b[1])


def test_train_test_split_without_shuffle(small):
    X, y = small
    a = multilabel_train_test_split(X, y, shuffle=False)
    b = multilabel_train_test_split(X, y, shuffle=False)
    assert_array_equal(a[1], b[1])
    assert len(a[1]) == 26  # default test_size=0.25, rounded up
    c = multilabel_train_test_split(X, y, shuffle=False, random_state=1)
    assert len(c[1]) == 26


def test_train_test_split_errors(small):
    X, y = small
    with pytest.raises(ValueError, match="At least one array"):
        multilabel_train_test_split()
    with pytest.raises(ValueError, match="last array, used as stratify"):
        multilabel_train_test_split(X, y[:, 0])
    with pytest.raises(ValueError, match="stratify has 50 samples"):
        multilabel_train_test_split(X, stratify=y[:50])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        multilabel_train_test_split(X[:50], y)


# Use with scikit-learn


def test_cross_validate_and_grid_search(small):
    X, y = small
    clf = KNeighborsClassifier()
    result = cross_validate(
        clf, X, y, cv=MultilabelStratifiedKFold(3, random_state=0), return_indices=True
    )
    assert len(result["test_score"]) == 3
    assert_partition(
        len(y), list(zip(result["indices"]["train"], result["indices"]["test"], strict=True))
    )
    for cv in (
        RepeatedMultilabelStratifiedKFold(2, n_repeats=2, random_state=0),
        MultilabelStratifiedShuffleSplit(2, test_size=0.3, random_state=0),
    ):
        search = GridSearchCV(clf, {"n_neighbors": [3, 5]}, cv=cv).fit(X, y)
        assert len(search.cv_results_["split0_test_score"]) == 2
        assert search.n_splits_ == cv.get_n_splits()

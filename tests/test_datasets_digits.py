"""make_multilabel_digits: images of handwritten digits, labelled by the digits drawn."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skml.datasets import make_multilabel_digits


def test_make_multilabel_digits_shapes_and_range():
    bunch = make_multilabel_digits(60, random_state=0)
    assert bunch.data.shape == (60, 32, 32, 1)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() == 0 and 0.9 < bunch.data.max() <= 1
    assert bunch.target.shape == (60, 13)
    assert bunch.target.dtype == np.int64
    assert list(bunch.target_names[:10]) == [f"digit_{d}" for d in range(10)]
    assert list(bunch.target_names[10:]) == ["has_even_digit", "has_digit_gt_5", "has_prime_digit"]
    X, y = make_multilabel_digits(
        5,
        canvas_size=24,
        digit_size=8,
        max_digits=4,
        derived_labels=False,
        flatten=True,
        return_X_y=True,
        random_state=0,
    )
    assert X.shape == (5, 24 * 24) and y.shape == (5, 10)


def test_make_multilabel_digits_deterministic():
    a = make_multilabel_digits(30, random_state=7)
    b = make_multilabel_digits(30, random_state=7)
    c = make_multilabel_digits(30, random_state=8)
    assert_array_equal(a.data, b.data)
    assert_array_equal(a.target, b.target)
    assert not np.array_equal(a.data, c.data)
    g1 = make_multilabel_digits(5, random_state=np.random.default_rng(3), return_X_y=True)
    g2 = make_multilabel_digits(5, random_state=np.random.default_rng(3), return_X_y=True)
    assert_array_equal(g1[0], g2[0])


@pytest.mark.parametrize(("min_digits", "max_digits"), [(1, 3), (0, 2), (4, 4)])
def test_make_multilabel_digits_labels_match_drawn_digits(min_digits, max_digits):
    size = 12
    bunch = make_multilabel_digits(
        80, min_digits=min_digits, max_digits=max_digits, digit_size=size, random_state=1
    )
    Y = bunch.target
    for i in range(len(Y)):
        drawn = bunch.digits[i][bunch.digits[i] >= 0]
        assert min_digits <= len(drawn) <= max_digits
        assert set(np.flatnonzero(Y[i, :10])) == set(drawn.tolist())
        mask = np.zeros((32, 32), dtype=bool)
        for r, c in bunch.positions[i][: len(drawn)]:
            assert not mask[r : r + size, c : c + size].any()  # no overlap
            mask[r : r + size, c : c + size] = True
        assert not bunch.data[i, ~mask].any()  # ink only inside the digit boxes
        for r, c in bunch.positions[i][: len(drawn)]:
            assert bunch.data[i, r : r + size, c : c + size].max() > 0.5
    digit_labels = Y[:, :10].astype(bool)
    assert_array_equal(Y[:, 10], digit_labels[:, [0, 2, 4, 6, 8]].any(axis=1))
    assert_array_equal(Y[:, 11], digit_labels[:, 6:].any(axis=1))
    assert_array_equal(Y[:, 12], digit_labels[:, [2, 3, 5, 7]].any(axis=1))
    assert Y[:, :10].sum(axis=0).min() > 0  # every class occurs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"canvas_size": 20, "max_digits": 2}, r"canvas_size=20 is too small for max_digits=2"),
        ({"canvas_size": 32, "max_digits": 5}, r"at most 4 fit"),
        ({"min_digits": 4, "max_digits": 3}, r"min_digits must be in \[0, 3\], got 4"),
        ({"n_samples": 0}, r"n_samples must be >= 1, got 0"),
        ({"digit_size": 40}, r"digit_size=40 does not fit canvas_size=32"),
        ({"random_state": "seed"}, r"random_state must be"),
    ],
)
def test_make_multilabel_digits_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_multilabel_digits(**kwargs)

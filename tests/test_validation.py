"""skml._validation: label matrices and per-label parameters matched by name."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skml._validation import as_numeric_labels, check_label_matrix, check_per_label

LABELS = np.array(["a", "b", "c"])


@pytest.mark.parametrize(
    "value",
    [
        [0.1, 0.5, 0.9],
        np.array([0.1, 0.5, 0.9]),
        {"c": 0.9, "a": 0.1, "b": 0.5},
        pd.Series({"c": 0.9, "a": 0.1, "b": 0.5}),
        pd.Series([0.9, 0.1], index=["c", "a"]).reindex(["b", "c", "a"]).fillna(0.5),
    ],
)
def test_per_label_values_are_matched_by_name(value):
    got = check_per_label(value, LABELS, name="threshold", default=0.5, low=0, high=1)
    np.testing.assert_array_equal(got, [0.1, 0.5, 0.9])


def test_keyed_values_leave_other_labels_at_the_default():
    got = check_per_label({"c": 2.0}, LABELS, name="class_weight", default=1.0, low=0)
    np.testing.assert_array_equal(got, [1.0, 1.0, 2.0])


def test_integer_labels_match_numpy_and_python_keys():
    got = check_per_label({np.int64(2): 0.7}, np.arange(3), name="threshold", default=0.5)
    np.testing.assert_array_equal(got, [0.5, 0.5, 0.7])


def test_scalar_applies_to_every_label():
    np.testing.assert_array_equal(
        check_per_label(0.3, LABELS, name="threshold", default=0.5), [0.3] * 3
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ({"z": 0.1, "a": 0.2}, r"threshold names unknown label\(s\) \['z'\]"),
        (pd.Series({"y": 0.1}), r"unknown label\(s\) \['y'\]"),
        ([0.1, 0.2], r"threshold has shape \(2,\) but y has 3 labels"),
        ([0.1, np.nan, 0.2], r"threshold must hold finite values in \[0, 1\]; got 'b': nan"),
        ([0.1, 1.5, 0.2], r"got 'b': 1.5"),
        ({"a": "high"}, r"threshold\['a'\] must be a number"),
        ("high", r"threshold must be a number, 3 numbers in label order"),
    ],
)
def test_bad_per_label_values_name_the_parameter(value, message):
    with pytest.raises(ValueError, match=message):
        check_per_label(value, LABELS, name="threshold", default=0.5, low=0, high=1)


@pytest.mark.parametrize("dtype", ["Int64", "boolean", "category", "int8", "float32"])
def test_label_matrix_accepts_nullable_and_category_columns(dtype):
    frame = pd.DataFrame({"a": [0, 1, 1], "b": [1, 0, 1]}).astype(dtype)
    np.testing.assert_array_equal(check_label_matrix(frame), [[0, 1], [1, 0], [1, 1]])


def test_label_matrix_from_object_array_and_sparse():
    y = np.array([[0, 1], [1, 0]], dtype=object)
    np.testing.assert_array_equal(check_label_matrix(y), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(check_label_matrix(sp.csr_matrix(y.astype(int))), y)


@pytest.mark.parametrize(
    "y",
    [
        [{"a", "b"}, {"c"}],
        [["a", "b"], ["c"]],
        [[0, 1], [1]],
        np.array([("a",), ("b", "c")], dtype=object),
    ],
)
def test_label_sets_and_ragged_lists_point_to_multilabelbinarizer(y):
    with pytest.raises(ValueError, match="MultiLabelBinarizer"):
        as_numeric_labels(y)


def test_label_matrix_errors():
    with pytest.raises(ValueError, match="only 0 and 1; got other values such as \\[2\\]"):
        check_label_matrix([[0, 2], [1, 0]])
    with pytest.raises(ValueError, match="2-D label indicator matrix"):
        check_label_matrix([0, 1, 1])
    with pytest.raises(ValueError, match="missing values"):
        check_label_matrix(pd.DataFrame({"a": pd.array([0, None], dtype="Int64")}))

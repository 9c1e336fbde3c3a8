"""Tests of the bundled bibtex data set (sparse, binary features)."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from skml.datasets import load_arff, load_bibtex
from skml.datasets._mulan import decode_binary_csr

SHARED = Path(__file__).parents[2] / "shared" / "datasets"
BIBTEX = SHARED / "bibtex"


@pytest.mark.parametrize(("subset", "n_rows"), [("train", 4880), ("test", 2515), ("all", 7395)])
def test_bibtex_shapes_and_types(subset, n_rows):
    bunch = load_bibtex(subset=subset)
    X, y = bunch.data, bunch.target
    assert sp.issparse(X) and X.format == "csr"
    assert X.shape == (n_rows, 1836) and y.shape == (n_rows, 159)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert_array_equal(np.unique(X.data), [1.0])
    assert set(np.unique(y)) == {0, 1}
    assert X.has_sorted_indices
    assert bunch.frame is None


def test_bibtex_statistics_match_mulan():
    X, y = load_bibtex(return_X_y=True)
    # PROVENANCE.md / MULAN's table: cardinality 2.40, 2856 distinct label sets.
    assert y.sum(axis=1).mean() == pytest.approx(2.40, abs=0.005)
    assert len({tuple(row) for row in y}) == 2856
    assert X.nnz == 507746
    assert (y.sum(axis=0) > 0).all()


def test_bibtex_names():
    bunch = load_bibtex()
    names = list(bunch.target_names)
    assert len(names) == 159 and len(set(names)) == 159
    assert names[:3] == ["TAG_2005", "TAG_2006", "TAG_2007"] and names[-1] == "TAG_wiki"
    assert all(name.startswith("TAG_") for name in names)
    features = list(bunch.feature_names)
    assert len(features) == 1836 and len(set(features)) == 1836
    assert features[:3] == ["0", "000", "02"]
    assert bunch.feature_names.dtype == object and bunch.target_names.dtype == object
    assert "Katakis" in bunch.DESCR and "4880" in bunch.DESCR


def test_bibtex_all_is_train_then_test():
    X, y = load_bibtex(return_X_y=True)
    X_train, y_train = load_bibtex(subset="train", return_X_y=True)
    X_test, y_test = load_bibtex(subset="test", return_X_y=True)
    assert (sp.vstack([X_train, X_test]) != X).nnz == 0
    assert_array_equal(np.vstack([y_train, y_test]), y)


@pytest.mark.slow  # pandas builds 1836 sparse columns, twice
def test_bibtex_as_frame():
    bunch = load_bibtex(subset="test", as_frame=True)
    assert bunch.data.shape == (2515, 1836) and bunch.target.shape == (2515, 159)
    assert all(str(dtype).startswith("Sparse[float64") for dtype in bunch.data.dtypes.unique())
    assert list(bunch.data.columns) == list(bunch.feature_names)
    assert list(bunch.target.columns) == list(bunch.target_names)
    assert bunch.frame.shape == (2515, 1995)
    X = load_bibtex(subset="test").data
    assert_array_equal(bunch.data.sparse.to_coo().toarray(), X.toarray())
    X_frame, y_frame = load_bibtex(subset="test", as_frame=True, return_X_y=True)
    assert X_frame.shape == (2515, 1836) and y_frame.shape == (2515, 159)


def test_bibtex_rejects_unknown_subset():
    with pytest.raises(ValueError, match="subset must be 'train', 'test' or 'all', got 'val'"):
        load_bibtex(subset="val")


def test_decode_binary_csr_roundtrip_with_empty_rows_and_columns():
    X = sp.csr_matrix(
        np.array([[0, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0]])
    )
    csc = X.tocsc()
    col_nnz = np.diff(csc.indptr)
    gaps = np.diff(csc.indices, prepend=0)
    starts = csc.indptr[:-1][col_nnz > 0]
    gaps[starts] = csc.indices[starts]
    planes = np.ascontiguousarray(gaps.astype("<u2").view(np.uint8).reshape(-1, 2).T)
    decoded = decode_binary_csr(col_nnz.astype("<u2"), planes, X.shape)
    assert decoded.format == "csr"
    assert_array_equal(decoded.toarray(), X.toarray())


@pytest.mark.slow  # parsing a sparse ARFF of 1995 attributes takes seconds
@pytest.mark.skipif(not BIBTEX.is_dir(), reason="shared MULAN files not available")
@pytest.mark.parametrize("subset", ["train", "test"])
def test_bibtex_equals_original_arff(subset):
    arff = BIBTEX / f"bibtex-{subset}.arff"
    parsed = load_arff(arff, label_xml=BIBTEX / "bibtex.xml")
    bundled = load_bibtex(subset=subset)
    assert sp.issparse(parsed.data)
    assert (parsed.data != bundled.data).nnz == 0
    assert_array_equal(parsed.target, bundled.target)
    assert list(parsed.feature_names) == list(bundled.feature_names)
    assert list(parsed.target_names) == list(bundled.target_names)
    # Label names from the XML, matched by name to the ARFF's last 159 attributes.
    xml = (BIBTEX / "bibtex.xml").read_text()
    xml_names = [line.split('"')[1] for line in xml.splitlines() if "<label name=" in line]
    assert sorted(xml_names) == sorted(bundled.target_names)
    header = arff.read_text().split("@data", 1)[0]
    attributes = [line.split()[1] for line in header.splitlines() if line.startswith("@attribute")]
    assert attributes[-159:] == list(bundled.target_names)
    # One row checked by hand from the text: the sparse indices of its first data line.
    first = arff.read_text().split("@data", 1)[1].strip().splitlines()[0]
    indices = [int(entry.split()[0]) for entry in first.strip("{}").split(",")]
    features = [i for i in indices if i < 1836]
    labels = [i - 1836 for i in indices if i >= 1836]
    assert_array_equal(bundled.data[0].indices, features)
    assert_array_equal(np.flatnonzero(bundled.target[0]), labels)

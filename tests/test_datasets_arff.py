"""Tests of skml/datasets/_arff.py: load_arff."""

import bz2
import gzip
import lzma

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from skml.datasets import load_arff

DENSE = """% a comment
@relation 'toy data'

@attribute x1 numeric
@attribute lab_b {0,1}
@attribute 'feature two' REAL
@attribute lab_a {0,1}
@attribute x3 integer

@data
1.5,0,2,1,3
% comment in the data
-0.25,1,?,0,4

7,1,8,1,9
"""

XML = """<?xml version="1.0" encoding="utf-8"?>
<labels xmlns="http://mulan.sourceforge.net/labels">
<label name="lab_a"></label>
<label name="lab_b"></label>
</labels>
"""


@pytest.fixture
def dense_arff(tmp_path):
    path = tmp_path / "toy.arff"
    path.write_text(DENSE)
    xml = tmp_path / "toy.xml"
    xml.write_text(XML)
    return path, xml


def test_load_arff_xml_order_differs_from_columns(dense_arff):
    path, xml = dense_arff
    bunch = load_arff(path, label_xml=xml)
    assert list(bunch.target_names) == ["lab_b", "lab_a"]  # ARFF order, not XML order
    assert list(bunch.feature_names) == ["x1", "feature two", "x3"]
    assert_array_equal(bunch.target, [[0, 1], [1, 0], [1, 1]])
    assert bunch.target.dtype == np.int64
    expected = np.array([[1.5, 2, 3], [-0.25, np.nan, 4], [7, 8, 9]])
    assert isinstance(bunch.data, np.ndarray)
    assert_array_equal(bunch.data, expected)  # '?' -> NaN


def test_load_arff_label_names_in_any_order(dense_arff):
    path, _ = dense_arff
    X, y = load_arff(path, label_names=["lab_a", "lab_b"], return_X_y=True)
    assert_array_equal(y, [[0, 1], [1, 0], [1, 1]])  # columns lab_b, lab_a
    assert X.shape == (3, 3)


def test_load_arff_n_labels_end_and_start(tmp_path):
    path = tmp_path / "c.arff"
    path.write_text(
        "@relation r\n@attribute a {0,1}\n@attribute f numeric\n@attribute b {0,1}\n"
        "@attribute c {0,1}\n@data\n1,0.5,0,1\n0,2.5,1,1\n"
    )
    end = load_arff(path, n_labels=2)
    assert list(end.target_names) == ["b", "c"]
    assert_array_equal(end.target, [[0, 1], [1, 1]])
    assert_array_equal(end.data, [[1, 0.5], [0, 2.5]])
    start = load_arff(path, n_labels=1, label_location="start")
    assert list(start.target_names) == ["a"]
    assert_array_equal(start.data, [[0.5, 0, 1], [2.5, 1, 1]])


def test_load_arff_gzip(dense_arff, tmp_path):
    path, xml = dense_arff
    gz = tmp_path / "toy.arff.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    plain = load_arff(path, label_xml=xml)
    packed = load_arff(gz, label_xml=xml)
    assert_array_equal(packed.data, plain.data)
    assert_array_equal(packed.target, plain.target)


SPARSE = """@relation sparse
@attribute f0 numeric
@attribute f1 numeric
@attribute f2 numeric
@attribute y0 {0,1}
@attribute y1 {0,1}
@data
{0 1.5,2 -3,4 1}
{}
{1 2,3 1,4 1}
{ 2 7 , 3 1 }
"""


def test_load_arff_sparse_gives_csr(tmp_path):
    path = tmp_path / "sparse.arff"
    path.write_text(SPARSE)
    bunch = load_arff(path, n_labels=2)
    assert sp.issparse(bunch.data) and bunch.data.format == "csr"
    assert bunch.data.shape == (4, 3)
    assert bunch.data.nnz == 4
    assert_array_equal(bunch.data.toarray(), [[1.5, 0, -3], [0, 0, 0], [0, 2, 0], [0, 0, 7]])
    assert_array_equal(bunch.target, [[0, 1], [0, 0], [1, 1], [1, 0]])
    assert isinstance(bunch.target, np.ndarray)
    dense = load_arff(path, n_labels=2, sparse=False)
    assert isinstance(dense.data, np.ndarray)
    assert_array_equal(dense.data, bunch.data.toarray())


def test_load_arff_dense_forced_sparse(dense_arff):
    path, xml = dense_arff
    bunch = load_arff(path, label_xml=xml, sparse=True)
    assert sp.issparse(bunch.data) and bunch.data.format == "csr"
    assert_array_equal(bunch.data.toarray(), load_arff(path, label_xml=xml).data)


@pytest.mark.parametrize(
    ("relation", "labels"),
    [("'Music: -C 2'", ["y0", "y1"]), ("'Music: -C -2 -split 50'", ["g0", "g1"])],
)
def test_load_arff_meka_header(tmp_path, relation, labels):
    path = tmp_path / "meka.arff"
    path.write_text(
        f"@relation {relation}\n@attribute y0 {{0,1}}\n@attribute y1 {{0,1}}\n"
        "@attribute f numeric\n@attribute g0 {0,1}\n@attribute g1 {0,1}\n"
        "@data\n1,0,0.5,0,1\n0,1,1.5,1,1\n"
    )
    bunch = load_arff(path)
    assert list(bunch.target_names) == labels
    assert bunch.data.shape == (2, 3)
    # Explicit arguments win over the header.
    assert list(load_arff(path, n_labels=1).target_names) == ["g1"]


def test_load_arff_nominal_feature_codes(tmp_path):
    path = tmp_path / "nominal.arff"
    path.write_text(
        "@relation r\n@attribute colour {red,'dark green',blue}\n@attribute flag {0,1}\n"
        "@attribute y {0,1}\n@data\nblue,1,1\n'dark green',0,0\n?,1,1\n"
    )
    bunch = load_arff(path, n_labels=1)
    assert_array_equal(bunch.data, [[2, 1], [1, 0], [np.nan, 1]])


def _write(tmp_path, text, name="bad.arff"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("1,0,2,1,3\n1,0,2,1\n", r"line 12: expected 5 comma-separated values, got 4"),
        ("1,0,2,1,3\n\n1,0,abc,1,3\n", r"line 13: non-numeric value 'abc'.*'feature two'"),
        ("1,?,2,1,3\n", r"line 11: missing label value '\?' for label 'lab_b'"),
        ("1,0,2,2,3\n", r"line 11: label value '2' is not 0 or 1 for label 'lab_a'"),
        ("{0 1,7 1}\n", r"line 11: sparse index 7 out of range \[0, 4\]"),
        ("{0 1}\n{3 1,1 1}\n", r"line 12: sparse indices must be strictly increasing"),
        ("{0 1}\n{x 1}\n", r"line 12: sparse index 'x' is not an integer"),
        ("{0 1,2}\n", r"line 11: sparse entry '2' is not 'index value'"),
        ("{0 1,2 zz}\n", r"line 11: non-numeric value 'zz'"),
    ],
)
def test_load_arff_malformed_rows_name_the_line(tmp_path, data, match):
    header = DENSE.split("@data\n")[0] + "@data\n"
    assert header.count("\n") == 10  # data starts on line 11
    path = _write(tmp_path, header + data)
    with pytest.raises(ValueError, match=match):
        load_arff(path, label_names=["lab_a", "lab_b"])


def test_load_arff_malformed_header(tmp_path):
    with pytest.raises(ValueError, match=r"line 2: attribute 's' has type 'string'"):
        load_arff(_write(tmp_path, "@relation r\n@attribute s string\n@data\n"), n_labels=1)
    with pytest.raises(ValueError, match=r"line 3: label attribute 'y' must be nominal \{0,1\}"):
        load_arff(
            _write(tmp_path, "@relation r\n@attribute x numeric\n@attribute y {a,b}\n@data\n"),
            n_labels=1,
        )
    with pytest.raises(ValueError, match="no @data section"):
        load_arff(_write(tmp_path, "@relation r\n@attribute x numeric\n"), n_labels=1)
    with pytest.raises(ValueError, match=r"line 2: expected @relation"):
        load_arff(_write(tmp_path, "@relation r\nfoo\n@data\n"), n_labels=1)


def test_load_arff_unknown_label_names(dense_arff, tmp_path):
    path, _ = dense_arff
    with pytest.raises(ValueError, match=r"unknown label name 'lab_c'"):
        load_arff(path, label_names=["lab_a", "lab_c"])
    xml = _write(tmp_path, XML.replace('"lab_b"', '"lab_c"'), "bad.xml")
    with pytest.raises(ValueError, match=r"bad.xml, line 4: unknown label name 'lab_c'"):
        load_arff(path, label_xml=xml)


def test_load_arff_bad_arguments(dense_arff):
    path, xml = dense_arff
    with pytest.raises(ValueError, match="no label information"):
        load_arff(path)
    with pytest.raises(ValueError, match="give only one of"):
        load_arff(path, label_xml=xml, n_labels=2)
    with pytest.raises(ValueError, match="label_location must be"):
        load_arff(path, n_labels=2, label_location="middle")
    with pytest.raises(ValueError, match=r"n_labels must be in \[1, 5\], got 6"):
        load_arff(path, n_labels=6)
    with pytest.raises(ValueError, match="duplicate label names"):
        load_arff(path, label_names=["lab_a", "lab_a"])


# ---------------------------------------------------------------- files that cannot be read


def test_load_arff_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.arff"
    with pytest.raises(FileNotFoundError, match=r"cannot read ARFF file.*nowhere\.arff") as info:
        load_arff(path, n_labels=1)
    assert info.value.filename == str(path)
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_load_arff_directory_names_it(tmp_path):
    folder = tmp_path / "folder.arff"
    folder.mkdir()
    with pytest.raises(OSError, match=r"cannot read ARFF file.*folder\.arff") as info:
        load_arff(folder, n_labels=1)
    assert isinstance(info.value.__cause__, OSError)


def test_load_arff_missing_label_xml_names_it(dense_arff, tmp_path):
    path, _ = dense_arff
    with pytest.raises(FileNotFoundError, match=r"cannot read label XML file.*none\.xml"):
        load_arff(path, label_xml=tmp_path / "none.xml")


def _gzip_variants(text):
    packed = gzip.compress(text.encode())
    corrupt_data = bytearray(packed)
    corrupt_data[12:20] = b"\xff" * 8  # inside the deflate stream
    bad_crc = bytearray(packed)
    bad_crc[-8] ^= 0xFF  # CRC-32 of the trailer
    return {
        "truncated": (packed[: len(packed) // 2], r"truncated gzip-compressed ARFF file"),
        "no-trailer": (packed[:-8], r"truncated gzip-compressed ARFF file"),
        "corrupt-data": (bytes(corrupt_data), r"corrupt gzip-compressed ARFF file"),
        "bad-crc": (bytes(bad_crc), r"corrupt gzip-compressed ARFF file.*CRC"),
        "bad-method": (b"\x1f\x8b\x07" + packed[3:], r"corrupt gzip-compressed ARFF file"),
        "magic-only": (b"\x1f\x8b", r"(truncated|corrupt) gzip-compressed ARFF file"),
    }


@pytest.mark.parametrize("kind", list(_gzip_variants(DENSE)))
def test_load_arff_bad_gzip_names_the_file(tmp_path, kind):
    data, match = _gzip_variants(DENSE)[kind]
    path = tmp_path / f"{kind}.arff.gz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=rf"{kind}\.arff\.gz: {match}") as info:
        load_arff(path, label_names=["lab_a", "lab_b"])
    assert info.value.__cause__ is not None  # the gzip/zlib error, chained


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (bz2.compress(DENSE.encode()), "is bz2-compressed"),
        (lzma.compress(DENSE.encode()), "is xz-compressed"),
        (DENSE.encode("utf-16"), r"binary data \(a NUL byte at offset 3\)"),
        (b"@relation r\n\x00\x01\x02", r"binary data \(a NUL byte at offset 12\)"),
        (gzip.compress(b"@relation r\x00"), r"NUL byte at offset 11 once decompressed"),
    ],
    ids=["bz2", "xz", "utf-16", "binary", "binary-gzip"],
)
def test_load_arff_not_text_names_the_file(tmp_path, data, match):
    path = tmp_path / "odd.arff"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"odd\.arff: .*" + match):
        load_arff(path, n_labels=1)


def test_load_arff_latin1_and_bom(tmp_path):
    # Not valid UTF-8 ('é' as the single byte 0xE9): read as Latin-1.
    text = DENSE.replace("'feature two'", "'café'").replace("toy data", "données")
    latin1 = tmp_path / "latin1.arff"
    latin1.write_bytes(text.encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        latin1.read_bytes().decode("utf-8")
    bunch = load_arff(latin1, label_names=["lab_a", "lab_b"])
    assert list(bunch.feature_names) == ["x1", "café", "x3"]
    # UTF-8, gzip-compressed and with a byte-order mark: the same.
    packed = tmp_path / "bom.arff.gz"
    packed.write_bytes(gzip.compress(text.encode("utf-8-sig")))
    same = load_arff(packed, label_names=["lab_a", "lab_b"])
    assert list(same.feature_names) == ["x1", "café", "x3"]
    assert_array_equal(same.data, bunch.data)

"""Build the bundled ``skml/datasets/data/*.npz`` from MULAN's original ARFF and XML files.

Run from the repository root::

    python -m skml.datasets._build_bundled ../shared/datasets          # (re)write the files
    python -m skml.datasets._build_bundled ../shared/datasets --check  # verify, write nothing

The source directory holds ``<name>/<name>-train.arff``, ``<name>/<name>-test.arff`` and
``<name>/<name>.xml`` for yeast, emotions, scene and bibtex (see its ``PROVENANCE.md``).
Each source file's size and SHA-256 must match the table below (copied from
``PROVENANCE.md``), the shapes must match MULAN's statistics, and the decoded bundle must
equal the parsed ARFF exactly.
With ``--check``, the shipped files are compared with a fresh build instead of overwritten.
The format is described in ``skml/datasets/_mulan.py``.
"""

import argparse
import hashlib
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skml.datasets._arff import load_arff
from skml.datasets._mulan import decode_binary_csr, decode_features

DATA_DIR = Path(__file__).parent / "data"

# file name -> (bytes, sha256), from PROVENANCE.md.
SOURCES = {
    "yeast-train.arff": (
        1501117,
        "e759dc991ff54694a4ff9c4314f3be0d6fd2b1994a4b563f57e416394c6aebbd",
    ),
    "yeast-test.arff": (
        918515,
        "4aaac102bff9669a765bf0b378602e5cc8c3b181048282e2f003117b496d552a",
    ),
    "yeast.xml": (526, "c3056cc26444b5158b1588d1b73bec9c45429e10f0957ad085903423cb81f247"),
    "emotions-train.arff": (
        252080,
        "bbe704106c79bb8fb99c1d1d2e9bde081d6a2daeb01f100862f11fd91a3c1f98",
    ),
    "emotions-test.arff": (
        132007,
        "f13d4b746b7b5c8eb484bd751d6ac463d4560dff998a93516a5c1fe35daf6c8f",
    ),
    "emotions.xml": (323, "dbce8e6ccbbb2fcbfd9e9edbb230d7ed12692c6e13f59fdbc0161fa9b6cf2dc0"),
    "scene-train.arff": (
        3127968,
        "b53ba93bdf412de922e3960389bcee24744fa3e872ce610511fc1d750888b64d",
    ),
    "scene-test.arff": (
        3090742,
        "ea38d20296b3ff7e220f477a3b802a9bcb2d768881fe6ee163efbc97ea527a42",
    ),
    "scene.xml": (285, "55d8b247b949ad5c52e5a73d8c6775ec6e5469ce9682465b45b333b68ee4bcc5"),
    "bibtex-train.arff": (
        2292961,
        "8dcc9de6e0b2cebaec8c1f4fac78431adeeb73cfd3ab879b530a66d366e59174",
    ),
    "bibtex-test.arff": (
        1215637,
        "9b03329cde64d3f994bdf7fbbac3f3b10fe185c311cb9ae725475f59c7f3f922",
    ),
    "bibtex.xml": (5880, "08fe20013c1e75dcf1888c185f5187c95e76495b8518ce289b4d3afce38d1232"),
}

# name -> (n_train, n_test, n_features, n_labels), MULAN's statistics.
SHAPES = {
    "yeast": (1500, 917, 103, 14),
    "emotions": (391, 202, 72, 6),
    "scene": (1211, 1196, 294, 6),
}

# The same for the sparse, binary data sets (stored by ``encode_sparse``).
SPARSE_SHAPES = {"bibtex": (4880, 2515, 1836, 159)}

# Fixed zip timestamp, so that a rebuild from the same sources gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _verify_source(path):
    size, sha = SOURCES[path.name]
    data = path.read_bytes()
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
        raise SystemExit(
            f"{path}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}; "
            f"expected {size} bytes, sha256 {sha}"
        )


def _decimals(path, n_features, label_idx):
    """Digits after the decimal point, per feature column (max over rows), from the text."""
    text = path.read_text().split("@data", 1)[1]
    rows = [r for r in text.splitlines() if r.strip()]
    tokens = np.array(",".join(rows).split(",")).reshape(len(rows), -1)
    tokens = np.delete(tokens, label_idx, axis=1)
    assert tokens.shape[1] == n_features
    if np.char.find(tokens, "e").max() >= 0 or np.char.find(tokens, "E").max() >= 0:
        raise SystemExit(f"{path}: exponent notation; the mantissa encoding assumes none")
    point = np.char.find(tokens, ".")
    digits = np.where(point >= 0, np.char.str_len(tokens) - point - 1, 0)
    return digits.max(axis=0)


def _parse_verified(name, source_dir):
    """The train and test Bunches of ``load_arff``, from hash-checked source files."""
    folder = Path(source_dir) / name
    xml = folder / f"{name}.xml"
    parts = [folder / f"{name}-{subset}.arff" for subset in ("train", "test")]
    for path in [*parts, xml]:
        _verify_source(path)
    train, test = (load_arff(p, label_xml=xml) for p in parts)
    assert list(test.feature_names) == list(train.feature_names)
    assert list(test.target_names) == list(train.target_names)
    return parts, train, test


def encode(name, source_dir):
    """Arrays of the bundle for one data set (see skml/datasets/_mulan.py)."""
    parts, train, test = _parse_verified(name, source_dir)
    X = np.vstack([train.data, test.data])
    y = np.vstack([train.target, test.target])
    n_train, n_test, n_features, n_labels = SHAPES[name]
    assert train.data.shape == (n_train, n_features), train.data.shape
    assert test.data.shape == (n_test, n_features), test.data.shape
    assert y.shape == (n_train + n_test, n_labels), y.shape

    # Labels are matched by name; find where they sit among the attributes to strip them.
    header = parts[0].read_text().split("@data", 1)[0]
    names = re.findall(r"(?im)^\s*@attribute\s+('[^']*'|\S+)", header)
    names = [n.strip("'") for n in names]
    label_idx = [names.index(t) for t in train.target_names]
    decimals = np.max([_decimals(p, n_features, label_idx) for p in parts], axis=0).astype(
        np.uint8
    )
    mantissas = np.round(X * np.power(10.0, decimals)).astype(np.int64)
    if np.abs(mantissas).max() >= 2**31:
        raise SystemExit(f"{name}: mantissa does not fit in int32")
    mantissas = mantissas.astype("<i4")
    planes = np.ascontiguousarray(mantissas.view(np.uint8).reshape(-1, 4).T)
    arrays = {
        "X_planes": planes,
        "X_shape": np.array(X.shape, dtype=np.int64),
        "X_decimals": decimals,
        "y": y.astype(np.uint8),
        "feature_names": np.array(train.feature_names, dtype=str),
        "target_names": np.array(train.target_names, dtype=str),
        "n_train": np.array(n_train, dtype=np.int64),
    }
    decoded = decode_features(planes, X.shape, decimals)
    if not np.array_equal(decoded, X) or not np.array_equal(np.signbit(decoded), np.signbit(X)):
        raise SystemExit(f"{name}: decoded features differ from the ARFF values")
    return arrays


def encode_sparse(name, source_dir):
    """Arrays of the bundle for a sparse data set with 0/1 features (see _mulan.py)."""
    _, train, test = _parse_verified(name, source_dir)
    X = sp.vstack([train.data, test.data], format="csr")
    y = np.vstack([train.target, test.target])
    n_train, n_test, n_features, n_labels = SPARSE_SHAPES[name]
    assert train.data.shape == (n_train, n_features), train.data.shape
    assert test.data.shape == (n_test, n_features), test.data.shape
    assert y.shape == (n_train + n_test, n_labels), y.shape
    X.sum_duplicates()
    if not np.array_equal(X.data, np.ones_like(X.data)):
        raise SystemExit(f"{name}: a stored feature value is not 1; the encoding assumes 0/1")
    if not np.isin(y, (0, 1)).all():
        raise SystemExit(f"{name}: a label is not 0/1")
    # Column by column, the gaps between successive nonzero rows (the first gap counts from
    # row 0) fit in uint16 and are small, so their byte planes compress well.
    csc = X.tocsc()
    csc.sort_indices()
    col_nnz = np.diff(csc.indptr)
    gaps = np.diff(csc.indices, prepend=0).astype(np.int64)
    starts = csc.indptr[:-1][col_nnz > 0]
    gaps[starts] = csc.indices[starts]
    if X.shape[0] >= 2**16 or col_nnz.max() >= 2**16:
        raise SystemExit(f"{name}: too many rows for uint16 gaps")
    arrays = {
        "X_col_nnz": col_nnz.astype("<u2"),
        "X_row_gap_planes": np.ascontiguousarray(
            gaps.astype("<u2").view(np.uint8).reshape(-1, 2).T
        ),
        "X_shape": np.array(X.shape, dtype=np.int64),
        "y_bits": np.packbits(y.astype(bool), axis=1),
        "feature_names": np.array(train.feature_names, dtype=str),
        "target_names": np.array(train.target_names, dtype=str),
        "n_train": np.array(n_train, dtype=np.int64),
    }
    decoded = decode_binary_csr(
        arrays["X_col_nnz"], arrays["X_row_gap_planes"], tuple(arrays["X_shape"])
    )
    if not (
        np.array_equal(decoded.indptr, X.indptr)
        and np.array_equal(decoded.indices, X.indices)
        and np.array_equal(decoded.data, X.data)
    ):
        raise SystemExit(f"{name}: decoded features differ from the ARFF values")
    if not np.array_equal(np.unpackbits(arrays["y_bits"], axis=1, count=n_labels), y):
        raise SystemExit(f"{name}: decoded labels differ from the ARFF values")
    return arrays


def write_npz(path, arrays):
    """An .npz (zip, deflate level 9) with fixed timestamps, readable by numpy.load."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "source_dir", help="directory with the MULAN files, e.g. ../shared/datasets"
    )
    parser.add_argument("--check", action="store_true", help="verify the shipped files only")
    args = parser.parse_args(argv)
    total = 0
    failed = False
    for name in [*SHAPES, *SPARSE_SHAPES]:
        arrays = (encode if name in SHAPES else encode_sparse)(name, args.source_dir)
        target = DATA_DIR / f"{name}.npz"
        if args.check:
            with np.load(target, allow_pickle=False) as shipped:
                same = set(shipped.files) == set(arrays) and all(
                    np.array_equal(shipped[k], v) for k, v in arrays.items()
                )
            print(f"{target}: {'OK' if same else 'DIFFERS from a fresh build'}")
            failed |= not same
        else:
            DATA_DIR.mkdir(exist_ok=True)
            write_npz(target, arrays)
            print(f"wrote {target} ({target.stat().st_size} bytes)")
        total += target.stat().st_size
    print(f"total: {total} bytes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

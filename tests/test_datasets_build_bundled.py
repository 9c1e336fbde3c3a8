"""The builder of the bundled data files (skml/datasets/_build_bundled.py)."""

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skml.datasets import _build_bundled

SHARED = Path(__file__).parents[2] / "shared" / "datasets"


def test_write_npz_is_byte_for_byte_reproducible(tmp_path):
    arrays = {
        "X_planes": np.arange(24, dtype=np.uint8).reshape(4, 6),
        "target_names": np.array(["a", "bc"]),
        "n_train": np.array(3, dtype=np.int64),
    }
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    _build_bundled.write_npz(first, arrays)
    _build_bundled.write_npz(second, arrays)
    assert first.read_bytes() == second.read_bytes()  # fixed timestamps: a rebuild is identical
    with zipfile.ZipFile(first) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {info.compress_type for info in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    with np.load(first, allow_pickle=False) as loaded:
        assert sorted(loaded.files) == sorted(arrays)
        for key, value in arrays.items():
            assert loaded[key].dtype == value.dtype
            assert_array_equal(loaded[key], value)


def test_source_with_another_hash_is_refused_naming_both(tmp_path):
    size, sha = _build_bundled.SOURCES["yeast.xml"]
    path = tmp_path / "yeast.xml"
    path.write_bytes(b"x" * size)  # the right size, other bytes
    expected = rf"yeast\.xml: {size} bytes, sha256 \w+; expected {size} bytes, sha256 {sha}"
    with pytest.raises(SystemExit, match=expected):
        _build_bundled._verify_source(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() != sha


@pytest.mark.slow  # parses the eight ARFF files (bibtex's take seconds each)
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared MULAN files not available")
def test_shipped_files_equal_a_fresh_build(capsys):
    assert _build_bundled.main([str(SHARED), "--check"]) == 0
    out = capsys.readouterr().out
    for name in ("yeast", "emotions", "scene", "bibtex"):
        assert f"{name}.npz: OK" in out

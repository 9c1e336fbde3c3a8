"""Tests of skml/datasets/_images.py: load_image_folder."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skml.datasets import load_image_folder

COLOURS = {"a": (255, 0, 0), "b": (0, 255, 0), "c": (0, 0, 255)}


@pytest.fixture
def image_dir(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (10, 6), COLOURS["a"]).save(folder / "a.png")
    Image.new("L", (5, 5), 255).convert("RGB").save(folder / "b.png")  # saved as RGB
    Image.new("RGB", (20, 20), COLOURS["c"]).save(folder / "c.jpg")
    Image.new("L", (7, 7), 128).save(folder / "gray.png")
    return folder


def _csv(tmp_path, text):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


def test_load_image_folder_one_column_per_label(tmp_path, image_dir):
    csv = _csv(tmp_path, "id,cat,dog\na,1,0\nb,0,1\nc,1,1\ngray,0,0\n")
    bunch = load_image_folder(csv, image_dir, target_size=(4, 6))
    assert bunch.data.shape == (4, 4, 6, 3)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() >= 0 and bunch.data.max() <= 1
    assert_allclose(bunch.data[0], np.broadcast_to([1, 0, 0], (4, 6, 3)), atol=0.02)
    assert_allclose(bunch.data[2], np.broadcast_to([0, 0, 1], (4, 6, 3)), atol=0.02)  # jpeg
    assert_allclose(bunch.data[3], 128 / 255, atol=1e-6)  # grayscale -> RGB
    assert_array_equal(bunch.target, [[1, 0], [0, 1], [1, 1], [0, 0]])
    assert list(bunch.target_names) == ["cat", "dog"]
    assert list(bunch.ids) == ["a", "b", "c", "gray"]
    X, y = load_image_folder(csv, image_dir, label_columns=["dog"], return_X_y=True)
    assert X.shape == (4, 64, 64, 3)
    assert_array_equal(y, [[0], [1], [1], [0]])


def test_load_image_folder_label_lists(tmp_path, image_dir):
    csv = _csv(
        tmp_path,
        "file,genres\na.png,drama|thriller\nb,\"['drama', 'science fiction']\"\nc,\n"
        'gray,"thriller; drama"\n',
    )
    bunch = load_image_folder(
        csv, image_dir, id_column="file", labels_column="genres", target_size=(3, 3)
    )
    assert list(bunch.target_names) == ["drama", "science fiction", "thriller"]
    assert_array_equal(bunch.target, [[1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 0, 1]])
    assert list(bunch.ids) == ["a.png", "b", "c", "gray"]
    csv2 = _csv(tmp_path, "id,tags\na,x/y\nb,y\n")
    bunch = load_image_folder(
        csv2,
        image_dir,
        labels_column="tags",
        label_separator="/",
        extension=".png",
        target_size=(3, 3),
    )
    assert list(bunch.target_names) == ["x", "y"]
    assert_array_equal(bunch.target, [[1, 1], [0, 1]])


def test_load_image_folder_missing_images(tmp_path, image_dir):
    csv = _csv(tmp_path, "id,cat\na,1\nmissing1,0\nb,1\nmissing2,1\n")
    with pytest.raises(FileNotFoundError, match=r"2 missing.*'missing1', 'missing2'"):
        load_image_folder(csv, image_dir, target_size=(4, 4))
    with pytest.warns(UserWarning, match=r"'missing1', 'missing2'"):
        bunch = load_image_folder(csv, image_dir, target_size=(4, 4), on_missing="warn")
    assert bunch.data.shape == (2, 4, 4, 3)
    assert list(bunch.ids) == ["a", "b"]
    assert_array_equal(bunch.target, [[1], [1]])


def test_load_image_folder_unreadable_image(tmp_path, image_dir):
    (image_dir / "broken.png").write_text("not an image")
    csv = _csv(tmp_path, "id,cat\na,1\nbroken,0\n")
    with pytest.raises(ValueError, match=r"unreadable: 'broken'"):
        load_image_folder(csv, image_dir)
    with pytest.warns(UserWarning, match="broken"):
        X, y = load_image_folder(csv, image_dir, on_missing="warn", return_X_y=True)
    assert X.shape[0] == 1 and y.shape == (1, 1)


def test_load_image_folder_bad_arguments(tmp_path, image_dir):
    csv = _csv(tmp_path, "id,cat\na,1\nb,2\n")
    with pytest.raises(ValueError, match=r"label column 'cat' must hold 0 or 1; row 2"):
        load_image_folder(csv, image_dir)
    with pytest.raises(ValueError, match="on_missing must be"):
        load_image_folder(csv, image_dir, on_missing="ignore")
    with pytest.raises(ValueError, match="target_size must be"):
        load_image_folder(csv, image_dir, target_size=(0, 4))
    with pytest.raises(ValueError, match="not both"):
        load_image_folder(csv, image_dir, label_columns=["cat"], labels_column="cat")
    with pytest.raises(ValueError, match="id_column 'name'"):
        load_image_folder(csv, image_dir, id_column="name")


def test_load_image_folder_without_pillow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    csv = _csv(tmp_path, "id,cat\na,1\n")
    with pytest.raises(ImportError, match=r"skml\[images\]"):
        load_image_folder(csv, tmp_path)

"""Tests of skml/datasets/_images.py: load_image_folder."""

import re
import struct
import sys
import warnings
import zlib

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


# ---------------------------------------------------------------- pixel types and scaling


def _load_one(tmp_path, folder, name, target_size, **kwargs):
    csv = _csv(tmp_path, f"id,cat\n{name},1\n")
    return load_image_folder(csv, folder, target_size=target_size, **kwargs)


def _png16(path, values, color_type):
    """A 16-bit PNG written byte by byte (Pillow cannot write 16-bit colour PNGs)."""
    height, width = values.shape[:2]
    rows = b"".join(b"\x00" + values[r].astype(">u2").tobytes() for r in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


VALUES_16 = np.array([[0, 1000, 40000, 65535], [257, 32768, 65534, 12345]], dtype=np.uint16)


@pytest.mark.parametrize(
    ("name", "mode"),
    [("g16.png", "I;16"), ("g16.tif", "I;16"), ("g16b.tif", "I;16B"), ("g32.tif", "I")],
)
def test_load_image_folder_16_bit_grayscale_exact(tmp_path, name, mode):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    if mode == "I;16B":
        image = Image.frombytes(mode, (4, 2), VALUES_16.astype(">u2").tobytes())
    elif mode == "I":
        image = Image.fromarray(VALUES_16.astype(np.int32))
    else:
        image = Image.fromarray(VALUES_16)
    image.save(folder / name)
    with Image.open(folder / name) as reopened:
        assert reopened.mode == mode
    X = _load_one(tmp_path, folder, name, (2, 4), return_X_y=True)[0]
    assert X.dtype == np.float32
    expected = VALUES_16 / 65535
    for channel in range(3):
        assert_allclose(X[0, :, :, channel], expected, rtol=0, atol=1e-7)
    # Not clipped: only one pixel of eight is white.
    assert (X[0, :, :, 0] == 1).sum() == 1


def test_load_image_folder_16_bit_resized(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.full((8, 6), 30000, dtype=np.uint16)).save(folder / "flat.png")
    X, _ = _load_one(tmp_path, folder, "flat", (3, 5), return_X_y=True)
    assert X.shape == (1, 3, 5, 3)
    assert_allclose(X, 30000 / 65535, rtol=1e-6)


def test_load_image_folder_16_bit_colour_png(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    rgb = np.array([[[65535, 32768, 0], [2570, 0, 65535]]], dtype=np.uint16)
    rgba = np.concatenate([rgb, np.array([[[0], [65535]]], dtype=np.uint16)], axis=2)
    _png16(folder / "rgb.png", rgb, color_type=2)
    _png16(folder / "rgba.png", rgba, color_type=6)
    with Image.open(folder / "rgb.png") as image:
        assert image.mode == "RGB"  # Pillow keeps the high byte of each channel
    csv = _csv(tmp_path, "id,cat\nrgb,1\nrgba,0\n")
    X, _ = load_image_folder(csv, folder, target_size=(1, 2), return_X_y=True)
    expected = np.array([[[255, 128, 0], [10, 0, 255]]]) / 255
    assert_allclose(X[0], expected, atol=1e-7)
    assert_allclose(X[1], expected, atol=1e-7)  # alpha dropped, colours as stored


def test_load_image_folder_float_tiff(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    values = np.array([[0.0, 0.25, 0.5, 1.0], [0.1, 0.9, 0.003, 0.75]], dtype=np.float32)
    Image.fromarray(values).save(folder / "f.tif")
    with Image.open(folder / "f.tif") as image:
        assert image.mode == "F"
    X, _ = _load_one(tmp_path, folder, "f", (2, 4), return_X_y=True)
    assert_array_equal(X[0], np.repeat(values[:, :, None], 3, axis=2))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.array([[-1.0, 0.5], [2.0, 0.0]], dtype=np.float32), r"values in \[-1, 2\]"),
        (np.array([[0.0, 255.0], [0.5, 1.0]], dtype=np.float32), r"values in \[0, 255\]"),
        (np.array([[np.nan, 0.5], [0.5, 0.5]], dtype=np.float32), r"NaN or infinite"),
        (np.array([[0, 70000], [1, 2]], dtype=np.int32), r"'I' image .*\[0, 70000\]"),
        (np.array([[-5, 7], [1, 2]], dtype=np.int32), r"'I' image .*\[-5, 7\]"),
    ],
)
def test_load_image_folder_values_outside_their_range(tmp_path, values, match):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(values).save(folder / "bad.tif")
    Image.new("L", (2, 2), 51).save(folder / "ok.png")
    csv = _csv(tmp_path, "id,cat\nok,1\nbad,0\n")
    with pytest.raises(ValueError, match=r"1 unreadable: 'bad' \(.*" + match):
        load_image_folder(csv, folder, target_size=(2, 2))
    with pytest.warns(UserWarning, match=match):
        bunch = load_image_folder(csv, folder, target_size=(2, 2), on_missing="warn")
    assert list(bunch.ids) == ["ok"]
    assert_allclose(bunch.data, 0.2, atol=1e-7)


@pytest.mark.parametrize("transparency", [False, True])
def test_load_image_folder_palette_png(tmp_path, transparency):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    image = Image.new("P", (2, 2), 0)
    image.putpalette([10, 20, 30, 200, 100, 50])
    image.putpixel((1, 1), 1)
    if transparency:
        image.info["transparency"] = 0
    image.save(folder / "p.png")
    with Image.open(folder / "p.png") as reopened:
        assert reopened.mode == "P"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow warning about palette transparency
        X, _ = _load_one(tmp_path, folder, "p", (2, 2), return_X_y=True)
    expected = np.array([[[10, 20, 30], [10, 20, 30]], [[10, 20, 30], [200, 100, 50]]]) / 255
    assert_allclose(X[0], expected, atol=1e-7)


def test_load_image_folder_alpha_and_bilevel(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGBA", (3, 3), (255, 102, 0, 0)).save(folder / "rgba.png")
    Image.new("LA", (3, 3), (153, 10)).save(folder / "la.png")
    bilevel = Image.new("1", (2, 1), 0)
    bilevel.putpixel((1, 0), 1)
    bilevel.save(folder / "bw.png")
    csv = _csv(tmp_path, "id,cat\nrgba,1\nla,0\n")
    X, _ = load_image_folder(csv, folder, target_size=(3, 3), return_X_y=True)
    assert_allclose(X[0], np.broadcast_to([1, 0.4, 0], (3, 3, 3)), atol=1e-7)
    assert_allclose(X[1], 0.6, atol=1e-7)
    X, _ = _load_one(tmp_path, folder, "bw", (1, 2), return_X_y=True)
    assert_array_equal(X[0, 0], [[0, 0, 0], [1, 1, 1]])


# ---------------------------------------------------------------- EXIF orientation


@pytest.mark.parametrize(
    ("orientation", "target_size", "first", "second"),
    [
        (1, (10, 20), "left", "right"),  # no rotation: red left, blue right
        (3, (10, 20), "right", "left"),  # stored upside down: red ends on the right
        (6, (20, 10), "top", "bottom"),  # stored turned left: red ends on top
        (8, (20, 10), "bottom", "top"),  # stored turned right: red ends at the bottom
    ],
)
def test_load_image_folder_exif_orientation(tmp_path, orientation, target_size, first, second):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    image = Image.new("RGB", (20, 10), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 10, 10))  # left half red
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(folder / "photo.jpg", exif=exif, quality=95)
    X, _ = _load_one(tmp_path, folder, "photo", target_size, return_X_y=True)
    assert X.shape == (1, *target_size, 3)
    half = {
        "left": np.s_[:, 1:4],
        "right": np.s_[:, -4:-1],
        "top": np.s_[1:4, :],
        "bottom": np.s_[-4:-1, :],
    }
    red = X[0][half[first]].reshape(-1, 3).mean(axis=0)
    blue = X[0][half[second]].reshape(-1, 3).mean(axis=0)
    assert_allclose(red, [1, 0, 0], atol=0.05)
    assert_allclose(blue, [0, 0, 1], atol=0.05)


# ---------------------------------------------------------------- ids outside the folder


@pytest.fixture
def outside_file(tmp_path):
    """images/ holding a.png, and secret.png next to it, outside the folder."""
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (2, 2), (255, 0, 0)).save(folder / "a.png")
    Image.new("RGB", (2, 2), (0, 255, 0)).save(tmp_path / "secret.png")
    return folder, tmp_path / "secret.png"


@pytest.mark.parametrize("on_missing", ["raise", "warn"])
@pytest.mark.parametrize("bad_id", ["../secret", "../secret.png", "sub/../../secret"])
def test_load_image_folder_refuses_parent_ids(tmp_path, outside_file, bad_id, on_missing):
    folder, _ = outside_file
    csv = _csv(tmp_path, f"id,cat\na,1\n{bad_id},0\n")
    match = rf"inside image_dir '{re.escape(str(folder))}'.*1 id\(s\) .*'{re.escape(bad_id)}'"
    with pytest.raises(ValueError, match=match):
        load_image_folder(csv, folder, target_size=(2, 2), on_missing=on_missing)


def test_load_image_folder_refuses_absolute_ids(tmp_path, outside_file):
    folder, secret = outside_file
    csv = _csv(tmp_path, f"id,cat\na,1\n{secret},0\n{secret.with_suffix('')},1\n")
    with pytest.raises(ValueError, match=r"2 id\(s\) resolve outside it: '.*secret\.png', '"):
        load_image_folder(csv, folder, target_size=(2, 2))


def test_load_image_folder_refuses_symlinks_leaving_the_folder(tmp_path, outside_file):
    folder, secret = outside_file
    try:
        (folder / "link.png").symlink_to(secret)
        (folder / "alias.png").symlink_to(folder / "a.png")
    except OSError:
        pytest.skip("symlinks not supported here")
    csv = _csv(tmp_path, "id,cat\nalias,1\nlink,0\n")
    with pytest.raises(ValueError, match=r"'link' \(link\.png -> .*secret\.png\)"):
        load_image_folder(csv, folder, target_size=(2, 2), on_missing="warn")
    # A symlink staying inside the folder, and a '..' coming back into it, are fine.
    (folder / "sub").mkdir()
    csv = _csv(tmp_path, "id,cat\nalias,1\nsub/../a,0\n")
    bunch = load_image_folder(csv, folder, target_size=(2, 2))
    assert_allclose(bunch.data, np.broadcast_to([1, 0, 0], (2, 2, 2, 3)))

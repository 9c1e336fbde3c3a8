"""Load a folder of images with multi-label annotations from a CSV file."""

import ast
import re
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_DEFAULT_SEPARATORS = re.compile(r"[|;,]")


def _import_pillow():
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise ImportError(
            "load_image_folder needs Pillow; install it with `pip install skml[images]` "
            "(or `pip install pillow`)."
        ) from exc
    return Image, ImageOps


def _split_labels(value, separator):
    """Label names of one CSV cell: ``"a|b"``, ``"a;b"``, ``"a,b"`` or ``"['a', 'b']"``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value).strip()
    if separator is None and text.startswith("[") and text.endswith("]"):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            items = _DEFAULT_SEPARATORS.split(text[1:-1])
        items = [str(item).strip().strip("'\"") for item in items]
    elif separator is None:
        items = _DEFAULT_SEPARATORS.split(text)
    else:
        items = text.split(separator)
    return [item.strip() for item in items if item.strip()]


def _is_inside(path, root):
    """Whether ``path``, symlinks and ``..`` resolved, lies inside the resolved folder ``root``."""
    return Path(path).resolve().is_relative_to(root)


def _resolve_path(image_dir, image_id, extension):
    """Existing file for an id, or None: the id as given, else with a known extension."""
    if extension is not None:
        ext = extension if extension.startswith(".") else "." + extension
        name = image_id if image_id.lower().endswith(ext.lower()) else image_id + ext
        path = image_dir / name
        return path if path.is_file() else None
    path = image_dir / image_id
    if path.is_file():
        return path
    for ext in IMAGE_EXTENSIONS:
        for candidate in (ext, ext.upper()):
            path = image_dir / (image_id + candidate)
            if path.is_file():
                return path
    return None


def _list_problems(kind, items, limit=50):
    """``"N kind: a, b and K more"`` for items already formatted as text."""
    shown = ", ".join(items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{len(items)} {kind}: {shown}{more}"


def _outside_message(image_dir, outside):
    return f"image ids must name files inside image_dir {str(image_dir)!r}; " + _list_problems(
        "id(s) resolve outside it", outside
    )


def _read_image(path, size, Image, ImageOps):
    """RGB float32 array of shape (height, width, 3) in [0, 1]; see load_image_folder.

    ``size`` is (width, height), as Pillow wants it. Raises ValueError (pixel values outside
    the range of their type) or whatever Pillow raises for a file it cannot read.
    """
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        mode = image.mode
        if mode == "F" or mode.startswith("I"):  # "F", "I", "I;16", "I;16B", "I;16L", ...
            values = np.asarray(image)
            if mode == "F":
                if not np.isfinite(values).all():
                    raise ValueError("float image with NaN or infinite values")
                low, high, scale = float(values.min()), float(values.max()), 1.0
                if low < 0 or high > 1:
                    raise ValueError(
                        f"float image with values in [{low:g}, {high:g}], outside [0, 1]"
                    )
            else:
                low, high, scale = int(values.min()), int(values.max()), 65535.0
                if low < 0 or high > 65535:
                    raise ValueError(
                        f"{mode!r} image with values in [{low}, {high}], outside the 16-bit "
                        "range [0, 65535]"
                    )
            gray = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32) / scale)
            gray = gray.resize(size, Image.Resampling.BILINEAR)
            gray = np.clip(np.asarray(gray, dtype=np.float32), 0.0, 1.0)
            return np.repeat(gray[:, :, None], 3, axis=2)
        if mode in ("P", "PA"):
            # Through the palette; RGBA first, so a transparency entry needs no warning.
            image = image.convert("RGBA")
        image = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.float32) / 255.0


def _check_arguments(on_missing, target_size, label_columns, labels_column):
    """Raise ``ValueError`` for a bad argument of :func:`load_image_folder`."""
    if on_missing not in ("raise", "warn"):
        raise ValueError(f"on_missing must be 'raise' or 'warn', got {on_missing!r}")
    if (
        not isinstance(target_size, tuple | list)
        or len(target_size) != 2
        or not all(isinstance(s, int | np.integer) and s > 0 for s in target_size)
    ):
        raise ValueError(
            f"target_size must be a (height, width) pair of positive ints, got {target_size!r}"
        )
    if label_columns is not None and labels_column is not None:
        raise ValueError("give label_columns or labels_column, not both")


def load_image_folder(
    csv_path,
    image_dir,
    *,
    id_column="id",
    label_columns=None,
    labels_column=None,
    label_separator=None,
    target_size=(64, 64),
    extension=None,
    on_missing="raise",
    return_X_y=False,
):
    """Load images named by the ids of a CSV file, with their multi-label annotations.

    The CSV file (read with pandas) has an id column and the labels in one of two layouts:

    - one 0/1 column per label (``label_columns``; by default every column but the id), or
    - one column of label lists (``labels_column``), each cell like ``"drama|thriller"``,
      ``"drama;thriller"``, ``"drama,thriller"`` or ``"['drama', 'thriller']"`` (a Python
      list literal). Without ``label_separator``, ``|``, ``;`` and ``,`` all separate labels;
      spaces do not (``"science fiction"`` is one label). An empty cell means no label.

    Each image is ``image_dir / id``; when no such file exists, ``id`` plus one of the
    extensions .png, .jpg, .jpeg, .bmp, .gif, .webp, .tif, .tiff (lower or upper case) is
    tried, or only ``extension`` when given. Ids must name files inside ``image_dir``: an id
    that is an absolute path, climbs out with ``..``, or reaches a symlink pointing outside the
    folder raises a ValueError naming the id and the folder.

    Each image is turned upright by its EXIF orientation, when it has one
    (``PIL.ImageOps.exif_transpose``), resized to ``target_size`` (bilinear) and scaled to
    [0, 1] by the full range of its pixel type, never by the values it happens to hold:

    - 8-bit images (grayscale, RGB, CMYK, ...) are divided by 255. Palette images go through
      their palette first; 1-bit images give 0 and 1. Pillow reads 16-bit colour PNGs as 8
      bits per channel, so they are divided by 255 too.
    - 16-bit grayscale images (Pillow modes ``"I;16"``, ``"I;16B"``, ``"I;16L"``) are divided
      by 65535, and so are 32-bit integer images (mode ``"I"``, as Pillow opens some 16-bit
      files) whose values all lie in [0, 65535]; other ``"I"`` images are not loaded.
    - 32-bit float images (mode ``"F"``, e.g. float TIFFs) are taken as they are when all
      their values are finite and in [0, 1]; other float images are not loaded.

    Images that are not loaded count as unreadable (see ``on_missing``), with the reason
    (e.g. their range of values) in the message. Grayscale images are repeated over the three
    channels; an alpha channel is dropped: colours are kept as stored, not blended with a
    background.

    Parameters
    ----------
    csv_path : str or path-like
        CSV file with a header row.
    image_dir : str or path-like
        Folder holding the images.
    id_column : str, default="id"
        Column of image ids (read as strings, so leading zeros are kept).
    label_columns : list of str, default=None
        0/1 columns, one per label. None, with ``labels_column`` None too: every column but
        ``id_column``.
    labels_column : str, default=None
        Column of label lists; the labels are sorted by name.
    label_separator : str, default=None
        Separator of the label lists; None: any of ``|``, ``;``, ``,``, or a list literal.
    target_size : tuple of (int, int), default=(64, 64)
        (height, width) of the returned images.
    extension : str, default=None
        Extension appended to ids that do not already end with it, e.g. ``".png"``.
    on_missing : {"raise", "warn"}, default="raise"
        For images that are missing or cannot be read or scaled (see above): "raise" raises an
        error listing all of them, "warn" skips those rows with a ``UserWarning`` listing them.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, height, width, 3), dtype float32
            RGB images in [0, 1].
        target : ndarray of shape (n_samples, n_labels), dtype int64
            0/1 label indicator matrix.
        target_names : ndarray of shape (n_labels,), dtype object
        ids : ndarray of shape (n_samples,), dtype object
            Ids of the loaded rows, in CSV order.
        filenames : ndarray of shape (n_samples,), dtype object
            Paths of the loaded images.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If images are missing and ``on_missing="raise"``; the message lists all missing and
        unreadable ones.
    ValueError
        If images cannot be read or have values outside the range of their type (and none is
        missing) and ``on_missing="raise"``; if an id resolves outside ``image_dir``
        (whatever ``on_missing``); or for a bad argument, an unknown column or a label column
        with values other than 0 and 1.
    ImportError
        If Pillow is not installed.
    """
    import pandas as pd

    _check_arguments(on_missing, target_size, label_columns, labels_column)
    Image, ImageOps = _import_pillow()

    frame = pd.read_csv(csv_path, dtype={id_column: str}, keep_default_na=False)
    if id_column not in frame.columns:
        raise ValueError(
            f"id_column {id_column!r} not in {csv_path} columns {list(frame.columns)}"
        )
    ids = frame[id_column].astype(str).str.strip().to_numpy(dtype=object)

    target_names, Y = _read_labels(
        frame, csv_path, ids, id_column, label_columns, labels_column, label_separator
    )
    height, width = (int(s) for s in target_size)
    image_dir = Path(image_dir)
    root = image_dir.resolve()
    outside = [repr(i) for i in ids if not _is_inside(image_dir / i, root)]
    if outside:
        raise ValueError(_outside_message(image_dir, outside))
    X = np.empty((len(ids), height, width, 3), dtype=np.float32)
    filenames = np.empty(len(ids), dtype=object)
    missing, unreadable = [], []
    for r, image_id in enumerate(ids):
        path = _resolve_path(image_dir, image_id, extension)
        if path is None:
            missing.append(repr(image_id))
            continue
        if not _is_inside(path, root):  # a symlink, possibly with an added extension
            outside.append(f"{image_id!r} ({path.name} -> {path.resolve()})")
            continue
        try:
            X[r] = _read_image(path, (width, height), Image, ImageOps)
        except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            unreadable.append(f"{image_id!r} ({exc})")
            continue
        filenames[r] = str(path)

    if outside:
        raise ValueError(_outside_message(image_dir, outside))
    if missing or unreadable:
        parts = []
        if missing:
            parts.append(_list_problems(f"missing in {image_dir}", missing))
        if unreadable:
            parts.append(_list_problems("unreadable", unreadable))
        message = "images " + "; ".join(parts)
        if on_missing == "raise":
            raise (FileNotFoundError if missing else ValueError)(message)
        warnings.warn(f"skipping {message}", UserWarning, stacklevel=2)
        keep = np.array([f is not None for f in filenames], dtype=bool)
        X, Y, ids, filenames = X[keep], Y[keep], ids[keep], filenames[keep]

    if return_X_y:
        return X, Y
    return Bunch(
        data=X,
        target=Y,
        target_names=np.array(target_names, dtype=object),
        ids=ids,
        filenames=filenames,
    )


def _read_labels(frame, csv_path, ids, id_column, label_columns, labels_column, label_separator):
    """The label names and the 0/1 label matrix of the CSV's rows."""
    import pandas as pd

    if labels_column is not None:
        if labels_column not in frame.columns:
            raise ValueError(f"labels_column {labels_column!r} not in {csv_path} columns")
        lists = [_split_labels(v, label_separator) for v in frame[labels_column]]
        target_names = sorted({name for labels in lists for name in labels})
        index = {name: k for k, name in enumerate(target_names)}
        Y = np.zeros((len(frame), len(target_names)), dtype=np.int64)
        for r, labels in enumerate(lists):
            Y[r, [index[name] for name in labels]] = 1
    else:
        if label_columns is None:
            label_columns = [c for c in frame.columns if c != id_column]
        unknown = [c for c in label_columns if c not in frame.columns]
        if unknown:
            raise ValueError(f"label columns {unknown} not in {csv_path} columns")
        target_names = [str(c) for c in label_columns]
        values = frame[list(label_columns)].apply(pd.to_numeric, errors="coerce").to_numpy()
        bad = ~np.isin(values, (0, 1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(
                f"label column {target_names[c]!r} must hold 0 or 1; row {r + 1} (id "
                f"{ids[r]!r}) has {frame[label_columns[c]].iloc[r]!r}"
            )
        Y = values.astype(np.int64)
    return target_names, Y

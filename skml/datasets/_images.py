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
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "load_image_folder needs Pillow; install it with `pip install skml[images]` "
            "(or `pip install pillow`)."
        ) from exc
    return Image


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


def _list_problems(kind, ids, limit=50):
    shown = ", ".join(repr(i) for i in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{len(ids)} {kind}: {shown}{more}"


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
    tried, or only ``extension`` when given. Images are converted to RGB, resized to
    ``target_size`` (bilinear) and scaled to [0, 1].

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
        For images that are missing or cannot be read: "raise" raises an error listing all of
        them, "warn" skips those rows with a ``UserWarning`` listing them.
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
        If images cannot be read (and none is missing) and ``on_missing="raise"``, or for a
        bad argument, an unknown column or a label column with values other than 0 and 1.
    ImportError
        If Pillow is not installed.
    """
    import pandas as pd

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
    Image = _import_pillow()

    frame = pd.read_csv(csv_path, dtype={id_column: str}, keep_default_na=False)
    if id_column not in frame.columns:
        raise ValueError(
            f"id_column {id_column!r} not in {csv_path} columns {list(frame.columns)}"
        )
    ids = frame[id_column].astype(str).str.strip().to_numpy(dtype=object)

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

    height, width = (int(s) for s in target_size)
    image_dir = Path(image_dir)
    X = np.empty((len(ids), height, width, 3), dtype=np.float32)
    filenames = np.empty(len(ids), dtype=object)
    missing, unreadable = [], []
    for r, image_id in enumerate(ids):
        path = _resolve_path(image_dir, image_id, extension)
        if path is None:
            missing.append(image_id)
            continue
        try:
            with Image.open(path) as image:
                image = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
                X[r] = np.asarray(image, dtype=np.float32) / 255.0
        except (OSError, ValueError, Image.DecompressionBombError):
            unreadable.append(image_id)
            continue
        filenames[r] = str(path)

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

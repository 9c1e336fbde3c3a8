"""An offline multi-label image task: several handwritten digits on one canvas."""

import numbers

import numpy as np
from sklearn.utils import Bunch

__all__ = ["make_multilabel_digits"]

DIGIT_NAMES = [f"digit_{d}" for d in range(10)]
# Derived labels: each is "some digit on the canvas belongs to this set".
DERIVED_LABELS = {
    "has_even_digit": (0, 2, 4, 6, 8),
    "has_digit_gt_5": (6, 7, 8, 9),
    "has_prime_digit": (2, 3, 5, 7),
}


def _rng(random_state):
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, numbers.Integral | np.random.Generator):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or RandomState, "
        f"got {random_state!r}"
    )


def _check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def _resize_bilinear(images, size):
    """Resize (n, 8, 8) images to (n, size, size): separable linear interpolation matrices."""
    n_in = images.shape[1]
    x = np.clip((np.arange(size) + 0.5) * n_in / size - 0.5, 0, n_in - 1)
    x0 = np.minimum(np.floor(x).astype(int), n_in - 2)
    w = x - x0
    W = np.zeros((size, n_in))
    W[np.arange(size), x0] = 1 - w
    W[np.arange(size), x0 + 1] += w
    return np.einsum("ij,njk,lk->nil", W, images, W)


def _place(rng, k, canvas_size, size, n_tries=30):
    """Top-left corners of k non-overlapping size x size boxes on the canvas."""
    limit = canvas_size - size + 1
    for _ in range(n_tries):
        boxes = []
        for _ in range(k):
            for _ in range(n_tries):
                r, c = rng.integers(0, limit, size=2)
                if all(abs(r - r2) >= size or abs(c - c2) >= size for r2, c2 in boxes):
                    boxes.append((r, c))
                    break
            else:
                break
        if len(boxes) == k:
            return boxes
    # Tight packings: distinct cells of a grid, which always has room for k boxes.
    n_cells = canvas_size // size
    cell = canvas_size // n_cells
    slack = cell - size
    cells = rng.choice(n_cells * n_cells, size=k, replace=False)
    return [
        (
            i // n_cells * cell + rng.integers(0, slack + 1),
            i % n_cells * cell + rng.integers(0, slack + 1),
        )
        for i in cells
    ]


def make_multilabel_digits(
    n_samples=1000,
    *,
    canvas_size=32,
    min_digits=1,
    max_digits=3,
    digit_size=12,
    derived_labels=True,
    flatten=False,
    return_X_y=False,
    random_state=None,
):
    """Generate a multi-label image task: which digits appear on a canvas.

    Each canvas is black (0) with ``min_digits`` to ``max_digits`` handwritten digits drawn
    at random, non-overlapping positions. The digits are the 8x8 images of scikit-learn's
    bundled :func:`~sklearn.datasets.load_digits` (1797 images, no download), upscaled to
    ``digit_size`` x ``digit_size`` by bilinear interpolation. A class may appear more than
    once on a canvas. The first 10 labels, ``digit_0`` .. ``digit_9``, say which classes
    appear; with ``derived_labels`` three more follow, each true when some digit on the
    canvas is in a set: ``has_even_digit`` (0, 2, 4, 6, 8), ``has_digit_gt_5`` (6, 7, 8, 9)
    and ``has_prime_digit`` (2, 3, 5, 7). They overlap with the digit labels, which gives the
    task the label dependencies that multi-label methods are meant to exploit.

    The defaults (32x32 canvas, 1 to 3 digits of 12x12) make a task that a small CNN learns
    in a few epochs.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of canvases.
    canvas_size : int, default=32
        Height and width of the canvases, in pixels.
    min_digits : int, default=1
        Fewest digits on a canvas (0 allows empty canvases).
    max_digits : int, default=3
        Most digits on a canvas; at most ``(canvas_size // digit_size) ** 2``, so that they
        always fit without overlap.
    digit_size : int, default=12
        Height and width of each drawn digit (the originals are 8x8).
    derived_labels : bool, default=True
        Append the three derived labels after the ten digit labels.
    flatten : bool, default=False
        Return ``data`` of shape (n_samples, canvas_size**2), for models that take vectors.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    random_state : int, numpy Generator or RandomState, default=None
        Seed or generator; the same int gives the same data. None draws fresh entropy (the
        global numpy state is never used).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, canvas_size, canvas_size, 1), dtype float32
            Canvases, values in [0, 1]; (n_samples, canvas_size**2) with ``flatten``.
        target : ndarray of shape (n_samples, 10) or (n_samples, 13), dtype int64
            0/1 label indicator matrix.
        target_names : ndarray of shape (n_labels,), dtype object
            ``digit_0`` .. ``digit_9`` then the derived labels.
        digits : ndarray of shape (n_samples, max_digits), dtype int64
            Class of each drawn digit, -1 where a canvas has fewer than ``max_digits``.
        positions : ndarray of shape (n_samples, max_digits, 2), dtype int64
            (row, column) of each digit's top-left corner, -1 for no digit.
        DESCR : str

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        For a bad argument, e.g. a canvas too small for ``max_digits`` digits.

    Examples
    --------
    >>> from skml.datasets import make_multilabel_digits
    >>> X, y = make_multilabel_digits(n_samples=100, return_X_y=True, random_state=0)
    >>> X.shape, y.shape
    ((100, 32, 32, 1), (100, 13))
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    digit_size = _check_int("digit_size", digit_size, 4)
    canvas_size = _check_int("canvas_size", canvas_size, 4)
    if digit_size > canvas_size:
        raise ValueError(f"digit_size={digit_size} does not fit canvas_size={canvas_size}")
    max_digits = _check_int("max_digits", max_digits, 1)
    min_digits = _check_int("min_digits", min_digits, 0, max_digits)
    capacity = (canvas_size // digit_size) ** 2
    if max_digits > capacity:
        raise ValueError(
            f"canvas_size={canvas_size} is too small for max_digits={max_digits} digits of "
            f"digit_size={digit_size}: at most {capacity} fit without overlap; use a larger "
            "canvas_size, a smaller digit_size or fewer digits"
        )
    rng = _rng(random_state)

    from sklearn.datasets import load_digits

    source = load_digits()
    glyphs = np.clip(_resize_bilinear(source.images / 16.0, digit_size), 0.0, 1.0)
    glyphs = glyphs.astype(np.float32)

    X = np.zeros((n_samples, canvas_size, canvas_size), dtype=np.float32)
    digits = np.full((n_samples, max_digits), -1, dtype=np.int64)
    positions = np.full((n_samples, max_digits, 2), -1, dtype=np.int64)
    counts = rng.integers(min_digits, max_digits + 1, size=n_samples)
    for i, k in enumerate(counts):
        chosen = rng.integers(0, len(glyphs), size=k)
        for j, (g, (r, c)) in enumerate(
            zip(chosen, _place(rng, k, canvas_size, digit_size), strict=True)
        ):
            X[i, r : r + digit_size, c : c + digit_size] = glyphs[g]
            digits[i, j] = source.target[g]
            positions[i, j] = (r, c)

    Y = np.zeros((n_samples, 10), dtype=np.int64)
    rows, slots = np.nonzero(digits >= 0)
    Y[rows, digits[rows, slots]] = 1
    names = list(DIGIT_NAMES)
    if derived_labels:
        derived = [Y[:, list(members)].max(axis=1) for members in DERIVED_LABELS.values()]
        Y = np.column_stack([Y, *derived])
        names += list(DERIVED_LABELS)

    X = X.reshape(n_samples, -1) if flatten else X[..., np.newaxis]
    if return_X_y:
        return X, Y
    return Bunch(
        data=X,
        target=Y,
        target_names=np.array(names, dtype=object),
        digits=digits,
        positions=positions,
        DESCR=(
            f"Multi-label digits: {n_samples} canvases of {canvas_size}x{canvas_size} pixels, "
            f"each with {min_digits} to {max_digits} digits of {digit_size}x{digit_size} from "
            "sklearn.datasets.load_digits; labels: " + ", ".join(names) + "."
        ),
    )

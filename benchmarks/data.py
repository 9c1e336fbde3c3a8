"""The benchmark's data sets, each with its fixed train/test split.

The MULAN sets (yeast, emotions, scene, bibtex) come with their standard split; the generated
sets get a fixed 2/3 - 1/3 multi-label stratified split (``random_state=0``). Cross-validation
runs over all rows (train and test together). bibtex's features are a SciPy CSR matrix (sparse
word indicators); every other set's are a dense array.

:func:`make_linear_labels` generates the synthetic problems of any size that the speed
benchmark times.
"""

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

__all__ = ["DATASETS", "QUICK_SIZES", "Dataset", "load_dataset", "make_linear_labels"]

#: Training and test rows of a data set in a ``--quick`` run (see :meth:`Dataset.subsample`).
QUICK_SIZES = (200, 100)


@dataclass(frozen=True)
class Dataset:
    """A multi-label data set and its standard split.

    Parameters
    ----------
    name : str
        Short name.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Features; image data sets are flattened; sparse for bibtex.
    y : ndarray of shape (n_samples, n_labels)
        0/1 label matrix.
    train : ndarray of int
        Rows of the standard training set.
    test : ndarray of int
        Rows of the standard test set.
    image_shape : tuple of int or None, default=None
        Shape (h, w, c) of one image, for contenders that read images.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    image_shape: tuple | None = None

    def features(self, rows, input="tabular"):
        """The rows of ``X`` as a contender reads them: 2-D, or as images.

        Parameters
        ----------
        rows : ndarray of int
            Row indices.
        input : {"tabular", "image"}, default="tabular"
            The contender's input kind.

        Returns
        -------
        X : ndarray
        """
        X = self.X[rows]
        if input == "image":
            return X.reshape(len(rows), *self.image_shape)
        return X

    def subsample(self, max_train, max_test, random_state=0):
        """A smaller copy: at most ``max_train`` and ``max_test`` rows, stratified.

        Parameters
        ----------
        max_train, max_test : int
            Largest sizes of the training and test sets.
        random_state : int, default=0
            Seed of the stratified draw.

        Returns
        -------
        dataset : Dataset
        """
        train = _stratified_subset(self.train, self.y, max_train, random_state)
        test = _stratified_subset(self.test, self.y, max_test, random_state)
        rows = np.concatenate([train, test])
        return replace(
            self,
            X=self.X[rows],
            y=self.y[rows],
            train=np.arange(len(train)),
            test=np.arange(len(train), len(rows)),
        )


def _stratified_subset(rows, y, size, random_state):
    if len(rows) <= size:
        return rows
    from skml.model_selection import multilabel_train_test_split

    kept, _ = multilabel_train_test_split(
        rows, train_size=size, stratify=y[rows], random_state=random_state
    )
    return np.sort(kept)


def _from_mulan(name, loader):
    X_train, y_train = loader(subset="train", return_X_y=True)
    X_test, y_test = loader(subset="test", return_X_y=True)
    n_train = X_train.shape[0]
    if sp.issparse(X_train):
        X = sp.vstack([X_train, X_test], format="csr")
    else:
        X = np.vstack([X_train, X_test])
    return Dataset(
        name,
        X,
        np.vstack([y_train, y_test]).astype(np.int64),
        np.arange(n_train),
        np.arange(n_train, n_train + X_test.shape[0]),
    )


def _with_fixed_split(name, X, y, image_shape=None):
    from skml.model_selection import multilabel_train_test_split

    train, test = multilabel_train_test_split(
        np.arange(len(X)), test_size=1 / 3, stratify=y, random_state=0
    )
    return Dataset(
        name, X, np.asarray(y, dtype=np.int64), np.sort(train), np.sort(test), image_shape
    )


def load_yeast():
    """Yeast gene functions (MULAN): 2417 rows, 103 features, 14 labels.

    Returns
    -------
    dataset : Dataset
    """
    from skml.datasets import load_yeast as loader

    return _from_mulan("yeast", loader)


def load_emotions():
    """Emotions in music (MULAN): 593 rows, 72 features, 6 labels.

    Returns
    -------
    dataset : Dataset
    """
    from skml.datasets import load_emotions as loader

    return _from_mulan("emotions", loader)


def load_scene():
    """Scene images (MULAN): 2407 rows, 294 features, 6 labels.

    Returns
    -------
    dataset : Dataset
    """
    from skml.datasets import load_scene as loader

    return _from_mulan("scene", loader)


def load_bibtex():
    """BibTeX tags (MULAN): 7395 rows, 1836 sparse binary features, 159 labels.

    Returns
    -------
    dataset : Dataset
    """
    from skml.datasets import load_bibtex as loader

    return _from_mulan("bibtex", loader)


def load_tutorial():
    """The tutorials' task: ``make_multilabel_classification`` with 1000 rows, 3 labels.

    Returns
    -------
    dataset : Dataset
    """
    from sklearn.datasets import make_multilabel_classification

    X, y = make_multilabel_classification(
        n_samples=1000, n_features=10, n_classes=3, n_labels=2, random_state=1
    )
    return _with_fixed_split("tutorial", X.astype(np.float64), y)


def load_digits():
    """Which digits appear on a 32x32 canvas: 2000 rows, 13 labels (``make_multilabel_digits``).

    Returns
    -------
    dataset : Dataset
    """
    from skml.datasets import make_multilabel_digits

    images, y = make_multilabel_digits(
        n_samples=2000, canvas_size=32, return_X_y=True, random_state=0
    )
    X = images.reshape(len(images), -1).astype(np.float64)
    return _with_fixed_split("digits", X, y, image_shape=images.shape[1:])


#: Data set loaders, by name.
DATASETS = {
    "yeast": load_yeast,
    "emotions": load_emotions,
    "scene": load_scene,
    "bibtex": load_bibtex,
    "tutorial": load_tutorial,
    "digits": load_digits,
}


def load_dataset(name):
    """Load a data set of :data:`DATASETS` by name.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.

    Returns
    -------
    dataset : Dataset
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}; choose from {sorted(DATASETS)}.")
    return DATASETS[name]()


def make_linear_labels(n_samples, n_features, n_labels, random_state=0):
    """Standard Gaussian features and labels from a noisy linear rule, 5-40% positives each.

    Parameters
    ----------
    n_samples, n_features, n_labels : int
        Shape of the problem.
    random_state : int, default=0
        Seed of the features, the rule and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples, n_labels), int
    """
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n_samples, n_features))
    W = rng.normal(size=(n_features, n_labels)) / np.sqrt(n_features)
    scores = X @ W + 0.5 * rng.normal(size=(n_samples, n_labels))
    rates = rng.uniform(0.05, 0.4, size=n_labels)
    cut = np.array([np.quantile(scores[:, j], 1 - rate) for j, rate in enumerate(rates)])
    return X, (scores > cut).astype(int)

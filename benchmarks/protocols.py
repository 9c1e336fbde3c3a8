"""The protocol: which splits, which seeds, which metrics, and one timed run.

- ``split``: the data set's standard train/test split (MULAN's for the MULAN sets), once per
  seed ``0 .. n_seeds - 1``.
- ``cv``: multi-label stratified K-fold, 5 folds (``random_state=0``) over all rows; the
  contenders' seed is the repeat number (one repeat: 0).

The contender's ``random_state`` is the row's seed, so a run is reproducible.
"""

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score, hamming_loss

__all__ = [
    "CV_SPLITS",
    "METRICS",
    "PROTOCOLS",
    "Fold",
    "evaluate",
    "iter_folds",
    "score",
    "warm_up",
]

PROTOCOLS = ("split", "cv")

#: (n_splits, n_repeats) of the cv protocol, full and quick.
CV_SPLITS = {False: (5, 1), True: (2, 1)}

#: Metric name -> (label, True when lower is better), in report order.
METRICS = {
    "hamming_loss": ("hamming loss", True),
    "f1_macro": ("macro-F1", False),
    "f1_micro": ("micro-F1", False),
    "f1_samples": ("samples-F1", False),
    "subset_accuracy": ("subset accuracy", False),
    "fit_seconds": ("fit s", True),
    "predict_seconds": ("predict s", True),
}


@dataclass(frozen=True)
class Fold:
    """One train/test run of a protocol.

    Parameters
    ----------
    protocol : {"split", "cv"}
    fold : int
        Fold number (0 for the split protocol).
    seed : int
        ``random_state`` of the contender.
    train, test : ndarray of int
        Row indices.
    """

    protocol: str
    fold: int
    seed: int
    train: np.ndarray
    test: np.ndarray


def iter_folds(dataset, protocol, *, quick=False, n_seeds=1):
    """The runs of a protocol on a data set.

    Parameters
    ----------
    dataset : Dataset
        The data set.
    protocol : {"split", "cv"}
        The protocol.
    quick : bool, default=False
        Use the quick cv (2 folds, 1 repeat).
    n_seeds : int, default=1
        Seeds of the split protocol.

    Returns
    -------
    folds : list of Fold
    """
    if protocol == "split":
        return [Fold("split", 0, seed, dataset.train, dataset.test) for seed in range(n_seeds)]
    if protocol != "cv":
        raise ValueError(f"Unknown protocol {protocol!r}; choose from {PROTOCOLS}.")
    from skml.model_selection import RepeatedMultilabelStratifiedKFold

    n_splits, n_repeats = CV_SPLITS[quick]
    splitter = RepeatedMultilabelStratifiedKFold(
        n_splits=n_splits, n_repeats=n_repeats, random_state=0
    )
    return [
        Fold("cv", i, i // n_splits, train, test)
        for i, (train, test) in enumerate(splitter.split(dataset.X, dataset.y))
    ]


def score(y_true, y_pred):
    """The benchmark's quality metrics.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, n_labels)
        0/1 label matrices.

    Returns
    -------
    scores : dict of str to float
        ``hamming_loss``, ``f1_macro``, ``f1_micro``, ``f1_samples`` (``zero_division=0``) and
        ``subset_accuracy`` (exact-match ratio).
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred).astype(y_true.dtype)
    return {
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        **{
            f"f1_{avg}": float(f1_score(y_true, y_pred, average=avg, zero_division=0))
            for avg in ("macro", "micro", "samples")
        },
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
    }


@contextmanager
def _quiet():
    """Keep the expected warnings (part of the protocol, not news) off the progress bar."""
    with warnings.catch_warnings():
        # Iteration caps (MLPClassifier's 200 epochs, lbfgs' 100 iterations) and labels
        # constant in a small training fold are expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=r"Label\(s\) .* are constant")
        yield


def warm_up(contenders):
    """Fit each contender once on a tiny problem, untimed.

    One-off start-up costs (initialising TensorFlow, first graph compilations) are then not
    charged to the ``fit_seconds`` of whichever method happens to run first.

    Parameters
    ----------
    contenders : iterable of Contender
        The methods of the run.
    """
    from sklearn.datasets import make_multilabel_classification

    X, y = make_multilabel_classification(n_samples=40, n_features=64, n_classes=3, random_state=0)
    with _quiet():
        for contender in contenders:
            X_in = X.reshape(-1, 8, 8, 1) if contender.input == "image" else X
            contender.factory(0, quick=True).fit(X_in, y).predict(X_in)


def evaluate(
    contender, dataset, fold, *, quick=False, return_estimator=False, return_predictions=False
):
    """Fit a fresh contender on a fold's training rows and score it on its test rows.

    Parameters
    ----------
    contender : Contender
        The method.
    dataset : Dataset
        The data set.
    fold : Fold
        The run.
    quick : bool, default=False
        Passed to the contender's factory.
    return_estimator : bool, default=False
        Also return the fitted estimator.
    return_predictions : bool, default=False
        Also return the predictions of the test rows (after the estimator, if both).

    Returns
    -------
    result : dict
        The :func:`score` metrics plus ``fit_seconds`` and ``predict_seconds``.
    estimator : estimator
        The fitted contender; only when ``return_estimator`` is True.
    y_pred : ndarray of shape (n_test, n_labels)
        The test rows' predictions; only when ``return_predictions`` is True.
    """
    estimator = contender.factory(fold.seed, quick=quick)
    X_train = dataset.features(fold.train, contender.input)
    X_test = dataset.features(fold.test, contender.input)
    y_train, y_test = dataset.y[fold.train], dataset.y[fold.test]
    with _quiet():
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        y_pred = estimator.predict(X_test)
        predict_seconds = time.perf_counter() - start
    result = {
        **score(y_test, y_pred),
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
    }
    extras = (estimator,) * return_estimator + (np.asarray(y_pred),) * return_predictions
    return (result, *extras) if extras else result

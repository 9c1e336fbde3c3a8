"""How finely a test split resolves the difference between two benchmark methods.

``python -m benchmarks.resolution --dataset emotions --methods skml,catboost`` fits both
methods with each model seed on the data set's standard split, as ``python -m benchmarks``
does, keeps their test predictions and resamples the test rows with replacement: a paired
bootstrap (Efron & Tibshirani 1993), the same resampled rows for both methods, each method's
metric the mean over its seeds' predictions, as in the benchmark's tables. It prints the
observed difference (first method minus second) of hamming loss and macro-F1, the standard
deviation of that difference over the resamples and its 95% percentile interval. A release
margin much smaller than that standard deviation cannot be told from the luck of which rows
the test split holds, whatever the sign of the observed difference.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

__all__ = ["METRICS", "bootstrap_metrics", "main", "paired_bootstrap", "resample_counts"]

#: The compared metrics: name -> (label, lower is better).
METRICS = {"hamming_loss": ("hamming loss", True), "f1_macro": ("macro-F1", False)}

#: Resamples of the test rows without ``--resamples``.
DEFAULT_RESAMPLES = 2000


def resample_counts(n_rows, n_resamples, random_state=0):
    """How many times each row is drawn in each bootstrap resample.

    Parameters
    ----------
    n_rows : int
        Rows of the test split.
    n_resamples : int
        Resamples, each of ``n_rows`` rows drawn with replacement.
    random_state : int, default=0
        Seed of the draws.

    Returns
    -------
    counts : ndarray of shape (n_resamples, n_rows)
        Each row sums to ``n_rows``.
    """
    rng = np.random.default_rng(random_state)
    draws = rng.integers(0, n_rows, size=(n_resamples, n_rows))
    flat = draws + n_rows * np.arange(n_resamples)[:, None]
    return np.bincount(flat.ravel(), minlength=n_resamples * n_rows).reshape(n_resamples, n_rows)


def bootstrap_metrics(y_true, y_pred, counts):
    """Hamming loss and macro-F1 of ``y_pred`` on each resample of the rows.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_rows, n_labels)
        0/1 label matrices.
    counts : ndarray of shape (n_resamples, n_rows)
        Row multiplicities (:func:`resample_counts`; a row of ones is the test split itself).

    Returns
    -------
    metrics : dict of str to ndarray of shape (n_resamples,)
        ``hamming_loss`` and ``f1_macro`` (F1 of a label with no true and no predicted
        positive is 0, scikit-learn's ``zero_division=0``).
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    counts = np.asarray(counts, dtype=float)
    tp = counts @ (y_true & y_pred)
    fp = counts @ (~y_true & y_pred)
    fn = counts @ (y_true & ~y_pred)
    errors = counts @ (y_true != y_pred).sum(axis=1)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return {
        "hamming_loss": errors / (counts.sum(axis=1) * y_true.shape[1]),
        "f1_macro": f1.mean(axis=1),
    }


def paired_bootstrap(y_true, preds_a, preds_b, n_resamples=DEFAULT_RESAMPLES, random_state=0):
    """The difference of two methods' metrics on the test rows, and its spread over resamples.

    Parameters
    ----------
    y_true : array-like of shape (n_rows, n_labels)
        The test labels.
    preds_a, preds_b : list of array-like of shape (n_rows, n_labels)
        Each method's predictions, one per model seed; a method's metric is the mean over its
        seeds.
    n_resamples : int, default=2000
        Bootstrap resamples of the rows, shared by both methods.
    random_state : int, default=0
        Seed of the resamples.

    Returns
    -------
    result : dict of str to dict
        Per metric of :data:`METRICS`: ``a`` and ``b`` (each method's metric on the test
        split), ``difference`` (``a - b``), ``sd`` (its standard deviation over the
        resamples), ``low`` and ``high`` (its 2.5 and 97.5 percentiles).
    """
    y_true = np.asarray(y_true)
    counts = resample_counts(y_true.shape[0], n_resamples, random_state)
    whole = np.ones((1, y_true.shape[0]))

    def mean_over_seeds(preds, weights):
        per_seed = [bootstrap_metrics(y_true, p, weights) for p in preds]
        return {m: np.mean([s[m] for s in per_seed], axis=0) for m in METRICS}

    observed_a, observed_b = mean_over_seeds(preds_a, whole), mean_over_seeds(preds_b, whole)
    resampled_a, resampled_b = mean_over_seeds(preds_a, counts), mean_over_seeds(preds_b, counts)
    result = {}
    for metric in METRICS:
        spread = resampled_a[metric] - resampled_b[metric]
        low, high = np.percentile(spread, [2.5, 97.5])
        result[metric] = {
            "a": float(observed_a[metric][0]),
            "b": float(observed_b[metric][0]),
            "difference": float(observed_a[metric][0] - observed_b[metric][0]),
            "sd": float(spread.std(ddof=1)),
            "low": float(low),
            "high": float(high),
        }
    return result


def _test_predictions(method, dataset, n_seeds, quick):
    """A method's predictions of the test rows of the standard split, one per model seed."""
    from benchmarks.contenders import CONTENDERS
    from benchmarks.protocols import evaluate, iter_folds

    contender = CONTENDERS[method]
    preds = []
    for fold in iter_folds(dataset, "split", n_seeds=n_seeds):
        _, y_pred = evaluate(contender, dataset, fold, quick=quick, return_predictions=True)
        preds.append(y_pred)
    return preds


def _table(dataset, a, b, result, n_seeds, n_resamples):
    lines = [
        f"{dataset}, standard split, {n_seeds} model seeds, {n_resamples} paired resamples of "
        f"the test rows; difference = {a} - {b}:",
        "",
        f"| metric | {a} | {b} | difference | sd | 95% interval |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for metric, (label, _) in METRICS.items():
        r = result[metric]
        lines.append(
            f"| {label} | {r['a']:.4f} | {r['b']:.4f} | {r['difference']:+.4f} | "
            f"{r['sd']:.4f} | {r['low']:+.4f} to {r['high']:+.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    """Command line: ``python -m benchmarks.resolution --dataset D --methods A,B``.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    result : dict
        :func:`paired_bootstrap`'s result.
    """
    from benchmarks.contenders import CONTENDERS
    from benchmarks.data import DATASETS, QUICK_SIZES, load_dataset

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.resolution", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--methods", required=True, help="two methods, comma-separated: A,B")
    parser.add_argument("--seeds", type=int, default=3, help="model seeds (default: 3)")
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES)
    parser.add_argument("--quick", action="store_true", help="the benchmark's --quick sizes")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if len(methods) != 2 or any(m not in CONTENDERS for m in methods):
        parser.error(
            f"--methods takes two known methods (see python -m benchmarks --list); "
            f"got {args.methods!r}"
        )
    if args.seeds < 1 or args.resamples < 2:
        parser.error("--seeds must be at least 1 and --resamples at least 2")
    dataset = load_dataset(args.dataset)
    if args.quick:
        dataset = dataset.subsample(*QUICK_SIZES)
    a, b = methods
    preds = [_test_predictions(m, dataset, args.seeds, args.quick) for m in methods]
    y_test = dataset.y[dataset.test]
    result = paired_bootstrap(y_test, *preds, n_resamples=args.resamples)
    text = _table(args.dataset, a, b, result, args.seeds, args.resamples)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"resolution_{args.dataset}_{a}_{b}.md").write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])

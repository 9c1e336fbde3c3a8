"""Imbalance variants of skml on the MULAN standard splits: ``python -m benchmarks.imbalance
[--datasets yeast,emotions,scene] [--variants default,f1,...] [--seeds 3] [--quick]
[--out results/]``.

One row per data set and variant: hamming loss and macro-F1 (mean ± std over seeds) of the
default classifier with threshold 0.5, with ``class_weight="balanced"``, the focal and
asymmetric losses, F1-tuned thresholds, and ML-ROS or MLSMOTE applied to the training split
before fitting (:data:`VARIANTS`).

Each variant is the benchmark's ``skml`` contender (:func:`benchmarks.contenders.make_skml`)
with other parameters, so features are standardised and the resamplers see standardised
features too, on one network, ``MLP()``: the default at threshold 0.5. (Under
``threshold="f1"`` the default network is an ensemble of 5; the variants compare the imbalance
tools on the same network, at the cost of one.) The data sets and their standard splits are
:mod:`benchmarks.data`'s, each run is :func:`benchmarks.protocols.evaluate`, and
``imbalance.csv`` has the columns of ``benchmark.csv`` (``method`` holds the variant's key),
versions included, plus ``n_fit``, the training rows after resampling.

``--quick`` is a smoke run: the data sets cut to 200 training and 100 test rows, 5 epochs, one
seed. Writes ``imbalance.md`` (the table, also printed) and ``imbalance.csv`` to ``--out``.
"""

import argparse
import sys
from functools import partial

import numpy as np
import pandas as pd

from benchmarks.contenders import Contender, make_skml
from benchmarks.data import QUICK_SIZES, load_dataset
from benchmarks.protocols import evaluate, iter_folds, warm_up
from benchmarks.report import environment, summarize, write_report
from skml.networks import MLP
from skml.resampling import MLROS, MLSMOTE

__all__ = ["DATASETS", "VARIANTS", "main", "markdown", "run"]

#: Data sets of a run without ``--datasets``.
DATASETS = ("yeast", "emotions", "scene")


def _variant(key, label, **params):
    return Contender(key, partial(make_skml, network=MLP(), **params), label)


#: Variant key -> contender; its ``description`` is the variant's row label in the table.
VARIANTS = {
    v.name: v
    for v in (
        _variant("default", "threshold 0.5"),
        _variant("balanced", 'class_weight="balanced"', class_weight="balanced"),
        _variant("focal", "focal", loss="focal"),
        _variant("asymmetric", "asymmetric", loss="asymmetric"),
        _variant("f1", 'threshold="f1"', threshold="f1"),
        _variant("f1-cv5", 'threshold="f1", threshold_cv=5', threshold="f1", threshold_cv=5),
        _variant(
            "f1-validation",
            'threshold="f1", threshold_cv="validation"',
            threshold="f1",
            threshold_cv="validation",
        ),
        _variant("mlros", "ML-ROS", resampler=MLROS),
        _variant("mlsmote", "MLSMOTE", resampler=MLSMOTE),
        _variant(
            "balanced-f1",
            'class_weight="balanced" + "f1"',
            class_weight="balanced",
            threshold="f1",
        ),
        _variant("asymmetric-f1", 'asymmetric + "f1"', loss="asymmetric", threshold="f1"),
        _variant("mlsmote-f1", 'MLSMOTE + "f1"', resampler=MLSMOTE, threshold="f1"),
    )
}


def run(datasets=DATASETS, variants=tuple(VARIANTS), *, n_seeds=3, quick=False, log=print):
    """Fit every variant on every data set's standard split, once per seed.

    Parameters
    ----------
    datasets : sequence of str, default=DATASETS
        Names of :data:`benchmarks.data.DATASETS`.
    variants : sequence of str, default=all
        Keys of :data:`VARIANTS`.
    n_seeds : int, default=3
        Model seeds ``0 .. n_seeds - 1``.
    quick : bool, default=False
        Cut the data sets and the training (see the module docstring).
    log : callable, default=print
        Receives one progress line per run.

    Returns
    -------
    rows : list of dict
        One row per data set, variant and seed, in the columns of ``benchmark.csv``.
    """
    env = environment()
    rows = []
    with np.errstate(all="ignore"):  # NumPy's floating-point warnings are not news here
        warm_up([VARIANTS[variants[0]]])  # TensorFlow's start is not charged to the first fit
        for name in datasets:
            dataset = load_dataset(name)
            if quick:
                dataset = dataset.subsample(*QUICK_SIZES)
            folds = iter_folds(dataset, "split", n_seeds=n_seeds)
            for key in variants:
                for fold in folds:
                    result, estimator = evaluate(
                        VARIANTS[key], dataset, fold, quick=quick, return_estimator=True
                    )
                    rows.append(
                        {
                            "dataset": name,
                            "method": key,
                            "protocol": fold.protocol,
                            "fold": fold.fold,
                            "seed": fold.seed,
                            **result,
                            "n_train": len(fold.train),
                            "n_fit": getattr(estimator[-1], "n_samples_fit_", len(fold.train)),
                            "n_test": len(fold.test),
                            "n_labels": dataset.y.shape[1],
                            "quick": quick,
                            **env,
                        }
                    )
                    log(
                        f"{name} {key} seed {fold.seed}: hamming {result['hamming_loss']:.3f}, "
                        f"macro-F1 {result['f1_macro']:.3f}, fit {result['fit_seconds']:.1f} s"
                    )
    return rows


def markdown(frame):
    """One table: a row per variant, hamming loss and macro-F1 (mean ± std) per data set.

    A variant not run on a data set gets empty cells there.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows of :func:`run`.

    Returns
    -------
    text : str
    """
    summary = summarize(frame)
    datasets = list(dict.fromkeys(frame["dataset"]))
    header = (
        "| variant | " + " | ".join(f"{d} hamming ↓ | {d} macro-F1 ↑" for d in datasets) + " |"
    )
    lines = [header, "|---|" + "---:|---:|" * len(datasets)]
    for key in dict.fromkeys(frame["method"]):
        cells = []
        for dataset in datasets:
            if (dataset, "split", key) not in summary.index:  # not run there
                cells += ["", ""]
                continue
            row = summary.loc[(dataset, "split", key)]
            for metric in ("hamming_loss", "f1_macro"):
                std = row[(metric, "std")]
                std = 0.0 if np.isnan(std) else std
                cells.append(f"{row[(metric, 'mean')]:.3f} ± {std:.3f}")
        lines.append(f"| {VARIANTS[key].description} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _comma_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.imbalance", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--datasets",
        type=_comma_list,
        default=list(DATASETS),
        help=f"comma list of data sets (default: {','.join(DATASETS)})",
    )
    parser.add_argument(
        "--variants",
        type=_comma_list,
        default=list(VARIANTS),
        help=f"comma list of variants (default: all: {','.join(VARIANTS)})",
    )
    parser.add_argument("--seeds", type=int, help="seeds per variant (default 3, 1 with --quick)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 200/100 rows, 5 epochs, one seed"
    )
    parser.add_argument("--out", default="results", help="folder of the reports")
    return parser


def main(argv=None):
    """Run the variants; write ``imbalance.md`` and ``imbalance.csv``.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if seeds < 1:
        parser.error(f"--seeds must be at least 1; got {seeds}")

    def log(message):
        print(message, file=sys.stderr, flush=True)

    rows = run(args.datasets, args.variants, n_seeds=seeds, quick=args.quick, log=log)
    table = markdown(pd.DataFrame(rows))
    write_report(args.out, "imbalance", table, rows=rows)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line of the benchmark: ``python -m benchmarks --help``.

Runs every chosen method on every chosen data set under the chosen protocols, with a progress
bar on stderr, then writes to ``--out``: ``benchmark.csv`` (one row per data set, method,
protocol, fold and seed, with versions and machine), ``benchmark.md`` (the markdown tables,
also printed) and ``benchmark_<dataset>.png`` (macro-F1 against hamming loss).
"""

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from benchmarks.contenders import CONTENDERS
from benchmarks.data import DATASETS, QUICK_SIZES, load_dataset
from benchmarks.protocols import CV_SPLITS, PROTOCOLS, evaluate, iter_folds, warm_up
from benchmarks.report import environment, markdown_table, plot_dataset, write_csv

__all__ = ["DEFAULT_PLAN", "QUICK_PLAN", "main"]

#: Data set -> protocols of a run without ``--datasets`` and ``--protocol``: the standard
#: split everywhere (3 model seeds), plus 5-fold cross-validation on the two small sets, whose
#: single test set is the noisiest. Sized to stay under 20 minutes on 2 cores: with digits in
#: it and 5 x 2 folds, the default run took 29.9 minutes (measured: digits 515 s, the CNN 80 s a
#: fit; the two cv protocols 529 s), so digits joins bibtex as opt-in (``--datasets digits``;
#: bibtex: ``--datasets bibtex``) and cv runs 5 folds once. Cross-validating yeast as well
#: took over 10 minutes on its own (catboost 29 s a fit), so it is left to ``--protocol both``.
DEFAULT_PLAN = {
    "emotions": ("split", "cv"),
    "tutorial": ("split", "cv"),
    "yeast": ("split",),
    "scene": ("split",),
}

#: Model seeds of the split protocol without ``--seeds`` (the split itself is fixed).
DEFAULT_SEEDS = 3

#: The same for ``--quick``: one small set, cut to 200 train and 100 test rows, 2-fold cv.
QUICK_PLAN = {"emotions": ("split", "cv")}

_FILES = ("benchmark.csv", "benchmark.md", "benchmark_<dataset>.png")


def _comma_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark multi-label methods on standard data sets. Writes "
        + ", ".join(_FILES)
        + " to --out and prints the markdown tables.",
    )
    parser.add_argument(
        "--datasets",
        type=_comma_list,
        help=f"comma list of data sets (default: {','.join(DEFAULT_PLAN)})",
    )
    parser.add_argument(
        "--methods",
        type=_comma_list,
        help="comma list of methods (default: all but the opt-in ones; see --list)",
    )
    parser.add_argument(
        "--protocol",
        choices=(*PROTOCOLS, "both"),
        help="split: the standard train/test split; cv: 5-fold multi-label "
        "stratified K-fold; both (default: split everywhere, cv too on emotions and "
        "tutorial)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        help="model seeds of the split protocol, 0..SEEDS-1; the split is fixed "
        f"(default: {DEFAULT_SEEDS}, 1 with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run in about a minute: emotions cut to 200/100 rows, 2-fold cv, few "
        "epochs, trees and chains",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads of NumPy and scikit-learn; 0 keeps the library default "
        "(default: 1: on a busy machine, spinning BLAS threads slow small solves tenfold)",
    )
    parser.add_argument(
        "--out", default="results", help="folder of the results (default: results)"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the data sets and methods, then exit"
    )
    return parser


def _list():
    print("data sets:")
    for name, loader in DATASETS.items():
        print(f"  {name:14s} {loader.__doc__.strip().splitlines()[0]}")
    print("methods:")
    for contender in CONTENDERS.values():
        missing = "" if contender.available() else f" [not installed: {contender.requires}]"
        print(f"  {contender.name:14s} {contender.description}{missing}")


def _plan(args, parser):
    """Data set -> protocols, from the flags."""
    default = QUICK_PLAN if args.quick else DEFAULT_PLAN
    names = args.datasets or list(default)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; see --list")
    if args.protocol is not None:
        protocols = PROTOCOLS if args.protocol == "both" else (args.protocol,)
        return {name: protocols for name in names}
    return {name: default.get(name, ("split",)) for name in names}


def _n_folds(protocol, quick, n_seeds):
    if protocol == "split":
        return n_seeds
    n_splits, n_repeats = CV_SPLITS[quick]
    return n_splits * n_repeats


def _quiet_tensorflow():
    # The benchmark fits hundreds of networks in one process; TensorFlow's start-up log and its
    # per-model tracing notices would bury the progress bar.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        return
    tf.get_logger().setLevel("ERROR")


def _applies(contender, dataset):
    """Whether a contender runs on a data set: image contenders need images."""
    return contender.input != "image" or dataset.image_shape is not None


def _skips(methods, names):
    """Notes on the chosen methods that sit out: a missing library, an excluded data set."""
    notes = []
    for method in methods:
        contender = CONTENDERS[method]
        if not contender.available():
            notes.append(
                f"{method}: skipped, {contender.requires} is not installed "
                '(pip install -e ".[bench]")'
            )
            continue
        for name in names:
            if name in contender.not_on:
                notes.append(f"{method}: skipped on {name}, {contender.not_on[name]}")
    return notes


def _load(plan, methods, quick):
    """The plan's data sets (cut down for ``quick``) and, per data set, the methods to run.

    Pairs that do not apply (an image contender on a data set without images, a contender
    whose optional library is missing or that sits the data set out) are neither counted,
    run, nor warmed up.
    """
    datasets = {}
    for name in plan:
        dataset = load_dataset(name)
        datasets[name] = dataset.subsample(*QUICK_SIZES) if quick else dataset
    runs = {
        name: [
            m
            for m in methods
            if _applies(CONTENDERS[m], dataset)
            and CONTENDERS[m].available()
            and name not in CONTENDERS[m].not_on
        ]
        for name, dataset in datasets.items()
    }
    return datasets, runs


def _run(plan, datasets, runs, args, env, csv_path):
    """Every run of the plan, under a progress bar; returns the CSV rows."""
    from tqdm import tqdm

    total = sum(
        len(runs[name]) * _n_folds(p, args.quick, args.seeds)
        for name, protocols in plan.items()
        for p in protocols
    )
    warm_up(CONTENDERS[m] for m in CONTENDERS if any(m in r for r in runs.values()))
    rows = []
    with tqdm(total=total, desc="benchmark", unit="fit", file=sys.stderr) as bar:
        for name, protocols in plan.items():
            dataset = datasets[name]
            for protocol in protocols:
                for fold in iter_folds(dataset, protocol, quick=args.quick, n_seeds=args.seeds):
                    for method in runs[name]:
                        bar.set_postfix_str(f"{name} {protocol} {fold.fold} {method}")
                        result = evaluate(CONTENDERS[method], dataset, fold, quick=args.quick)
                        rows.append(
                            {
                                "dataset": name,
                                "method": method,
                                "protocol": protocol,
                                "fold": fold.fold,
                                "seed": fold.seed,
                                **result,
                                "n_train": len(fold.train),
                                "n_test": len(fold.test),
                                "n_labels": dataset.y.shape[1],
                                "quick": args.quick,
                                **env,
                            }
                        )
                        # Written after every run, so that an interrupted run keeps its rows.
                        write_csv(rows, csv_path)
                        bar.update()
    return rows


def _header(command, args, env, n_fits, elapsed):
    quick = " (quick: reduced data and training)" if args.quick else ""
    return "\n".join(
        [
            "# skml benchmark",
            "",
            f"`{command}`{quick}: {n_fits} fits in {elapsed / 60:.1f} min on "
            f"{env['platform']}, {env['cpus_usable']} of {env['cpu_count']} CPUs, "
            f"BLAS threads: {env['blas_threads']}.",
            f"skml {env['skml_version']}, scikit-learn {env['sklearn_version']}, "
            f"keras {env['keras_version']} ({env['keras_backend']} {env['backend_version']}), "
            f"Python {env['python_version']}.",
            "Mean ± standard deviation over folds and seeds; best quality in bold; "
            "F1 with zero_division=0; subset accuracy is the exact-match ratio.",
            "",
        ]
    )


def main(argv=None):
    """Run the benchmark.

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
    if args.list:
        _list()
        return 0
    if args.seeds is None:
        args.seeds = 1 if args.quick else DEFAULT_SEEDS
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1; got {args.seeds}")
    if args.blas_threads < 0:
        parser.error(f"--blas-threads must be 0 or more; got {args.blas_threads}")
    methods = args.methods or [name for name, c in CONTENDERS.items() if c.default]
    unknown = [m for m in methods if m not in CONTENDERS]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; see --list")
    plan = _plan(args, parser)
    notes = _skips(methods, plan)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    datasets, runs = _load(plan, methods, args.quick)
    if not any(runs.values()):
        parser.error(
            "none of the methods applies to the data sets (image methods need images; "
            "see the notes above)"
        )

    from threadpoolctl import threadpool_limits

    _quiet_tensorflow()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / "benchmark.csv", out / "benchmark.md"
    env = {**environment(), "blas_threads": args.blas_threads or "default"}
    start = time.perf_counter()
    with threadpool_limits(args.blas_threads or None, user_api="blas"):
        rows = _run(plan, datasets, runs, args, env, csv_path)
    elapsed = time.perf_counter() - start

    frame = write_csv(rows, csv_path)
    for name in plan:
        if runs[name]:  # a data set every chosen method sits out has nothing to plot
            plot_dataset(frame, name, out / f"benchmark_{name}.png", methods=list(CONTENDERS))
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    text = _header(command, args, env, len(rows), elapsed) + "\n" + markdown_table(frame)
    if notes:
        text += "\nNot run: " + "; ".join(notes) + ".\n"
    md_path.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training on a Dask array larger than memory: ``python -m benchmarks.out_of_core
[--rows 10000000] [--features 200] [--labels 10] [--block-rows 100000] [--memory-rows 200000]
[--batch-size 256] [--out results/]``.

The data are generated lazily, block by block, by Dask (``da.random.default_rng(seed)``,
float32 standard normal features), so the whole array never exists anywhere: at the default
size ``X`` is 10 million x 200 float32, 8 GB. Label ``j`` is ``X @ w_j > 0.8`` for a fixed
random unit-variance direction ``w_j`` (about 21% positives), so there is something to learn.

It fits ``KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(64,)), epochs=1,
batch_size=256, early_stopping=False, random_state=0)`` on the Dask array with Dask's local
threaded scheduler (one pass over every block, blocks computed one ahead of training), and, for
the speed comparison, the same estimator in memory on the first ``--memory-rows`` rows (NumPy, one
epoch, timed after a first tiny fit has traced the epoch function, which the streamed fit
amortises over its blocks). It reports:

- the data size (``X`` and ``y`` bytes) against the peak resident memory of the process
  during the Dask fit (``VmRSS`` sampled every 50 ms, and the kernel's ``VmHWM`` reset before
  the fit where ``/proc/self/clear_refs`` allows it);
- rows per second of both fits, and their ratio;
- the macro ROC AUC of both models on 20,000 fresh rows, predicted through the Dask path
  (``predict_proba`` of a Dask array), as a check that the streamed fit learned as much.

Writes ``out_of_core.md`` (also printed) and ``out_of_core.json`` to ``--out``.
"""

import argparse
import gc
import json
import os
import platform
import sys
import time

import numpy as np

from benchmarks._rss import RssSampler, reset_high_water_mark, status_kib
from benchmarks.report import write_report

__all__ = ["main", "make_data", "markdown", "run"]

MIB = 1024**2
THRESHOLD = 0.8  # label j is X @ w_j > 0.8: about 21% positives
N_TEST = 20_000


def make_data(n_rows, n_features, n_labels, block_rows, seed=0):
    """Lazy ``X`` (float32) and ``y`` (int8, a function of ``X``), as Dask arrays."""
    import dask.array as da

    X = da.random.default_rng(seed).standard_normal(
        size=(n_rows, n_features), chunks=(block_rows, -1), dtype=np.float32
    )
    # The same label directions for every seed: the test rows follow the training rows' rule.
    directions = np.random.default_rng(1_000).standard_normal((n_features, n_labels))
    directions = (directions / np.sqrt(n_features)).astype(np.float32)
    y = ((X @ directions) > THRESHOLD).astype(np.int8)
    return X, y


def _estimator(batch_size):
    from skml import KerasMultiLabelClassifier
    from skml.networks import MLP

    return KerasMultiLabelClassifier(
        network=MLP(hidden_layer_sizes=(64,)),
        epochs=1,
        batch_size=batch_size,
        early_stopping=False,
        random_state=0,
    )


def _auc(clf, X_test, y_test):
    import dask
    from sklearn.metrics import roc_auc_score

    proba, y_true = dask.compute(clf.predict_proba(X_test), y_test)  # the Dask path
    return float(roc_auc_score(y_true, proba, average="macro"))


def run(
    n_rows,
    n_features,
    n_labels=10,
    block_rows=100_000,
    memory_rows=200_000,
    batch_size=256,
    seed=0,
    log=print,
):
    """Fit on the lazy array, then in memory on a slice; return every figure as a dict."""
    import dask

    import skml
    from skml._training import import_keras

    keras = import_keras()
    block_rows = min(block_rows, n_rows)
    memory_rows = min(memory_rows, n_rows)
    X, y = make_data(n_rows, n_features, n_labels, block_rows, seed)
    X_test, y_test = make_data(N_TEST, n_features, n_labels, min(block_rows, N_TEST), seed + 1)
    data_bytes = n_rows * n_features * 4 + n_rows * n_labels
    log(
        f"data: {n_rows:,} x {n_features} float32 + {n_labels} labels = "
        f"{data_bytes / MIB:,.0f} MiB in {X.numblocks[0]} blocks of {block_rows:,} rows"
    )
    gc.collect()
    baseline_kib = status_kib("VmRSS")
    hwm_reset = reset_high_water_mark()
    with dask.config.set(scheduler="threads"), RssSampler() as sampler:
        sampler.phase = "dask_fit"
        start = time.perf_counter()
        streamed = _estimator(batch_size).fit(X, y)
        dask_seconds = time.perf_counter() - start
        hwm_kib = status_kib("VmHWM")
        sampler.phase = None
        log(f"dask fit: {dask_seconds:.1f} s, {n_rows / dask_seconds:,.0f} rows/s")
        auc_dask = _auc(streamed, X_test, y_test)

        X_mem, y_mem = dask.compute(X[:memory_rows], y[:memory_rows])
        sampler.phase = "memory_fit"
        # Twice: the second fit reuses the first's traced epoch, so that its rows/s is not
        # dominated by a trace, which the long streamed fit amortises.
        _estimator(batch_size).fit(X_mem[:batch_size], y_mem[:batch_size])
        start = time.perf_counter()
        in_memory = _estimator(batch_size).fit(X_mem, y_mem)
        memory_seconds = time.perf_counter() - start
        sampler.phase = None
        log(f"in-memory fit: {memory_seconds:.1f} s, {memory_rows / memory_seconds:,.0f} rows/s")
        auc_memory = _auc(in_memory, X_test, y_test)

    peak_kib = max(sampler.peaks.get("dask_fit", 0), hwm_kib or 0)
    return {
        "rows": n_rows,
        "features": n_features,
        "labels": n_labels,
        "block_rows": block_rows,
        "blocks": int(X.numblocks[0]),
        "batch_size": batch_size,
        "data_mib": data_bytes / MIB,
        "baseline_rss_mib": (baseline_kib or 0) / 1024,
        "dask_fit_peak_rss_mib": peak_kib / 1024,
        "dask_fit_peak_rss_sampled_mib": sampler.peaks.get("dask_fit", 0) / 1024,
        "vmhwm_reset": hwm_reset,
        "data_over_peak_rss": data_bytes / (peak_kib * 1024) if peak_kib else None,
        "dask_fit_seconds": dask_seconds,
        "dask_rows_per_second": n_rows / dask_seconds,
        "memory_rows": memory_rows,
        "memory_fit_seconds": memory_seconds,
        "memory_rows_per_second": memory_rows / memory_seconds,
        "memory_fit_peak_rss_mib": sampler.peaks.get("memory_fit", 0) / 1024,
        "speed_ratio": (n_rows / dask_seconds) / (memory_rows / memory_seconds),
        "auc_dask": auc_dask,
        "auc_memory": auc_memory,
        "versions": {
            "skml": skml.__version__,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "dask": dask.__version__,
            "python": platform.python_version(),
        },
        "cpus": len(os.sched_getaffinity(0)),
    }


def markdown(r):
    """The report: one row per fit, and the data size against the peak memory."""
    return (
        "\n".join(
            [
                "## Out-of-core training on a Dask array",
                "",
                f"{r['rows']:,} x {r['features']} float32 features, {r['labels']} labels "
                f"({r['data_mib']:,.0f} MiB) generated lazily in {r['blocks']} blocks of "
                f"{r['block_rows']:,} rows; one epoch, batch size {r['batch_size']}, local "
                f"threaded scheduler, {r['cpus']} CPUs; skml {r['versions']['skml']}, keras "
                f"{r['versions']['keras']} ({r['versions']['backend']}), dask "
                f"{r['versions']['dask']}.",
                "",
                "| fit | rows | seconds | rows/s | peak RSS (MiB) | macro AUC, 20k fresh rows |",
                "|---|---:|---:|---:|---:|---:|",
                f"| Dask array, streamed | {r['rows']:,} | {r['dask_fit_seconds']:.1f} | "
                f"{r['dask_rows_per_second']:,.0f} | {r['dask_fit_peak_rss_mib']:,.0f} | "
                f"{r['auc_dask']:.3f} |",
                f"| NumPy in memory | {r['memory_rows']:,} | {r['memory_fit_seconds']:.1f} | "
                f"{r['memory_rows_per_second']:,.0f} | {r['memory_fit_peak_rss_mib']:,.0f} | "
                f"{r['auc_memory']:.3f} |",
                "",
                f"Data {r['data_mib']:,.0f} MiB against a peak resident memory of "
                f"{r['dask_fit_peak_rss_mib']:,.0f} MiB during the Dask fit "
                f"({r['data_over_peak_rss']:.1f}x; {r['baseline_rss_mib']:,.0f} MiB before it, "
                "TensorFlow included). Streamed speed: "
                f"{r['speed_ratio']:.2f}x the in-memory rows/s.",
            ]
        )
        + "\n"
    )


def main(argv=None):
    """Measure; print and write ``out_of_core.md`` and ``out_of_core.json``.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.out_of_core", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--labels", type=int, default=10)
    parser.add_argument("--block-rows", type=int, default=100_000)
    parser.add_argument("--memory-rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    parser.add_argument("--out", default="results", help="folder of the reports")
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    result = run(
        args.rows,
        args.features,
        n_labels=args.labels,
        block_rows=args.block_rows,
        memory_rows=args.memory_rows,
        batch_size=args.batch_size,
        seed=args.seed,
        log=log,
    )
    report = markdown(result)
    write_report(args.out, "out_of_core", report, data=result)
    print(report)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

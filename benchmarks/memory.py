"""Resident memory over many fits in one process, as in a grid search: ``python -m
benchmarks.memory [--fits 200] [--configs 8] [--distinct 40] [--out results/]``.

A grid search fits many small networks one after another in one process and throws each away
after scoring it. This benchmark does the same: ``--fits`` fits that cycle through ``--configs``
configurations (``hidden_layer_sizes`` x ``dropout``), each fit followed by ``predict_proba``
(the scoring), with the fitted model dropped and ``gc.collect()`` run before ``VmRSS`` is read.

It reports the resident memory after the first round (one fit of every configuration, which
traces and caches each configuration's functions) and after the last fit, and the growth per
fit in between: the memory that a longer search would keep adding. A second scenario,
``--distinct`` fits whose ``hidden_layer_sizes`` differ every time, shows what happens when
every fit is a configuration never seen before (a random search over layer widths): there the
trace cache (at most 8 configurations, least recently used evicted) is the bound to look at.

Writes ``memory.md`` (also printed) and ``memory.json`` to ``--out``.
"""

import argparse
import gc
import itertools
import sys
import time
import warnings

from benchmarks._rss import status_kib
from benchmarks.report import environment, write_report

__all__ = ["main", "markdown", "run"]


def _rss_mib():
    kib = status_kib("VmRSS")
    return None if kib is None else kib / 1024


def _configs(n_configs):
    grid = itertools.product(
        [(16,), (32,), (64,), (32, 32), (48,), (24,), (16, 16), (8,)], [0.0, 0.2]
    )
    return [
        {"hidden_layer_sizes": sizes, "dropout": dropout}
        for sizes, dropout in itertools.islice(grid, n_configs)
    ]


def _data(seed=0):
    from sklearn.datasets import make_multilabel_classification

    return make_multilabel_classification(
        n_samples=300, n_features=20, n_classes=5, random_state=seed
    )


def _fit_and_score(network_params, X, y, seed):
    from skml import KerasMultiLabelClassifier
    from skml.networks import MLP

    clf = KerasMultiLabelClassifier(
        network=MLP(**network_params),
        epochs=5,
        early_stopping=False,
        batch_size=32,
        random_state=seed,
    )
    clf.fit(X, y)
    clf.predict_proba(X)
    del clf
    gc.collect()
    return _rss_mib()


def run(n_fits=200, n_configs=8, n_distinct=40, log=print):
    """Fit ``n_fits`` networks cycling through ``n_configs`` configurations, then
    ``n_distinct`` networks of new sizes; return a dict of the figures."""
    X, y = _data()
    configs = _configs(n_configs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline = _fit_and_score({"hidden_layer_sizes": (4,)}, X, y, 0)  # imports, first trace
        rss = []
        start = time.perf_counter()
        for i in range(n_fits):
            rss.append(_fit_and_score(configs[i % n_configs], X, y, i))
            if (i + 1) % 25 == 0:
                log(f"  fit {i + 1}/{n_fits}: RSS {rss[-1]:.1f} MiB")
        grid_s = time.perf_counter() - start
        distinct = []
        for i in range(n_distinct):
            distinct.append(_fit_and_score({"hidden_layer_sizes": (100 + i,)}, X, y, i))
    after_round = rss[n_configs - 1]
    per_fit = (rss[-1] - after_round) / max(n_fits - n_configs, 1)
    half = n_distinct // 2
    return {
        "n_fits": n_fits,
        "n_configs": n_configs,
        "baseline_mib": baseline,
        "after_first_round_mib": after_round,
        "final_mib": rss[-1],
        "per_fit_mib": per_fit,
        "grid_seconds": grid_s,
        "n_distinct": n_distinct,
        "distinct_first_half_mib": distinct[half - 1] if distinct else None,
        "distinct_final_mib": distinct[-1] if distinct else None,
        "distinct_per_fit_mib": (distinct[-1] - distinct[half - 1]) / max(n_distinct - half, 1)
        if distinct
        else None,
        "rss_mib": rss,
        "env": environment(),
    }


def markdown(r):
    """The report: one row per scenario."""
    return "\n".join(
        [
            "| scenario | fits | RSS after warm-up (MiB) | RSS at end (MiB) | growth per fit |",
            "|---|---:|---:|---:|---:|",
            f"| {r['n_configs']} configurations cycled (grid search) | {r['n_fits']} | "
            f"{r['after_first_round_mib']:.1f} | {r['final_mib']:.1f} | "
            f"{r['per_fit_mib'] * 1024:.0f} KiB |",
            f"| a new hidden_layer_sizes every fit | {r['n_distinct']} | "
            f"{r['distinct_first_half_mib']:.1f} | {r['distinct_final_mib']:.1f} | "
            f"{r['distinct_per_fit_mib'] * 1024:.0f} KiB |",
            "",
            f"Warm-up: the first {r['n_configs']} fits of the grid (and, for the second row, "
            f"the first {r['n_distinct'] // 2} fits); {r['grid_seconds']:.0f} s for the grid "
            f"scenario.",
        ]
    )


def main(argv=None):
    """Measure; print and write ``memory.md`` and ``memory.json``.

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
        prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--fits", type=int, default=200, help="fits of the grid scenario")
    parser.add_argument("--configs", type=int, default=8, help="configurations cycled (<= 16)")
    parser.add_argument("--distinct", type=int, default=40, help="fits of new sizes")
    parser.add_argument("--out", default="results", help="folder of the reports")
    args = parser.parse_args(argv)
    if not 1 <= args.configs <= 16 or args.fits < args.configs or args.distinct < 2:
        parser.error("need 1 <= --configs <= 16, --fits >= --configs and --distinct >= 2")
    result = run(args.fits, args.configs, args.distinct)
    text = markdown(result)
    print(text)
    write_report(args.out, "memory", text, data=result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

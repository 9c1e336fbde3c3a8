"""The measurements of the speed benchmark (:mod:`benchmarks.speed`), in this process.

Two commands, each writing its figures as JSON to ``--json``:

``python -m benchmarks.speed_measure timings --contenders skml,sklearn,scikeras [--size quick]``
    Fit seconds of case (a), cold and warm, and of case (b); the latency of ``predict_proba``
    on one row and its rows per second in bulk. The contenders take turns in each repeat, so a
    change of load on a shared machine hits them alike. Keras runs on the backend of
    ``KERAS_BACKEND``.
``python -m benchmarks.speed_measure memory --contender skml [--size quick]``
    The peak resident memory of this process after importing the contender's library,
    fitting case (b) and predicting its rows; and the part of it there before the fit.

``python -m benchmarks.speed`` runs these commands in fresh processes, for two reasons only:
Keras reads ``KERAS_BACKEND`` once, when it is first imported, so each backend is timed in a
process of its own; and a process's peak resident memory only ever grows, so each contender's
peak is measured in a process of its own. Run by hand, they measure one backend or one
contender. ``--size`` picks one of :data:`SIZES`; ``smoke`` only checks that the code runs.
"""

import argparse
import contextlib
import json
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks._rss import ru_maxrss_kib
from benchmarks.contenders import FIXED_MLP_LIBRARIES, make_fixed_mlp
from benchmarks.data import make_linear_labels

__all__ = [
    "CASE_A",
    "CASE_B",
    "SIZES",
    "Case",
    "Size",
    "main",
    "measure_memory",
    "measure_timings",
]


@dataclass(frozen=True)
class Case:
    """A training problem: data of a shape, and the network and training that fit it."""

    n_samples: int
    n_features: int
    n_labels: int
    hidden: int
    epochs: int
    batch_size: int

    def data(self, seed=0):
        """``(X, Y)`` of the problem (:func:`benchmarks.data.make_linear_labels`)."""
        return make_linear_labels(self.n_samples, self.n_features, self.n_labels, seed)

    def contender(self, library, seed=0):
        """An unfitted contender of ``library`` for the problem (``make_fixed_mlp``)."""
        return make_fixed_mlp(
            library,
            hidden_units=self.hidden,
            epochs=self.epochs,
            batch_size=self.batch_size,
            random_state=seed,
        )


@dataclass(frozen=True)
class Size:
    """Problems, call counts and repeats of one run; ``timeout_s`` bounds each process."""

    a: Case
    b: Case
    bulk_rows: int
    latency_calls: int
    latency_warmup: int
    fit_a_repeats: int
    fit_b_repeats: int
    bulk_repeats: int
    import_repeats: int
    timeout_s: float | None = None


#: Case (a), the size of the yeast data set, and case (b), a large problem.
CASE_A = Case(2400, 103, 14, hidden=100, epochs=50, batch_size=200)
CASE_B = Case(100_000, 200, 50, hidden=256, epochs=3, batch_size=256)
_FULL = Size(
    CASE_A,
    CASE_B,
    bulk_rows=100_000,
    latency_calls=200,
    latency_warmup=20,
    fit_a_repeats=5,
    fit_b_repeats=3,
    bulk_repeats=5,
    import_repeats=5,
)
#: The sizes of a full run, a ``--quick`` run (fewer repeats) and a ``--smoke`` run (tiny
#: problems, one repeat, each process killed after 5 minutes: checks that it runs, no more).
SIZES = {
    "full": _FULL,
    "quick": replace(_FULL, fit_a_repeats=2, fit_b_repeats=1, bulk_repeats=2, import_repeats=3),
    "smoke": replace(
        _FULL,
        a=replace(CASE_A, n_samples=120, epochs=2),
        b=replace(CASE_B, n_samples=300, epochs=1),
        bulk_rows=500,
        latency_calls=5,
        latency_warmup=2,
        fit_a_repeats=1,
        fit_b_repeats=1,
        bulk_repeats=1,
        import_repeats=1,
        timeout_s=300,
    ),
}
#: The figures of :func:`measure_timings`.
TIMINGS = ("fit_a_cold_s", "fit_a_warm_s", "fit_b_s", "latency_1row_ms", "bulk_rows_per_s")
_TINY = Case(64, 5, 3, hidden=4, epochs=1, batch_size=32)


class _Threads:
    """Run scikit-learn under a BLAS thread limit (None: its default threads)."""

    def __init__(self, limit):
        self.limit = limit
        self._controller = None

    def scope(self, name):
        """Context in which ``name`` runs: limited for scikit-learn, untouched otherwise."""
        if name != "sklearn" or self.limit is None:
            return contextlib.nullcontext()
        if self._controller is None:  # inspects the loaded libraries: once, not per call
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        return self._controller.limit(limits=self.limit, user_api="blas")

    def timed(self, name, fn, *args):
        """Seconds of ``fn(*args)`` run as contender ``name``."""
        with self.scope(name):
            start = time.perf_counter()
            fn(*args)
            return time.perf_counter() - start


def _faster_threads(fn, *args):
    """1 or None (default threads), whichever runs scikit-learn's ``fn(*args)`` faster here
    and now (best of two each); and the times."""
    times = {}
    for limit in (None, 1, None, 1):
        t = _Threads(limit).timed("sklearn", fn, *args)
        times[limit] = min(times.get(limit, np.inf), t)
    return (1 if times[1] < times[None] else None), times


def _choose_threads(contenders, size, data, log):
    """scikit-learn's BLAS threads per kind of work (small or large products, bulk predict).

    OpenBLAS' threads spin while they wait, so on a machine whose cores are busy with other
    work scikit-learn can be many times slower with its default threads than with one: the
    faster of the two is kept for each kind of work, so that ratios are never flattered by a
    handicapped reference.
    """
    threads = {"a": _Threads(None), "b": _Threads(None), "bulk": _Threads(None)}
    if "sklearn" not in contenders:
        return threads
    probe_a = size.a.contender("sklearn")
    probes = {
        "a": (probe_a.fit, *data["a"]),
        "b": (replace(size.b, epochs=1).contender("sklearn").fit, *data["b"]),
        "bulk": (probe_a.predict_proba, data["bulk"]),  # probe_a is fitted by then
    }
    for work, (fn, *args) in probes.items():
        limit, times = _faster_threads(fn, *args)
        threads[work] = _Threads(limit)
        log(f"scikit-learn BLAS threads for {work}: {limit or 'default'} (probe {times})")
    return threads


def _clear_skml_cache():
    from skml import _training

    _training.clear_cache()


def _order(contenders, repeat):
    """The contenders in turn order of a repeat: each goes first in its turn."""
    k = repeat % len(contenders)
    return contenders[k:] + contenders[:k]


def _last(samples, figure, contenders, median=False):
    parts = []
    for name in contenders:
        values = samples[figure][name]
        if values:
            value = statistics.median(values) if median else values[-1]
            parts.append(f"{name} {value:.4g}")
    return ", ".join(parts)


def _time_fits(samples, contenders, case, data, threads, repeats, figure, log, warm=None):
    """Time cold fits of ``case`` (skml's traced functions dropped first), and with ``warm``
    a second fit of the same configuration by skml; return the last fitted models."""
    fitted = {}
    for r in range(repeats):
        for name in _order(contenders, r):
            if name.startswith("skml"):
                _clear_skml_cache()
            clf = case.contender(name, seed=r)
            samples[figure][name].append(threads.timed(name, clf.fit, *data))
            fitted[name] = clf
            if name == "skml" and warm is not None:
                again = case.contender(name, seed=r + 100)
                samples[warm][name].append(threads.timed(name, again.fit, *data))
        log(f"{figure} repeat {r + 1}/{repeats}: " + _last(samples, figure, contenders))
    return fitted


def _time_latency(samples, fitted, x1, size, threads):
    """One-row ``predict_proba`` latency, in ms, after ``latency_warmup`` calls."""
    for name, model in fitted.items():
        calls = []
        with threads.scope(name):
            for _ in range(size.latency_warmup + size.latency_calls):
                start = time.perf_counter()
                model.predict_proba(x1)
                calls.append(time.perf_counter() - start)
        samples["latency_1row_ms"][name] = [1e3 * t for t in calls[size.latency_warmup :]]


def _time_bulk(samples, contenders, fitted, X_bulk, size, threads):
    """Rows per second of ``predict_proba`` on ``size.bulk_rows`` rows."""
    for name in contenders:  # untimed: the first call of a batch size of its own
        threads.timed(name, fitted[name].predict_proba, X_bulk[:1000])
    for r in range(size.bulk_repeats):
        for name in _order(contenders, r):
            seconds = threads.timed(name, fitted[name].predict_proba, X_bulk)
            samples["bulk_rows_per_s"][name].append(len(X_bulk) / seconds)


def measure_timings(contenders, size, log=print):
    """Every timing of ``contenders`` in this process.

    Parameters
    ----------
    contenders : sequence of str
        Libraries of :data:`benchmarks.contenders.FIXED_MLP_LIBRARIES`.
    size : Size
        Problems and repeats.
    log : callable, default=print
        Receives the progress lines.

    Returns
    -------
    result : dict
        ``backend`` (Keras'), ``sklearn_blas_threads`` (the threads chosen per kind of work)
        and ``samples``: figure -> contender -> list of measurements.
    """
    import keras

    contenders = tuple(contenders)
    samples = {figure: {name: [] for name in contenders} for figure in TIMINGS}
    data = {"a": size.a.data(), "b": size.b.data()}
    data["bulk"] = np.random.default_rng(1).normal(size=(size.bulk_rows, size.a.n_features))
    # Warm-up: imports and one-time initialisation, on another problem (nothing of case (a)
    # is traced or cached by it).
    X_tiny, Y_tiny = data["a"][0][:64, :5], data["a"][1][:64, :3]
    for name in contenders:
        _TINY.contender(name).fit(X_tiny, Y_tiny).predict_proba(X_tiny)
    threads = _choose_threads(contenders, size, data, log)

    fitted = _time_fits(
        samples,
        contenders,
        size.a,
        data["a"],
        threads["a"],
        size.fit_a_repeats,
        "fit_a_cold_s",
        log,
        warm="fit_a_warm_s",
    )
    _time_latency(samples, fitted, data["a"][0][:1], size, threads["a"])
    log("latency: " + _last(samples, "latency_1row_ms", contenders, median=True))
    _time_bulk(samples, contenders, fitted, data["bulk"], size, threads["bulk"])
    log("bulk: " + _last(samples, "bulk_rows_per_s", contenders, median=True))
    _time_fits(
        samples, contenders, size.b, data["b"], threads["b"], size.fit_b_repeats, "fit_b_s", log
    )
    return {
        "backend": keras.backend.backend(),
        "sklearn_blas_threads": {work: str(t.limit or "default") for work, t in threads.items()},
        "samples": {fig: {c: v for c, v in d.items() if v} for fig, d in samples.items()},
    }


def measure_memory(contender, size):
    """Peak resident memory of this process once it has fitted case (b) and predicted it.

    Meaningful in a fresh process only: the peak of a process never goes down.

    Parameters
    ----------
    contender : str
        A library of :data:`benchmarks.contenders.FIXED_MLP_LIBRARIES`.
    size : Size
        Its case (b) is fitted.

    Returns
    -------
    memory : dict
        ``peak_rss_mb``, and ``before_fit_mb``: the peak before the fit (Python, the
        library, the data).
    """
    X, Y = size.b.data()
    clf = size.b.contender(contender)
    if contender.startswith("skml"):
        import keras  # noqa: F401  (skml imports Keras in fit: count it before the fit)
    before = ru_maxrss_kib() / 1024
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
    clf.predict_proba(X)
    return {"peak_rss_mb": ru_maxrss_kib() / 1024, "before_fit_mb": before}


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed_measure", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    timings = commands.add_parser("timings", help="fit, latency and bulk timings")
    timings.add_argument(
        "--contenders",
        default=",".join(FIXED_MLP_LIBRARIES),
        help=f"comma list of {', '.join(FIXED_MLP_LIBRARIES)} (default: all)",
    )
    memory = commands.add_parser("memory", help="peak resident memory of one contender")
    memory.add_argument("--contender", choices=FIXED_MLP_LIBRARIES, required=True)
    for command in (timings, memory):
        command.add_argument("--size", choices=tuple(SIZES), default="full")
        command.add_argument("--json", required=True, help="file of the figures")
    return parser


def main(argv=None):
    """Run one measurement command; write its figures to ``--json``.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success.
    """
    args = _parser().parse_args(argv)
    size = SIZES[args.size]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.command == "timings":
            contenders = [name.strip() for name in args.contenders.split(",")]
            result = measure_timings(
                contenders, size, log=lambda m: print(m, file=sys.stderr, flush=True)
            )
        else:
            result = measure_memory(args.contender, size)
    Path(args.json).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed and memory of skml against scikit-learn and a plain scikeras model: ``python -m
benchmarks.speed [--quick] [--out results/]``.

The three contenders train the same network (one ReLU hidden layer, one sigmoid unit per
label, Adam at 1e-3, no dropout, no weight penalty, no early stopping) for the same epochs and
batch size:

- ``skml``: :class:`skml.KerasMultiLabelClassifier`;
- ``sklearn``: :class:`sklearn.neural_network.MLPClassifier`, the reference of every ratio;
- ``scikeras``: a tutorial-style ``scikeras.wrappers.KerasClassifier`` around a Sequential MLP.

Measured, side by side in one process per Keras backend (the contenders take turns in each
repeat, so a change of load on a shared machine hits them alike; medians are reported):

- fit seconds of case (a), 2,400 x 103 -> 100 -> 14 labels, 50 epochs, batch 200 (skml
  *cold*, its traced functions dropped before each fit, and *warm*, a second fit of the same
  configuration, which a grid search gets), and of case (b), 100,000 x 200 -> 256 -> 50
  labels, 3 epochs, batch 256 (skml cold);
- ``predict_proba`` latency of one row (median of 200 calls after 20 of warm-up) and the rows
  per second of ``predict_proba`` on 100,000 rows, with the models of case (a);
- in one fresh process per contender: the peak resident memory of fitting case (b) and
  predicting its 100,000 rows (and the part of it added by the fit and predict, above the
  imported libraries and the data);
- in fresh processes: the time of ``import skml`` (against ``import sklearn``) and of
  importing the estimator class (against ``MLPClassifier``).

OpenBLAS' threads spin while they wait, so on a machine whose cores are busy with other work
scikit-learn can become many times slower with its default threads than with one. The run
first times scikit-learn both ways, for fit (a), fit (b) and the bulk predict separately, and
keeps the faster of each (the choices are reported): ratios are never flattered by a
handicapped reference. The load average is recorded at the start and the end of the run.

With jax installed, the skml columns are measured again in a subprocess under
``KERAS_BACKEND=jax`` (against a scikit-learn measured in that same subprocess).

Writes ``speed.md`` (the table, also printed), ``speed.csv`` (one row per figure) and
``speed.json`` (every sample) to ``--out``.
"""

import argparse
import contextlib
import csv
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["CASES", "main", "make_case"]

#: The two training problems: (a) the size of the yeast data set, (b) a large one.
CASES = {
    "a": dict(n_samples=2400, n_features=103, n_labels=14, hidden=100, epochs=50, batch_size=200),
    "b": dict(
        n_samples=100_000, n_features=200, n_labels=50, hidden=256, epochs=3, batch_size=256
    ),
}
BULK_ROWS = 100_000
LATENCY_CALLS, LATENCY_WARMUP = 200, 20
CONTENDERS = ("skml", "sklearn", "scikeras")
#: Repeats (fit (a), fit (b), bulk predict, import) of a full and a ``--quick`` run.
REPEATS = {"full": (5, 3, 5, 5), "quick": (2, 1, 2, 3)}

#: What skml aims at, as (figure, kind, bound): kind "ratio" bounds skml / sklearn, "max"
#: bounds skml's own value.
TARGETS = {
    "fit_a_cold_s": ("ratio", 1.5),
    "fit_b_s": ("ratio", 0.8),
    "latency_1row_ms": ("max", 1.0),
    "bulk_rows_per_s": ("min_ratio", 1.0),
    "import_s": ("max", 0.3),
}
FIGURES = {
    "fit_a_cold_s": ("fit (a), s", "s"),
    "fit_a_warm_s": ("fit (a), second fit of the configuration, s", "s"),
    "fit_b_s": ("fit (b), s", "s"),
    "latency_1row_ms": ("predict_proba of 1 row, ms", "ms"),
    "bulk_rows_per_s": ("predict_proba of 100,000 rows, rows/s", "rows/s"),
    "peak_rss_mb": ("peak resident memory, fit (b) + predict, MB", "MB"),
    "fit_rss_mb": ("of which added by fit (b) + predict, MB", "MB"),
    "import_s": ("import skml / sklearn, s", "s"),
    "import_estimator_s": ("import the estimator class, s", "s"),
}


# --------------------------------------------------------------------------- data


def make_case(case, seed=0):
    """Standardised Gaussian features and labels from a noisy linear rule, 5-40% positives.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    Y : ndarray of shape (n_samples, n_labels), int
    """
    spec = CASES[case]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(spec["n_samples"], spec["n_features"]))
    W = rng.normal(size=(spec["n_features"], spec["n_labels"])) / np.sqrt(spec["n_features"])
    scores = X @ W + 0.5 * rng.normal(size=(spec["n_samples"], spec["n_labels"]))
    rates = rng.uniform(0.05, 0.4, size=spec["n_labels"])
    cut = np.array([np.quantile(scores[:, j], 1 - rate) for j, rate in enumerate(rates)])
    Y = (scores > cut).astype(int)
    return X, Y


# --------------------------------------------------------------------------- contenders


def _scikeras_mlp(meta, hidden_layer_sizes):
    """The scikeras tutorial's model: a Sequential MLP ending in one sigmoid per label."""
    import keras

    model = keras.Sequential([keras.Input((meta["n_features_in_"],))])
    for units in hidden_layer_sizes:
        model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="sigmoid"))
    return model


def make_contender(name, case, seed=0):
    """An unfitted estimator of contender ``name`` for ``case``."""
    spec = CASES[case] if isinstance(case, str) else case
    hidden, epochs, batch_size = (spec["hidden"],), spec["epochs"], spec["batch_size"]
    if name == "skml":
        from skml import KerasMultiLabelClassifier

        return KerasMultiLabelClassifier(
            hidden_layer_sizes=hidden,
            dropout=0.0,
            l2=0.0,
            epochs=epochs,
            batch_size=batch_size,
            early_stopping=False,
            random_state=seed,
        )
    if name == "sklearn":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            hidden,
            alpha=0.0,
            batch_size=batch_size,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=epochs + 1,  # every epoch runs, as in the other two
            random_state=seed,
        )
    if name == "scikeras":
        from scikeras.wrappers import KerasClassifier

        # No random_state: scikeras would switch on TensorFlow's global op determinism.
        return KerasClassifier(
            _scikeras_mlp,
            model__hidden_layer_sizes=hidden,
            loss="binary_crossentropy",
            optimizer="adam",
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
        )
    raise ValueError(f"unknown contender {name!r}")


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


# --------------------------------------------------------------------------- worker


def _clear_skml_cache():
    from skml import _training

    _training.clear_cache()


def run_worker(contenders, repeats, log=print):
    """Every timing of ``contenders`` in this process; returns the samples by figure."""
    import keras

    n_a, n_b, n_bulk, _ = repeats
    samples = {fig: {c: [] for c in contenders} for fig in FIGURES}
    X_a, Y_a = make_case("a")
    X_b, Y_b = make_case("b")
    X_bulk = np.random.default_rng(1).normal(size=(BULK_ROWS, CASES["a"]["n_features"]))
    X_tiny, Y_tiny = X_a[:64, :5], Y_a[:64, :3]

    # Warm-up: imports and one-time initialisation, on another problem (nothing of case (a)
    # is traced or cached by it).
    tiny = dict(n_features=5, n_labels=3, hidden=4, epochs=1, batch_size=32)
    for name in contenders:
        clf = make_contender(name, tiny)
        clf.fit(X_tiny, Y_tiny)
        clf.predict_proba(X_tiny)

    # scikit-learn's BLAS threads, chosen per kind of work (small or large products).
    threads = {"a": _Threads(None), "b": _Threads(None), "bulk": _Threads(None)}
    if "sklearn" in contenders:
        probe_a = make_contender("sklearn", "a")
        probes = {
            "a": (probe_a.fit, X_a, Y_a),
            "b": (make_contender("sklearn", {**CASES["b"], "epochs": 1}).fit, X_b, Y_b),
            "bulk": (probe_a.predict_proba, X_bulk),  # probe_a is fitted by then
        }
        for work, (fn, *args) in probes.items():
            limit, times = _faster_threads(fn, *args)
            threads[work] = _Threads(limit)
            log(f"scikit-learn BLAS threads for {work}: {limit or 'default'} (probe {times})")

    def order(r):
        k = r % len(contenders)
        return contenders[k:] + contenders[:k]

    fitted = {}
    for r in range(n_a):
        for name in order(r):
            if name == "skml":
                _clear_skml_cache()
            clf = make_contender(name, "a", seed=r)
            samples["fit_a_cold_s"][name].append(threads["a"].timed(name, clf.fit, X_a, Y_a))
            fitted[name] = clf
            if name == "skml":
                again = make_contender(name, "a", seed=r + 100)
                samples["fit_a_warm_s"][name].append(threads["a"].timed(name, again.fit, X_a, Y_a))
        log(f"fit (a) repeat {r + 1}/{n_a}: " + _last(samples, "fit_a_cold_s", contenders))

    x1 = X_a[:1]
    for name in contenders:
        predict = fitted[name].predict_proba
        calls = []
        with threads["a"].scope(name):
            for _ in range(LATENCY_WARMUP + LATENCY_CALLS):
                start = time.perf_counter()
                predict(x1)
                calls.append(time.perf_counter() - start)
        samples["latency_1row_ms"][name] = [1e3 * t for t in calls[LATENCY_WARMUP:]]
    log("latency: " + _last(samples, "latency_1row_ms", contenders, median=True))

    for name in contenders:
        threads["bulk"].timed(name, fitted[name].predict_proba, X_bulk[:1000])
    for r in range(n_bulk):
        for name in order(r):
            t = threads["bulk"].timed(name, fitted[name].predict_proba, X_bulk)
            samples["bulk_rows_per_s"][name].append(BULK_ROWS / t)
    log("bulk: " + _last(samples, "bulk_rows_per_s", contenders, median=True))

    for r in range(n_b):
        for name in order(r):
            if name == "skml":
                _clear_skml_cache()
            clf = make_contender(name, "b", seed=r)
            samples["fit_b_s"][name].append(threads["b"].timed(name, clf.fit, X_b, Y_b))
        log(f"fit (b) repeat {r + 1}/{n_b}: " + _last(samples, "fit_b_s", contenders))

    return {
        "backend": keras.backend.backend(),
        "sklearn_blas_threads": {work: str(t.limit or "default") for work, t in threads.items()},
        "samples": {fig: {c: v for c, v in d.items() if v} for fig, d in samples.items()},
    }


def _last(samples, figure, contenders, median=False):
    parts = []
    for name in contenders:
        values = samples[figure][name]
        if values:
            value = statistics.median(values) if median else values[-1]
            parts.append(f"{name} {value:.4g}")
    return ", ".join(parts)


def run_memory(name):
    """Peak resident MB of a process that imports ``name``'s library, fits case (b) and
    predicts its rows; and the resident MB before the fit (Python, library, data)."""
    import resource

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    X, Y = make_case("b")
    clf = make_contender(name, "b")
    if name == "skml":
        import keras  # noqa: F401  (skml imports Keras in fit: count it before the fit)
    before = peak_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
    clf.predict_proba(X)
    return {"peak_rss_mb": peak_mb(), "before_fit_mb": before}


def _import_seconds(statement, n, env=None):
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


# --------------------------------------------------------------------------- orchestration


def _subprocess_json(args, env):
    """Run ``python -m benchmarks.speed <args> --json FILE`` and return FILE's contents."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", "benchmarks.speed", *args, "--json", str(path)]
        done = subprocess.run(cmd, env=env)  # its progress goes to our stderr
        if done.returncode != 0:
            raise RuntimeError(f"python -m benchmarks.speed {' '.join(args)} failed")
        return json.loads(path.read_text())


def _env(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def _versions():
    import keras
    import sklearn

    import skml

    versions = {
        "skml": skml.__version__,
        "sklearn": sklearn.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    for module in ("tensorflow", "jax", "scikeras"):
        if importlib.util.find_spec(module) is not None:
            versions[module] = __import__(module).__version__
    return versions


def _median(values):
    return statistics.median(values) if values else None


def _summarise(result):
    """Median per figure and contender, and skml's ratio to scikit-learn."""
    out = {}
    for figure, by_contender in result["samples"].items():
        medians = {name: _median(values) for name, values in by_contender.items()}
        ratio = None
        if medians.get("skml") is not None and medians.get("sklearn"):
            ratio = medians["skml"] / medians["sklearn"]
        out[figure] = {"median": medians, "ratio": ratio}
    return out


def _target_status(figure, summary):
    if figure not in TARGETS:
        return ""
    kind, bound = TARGETS[figure]
    value = summary["median"].get("skml")
    ratio = summary["ratio"]
    if kind == "ratio":
        met = ratio is not None and ratio <= bound
        return f"<= {bound}x sklearn: {'met' if met else 'NOT met'}"
    if kind == "min_ratio":
        met = ratio is not None and ratio >= bound
        return f">= {bound}x sklearn: {'met' if met else 'NOT met'}"
    met = value is not None and value <= bound
    return f"<= {bound} {FIGURES[figure][1]}: {'met' if met else 'NOT met'}"


def _fmt(value):
    if value is None:
        return ""
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def markdown(summaries, meta):
    """The markdown report: one row per figure, one column per contender and backend."""
    backends = list(summaries)
    head = ["figure", "sklearn", "scikeras"]
    for backend in backends:
        head += [f"skml ({backend})", f"skml / sklearn ({backend})"]
    head.append("target (tensorflow)")
    lines = [
        "# skml speed",
        "",
        f"Load average (1 min) at start {meta['load_start']:.2f}, at end "
        f"{meta['load_end']:.2f}, on {meta['versions']['cpus']} CPUs. scikit-learn BLAS "
        f"threads: {meta['sklearn_blas_threads']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k != "cpus")
        + ".",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    first = summaries[backends[0]]
    for figure, (label, _) in FIGURES.items():
        row = [label]
        for name in ("sklearn", "scikeras"):
            row.append(_fmt(first.get(figure, {}).get("median", {}).get(name)))
        for backend in backends:
            s = summaries[backend].get(figure, {"median": {}, "ratio": None})
            row += [_fmt(s["median"].get("skml")), _fmt(s["ratio"])]
        tf = summaries.get("tensorflow", first).get(figure)
        row.append(_target_status(figure, tf) if tf else "")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Medians. Ratios are skml / scikit-learn measured in the same process (for rows/s, "
        "higher is better; for the rest, lower). Fit (a) of skml is cold (its traced "
        "functions dropped first); the second-fit row is what a grid search pays per fit "
        "after the first. The sklearn and scikeras columns come from the "
        f"{backends[0]} process.",
    ]
    return "\n".join(lines) + "\n"


def _rows(summaries, meta):
    rows = []
    for backend, summary in summaries.items():
        for figure, s in summary.items():
            for name, value in s["median"].items():
                if value is None:
                    continue
                rows.append(
                    {
                        "figure": figure,
                        "unit": FIGURES[figure][1],
                        "contender": name,
                        "backend": backend if name != "sklearn" else "",
                        "process_backend": backend,
                        "median": value,
                        "skml_over_sklearn": s["ratio"] if name == "skml" else "",
                        "load_start": meta["load_start"],
                        "load_end": meta["load_end"],
                        "cpus": meta["versions"]["cpus"],
                        **{f"{k}_version": v for k, v in meta["versions"].items() if k != "cpus"},
                    }
                )
    return rows


def _shrink():
    global BULK_ROWS, LATENCY_CALLS, LATENCY_WARMUP
    CASES["a"].update(n_samples=120, epochs=2)
    CASES["b"].update(n_samples=300, epochs=1)
    BULK_ROWS, LATENCY_CALLS, LATENCY_WARMUP = 500, 5, 2
    return (1, 1, 1, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", default="results", help="folder of the reports")
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX backend")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--memory", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = REPEATS["quick" if args.quick else "full"]
    passed = ["--quick"] if args.quick else []
    if args.smoke:  # tiny sizes, one repeat: checks that the benchmark runs, nothing else
        repeats = _shrink()
        passed = ["--smoke"]

    if args.worker:  # one process of measurements: python -m benchmarks.speed --worker a,b
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run_worker(
                tuple(args.worker.split(",")), repeats, log=lambda m: print(m, file=sys.stderr)
            )
        Path(args.json).write_text(json.dumps(result))
        return 0
    if args.memory:
        Path(args.json).write_text(json.dumps(run_memory(args.memory)))
        return 0

    def log(message):
        print(message, flush=True)

    load_start = os.getloadavg()[0]
    backends = ["tensorflow"]
    if not args.no_jax and importlib.util.find_spec("jax") is not None:
        backends.append("jax")
    has_scikeras = importlib.util.find_spec("scikeras") is not None
    results, memory = {}, {}
    for backend in backends:
        contenders = ["skml", "sklearn"] + (["scikeras"] if backend == "tensorflow" else [])
        if not has_scikeras and "scikeras" in contenders:
            contenders.remove("scikeras")
        log(f"[{backend}] timing {', '.join(contenders)} ...")
        try:
            results[backend] = _subprocess_json(
                ["--worker", ",".join(contenders), *passed],
                _env(backend),
            )
            log(f"[{backend}] peak memory ...")
            memory[backend] = {
                name: _subprocess_json(["--memory", name, *passed], _env(backend))
                for name in (contenders if backend == "tensorflow" else ["skml"])
            }
        except RuntimeError as exc:
            if backend == "tensorflow":
                raise
            log(f"[{backend}] skipped: {exc}")
            results.pop(backend, None)
            continue
    for backend in results:  # scikit-learn's memory is measured once, under tensorflow
        for name, mem in {**memory["tensorflow"], **memory[backend]}.items():
            if name == "scikeras" and backend != "tensorflow":
                continue
            samples = results[backend]["samples"]
            samples.setdefault("peak_rss_mb", {})[name] = [mem["peak_rss_mb"]]
            samples.setdefault("fit_rss_mb", {})[name] = [
                mem["peak_rss_mb"] - mem["before_fit_mb"]
            ]

    backends = [b for b in backends if b in results]
    log("import time ...")
    n_import = repeats[3]
    for backend in backends:
        env = _env(backend)
        samples = results[backend]["samples"]
        samples["import_s"] = {
            "skml": _import_seconds("import skml", n_import, env),
            "sklearn": _import_seconds("import sklearn", n_import, env),
        }
        samples["import_estimator_s"] = {
            "skml": _import_seconds("from skml import KerasMultiLabelClassifier", n_import, env),
            "sklearn": _import_seconds(
                "from sklearn.neural_network import MLPClassifier", n_import, env
            ),
        }

    meta = {
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "versions": _versions(),
        "sklearn_blas_threads": "; ".join(
            f"{b}: "
            + ", ".join(f"{work} {n}" for work, n in results[b]["sklearn_blas_threads"].items())
            for b in backends
        ),
    }
    summaries = {backend: _summarise(results[backend]) for backend in backends}
    for backend, summary in summaries.items():
        log(f"\n[{backend}]")
        for figure, s in summary.items():
            medians = ", ".join(f"{k} {_fmt(v)}" for k, v in s["median"].items())
            ratio = "" if s["ratio"] is None else f"  skml/sklearn {s['ratio']:.3g}"
            log(f"  {FIGURES[figure][0]}: {medians}{ratio}")
    table = markdown(summaries, meta)
    log("\n" + table)
    if meta["load_end"] > (os.cpu_count() or 1) or load_start > (os.cpu_count() or 1):
        log("warning: the machine was busy with other work; timings are noisy.")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.md").write_text(table)
    (out / "speed.json").write_text(
        json.dumps({"meta": meta, "results": results, "summaries": summaries}, indent=1)
    )
    rows = _rows(summaries, meta)
    with open(out / "speed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    log(f"wrote {out / 'speed.md'}, {out / 'speed.csv'}, {out / 'speed.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

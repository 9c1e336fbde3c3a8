"""Speed and memory of skml against scikit-learn and a plain scikeras model: ``python -m
benchmarks.speed [--quick | --smoke] [--no-jax] [--out results/]``.

The contenders (:func:`benchmarks.contenders.make_fixed_mlp`) train the same network
(one ReLU hidden layer, one sigmoid unit per label, Adam at 1e-3, no dropout, no weight
penalty, no early stopping) for the same epochs and batch size:

- ``skml``: :class:`skml.KerasMultiLabelClassifier`;
- ``skml-tabm``: the same estimator with ``network=TabM(k=8)`` (the ensemble network: the
  hidden layer shared by 8 members, each with its own scalings and output layer), measured
  beside the plain network on the first backend, against no target;
- ``skml-embedded``: the same estimator with the default network's periodic feature
  embeddings (``MLP(embedding="auto")``; both cases have at most 512 features) before the
  same hidden layer, measured beside it too, against no target;
- ``skml-ensemble``: the same estimator with ``network=Ensemble(k=5)`` of the plain network
  (5 whole networks trained one by one, their mean predicted), beside it too, no target;
- ``sklearn``: :class:`sklearn.neural_network.MLPClassifier`, the reference of every ratio;
- ``scikeras``: a tutorial-style ``scikeras.wrappers.KerasClassifier`` around a Sequential MLP.

Measured (:mod:`benchmarks.speed_measure`), side by side in one process per Keras backend (the
contenders take turns in each repeat, so a change of load on a shared machine hits them alike;
medians are reported):

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

The fresh processes are explicit commands: ``python -m benchmarks.speed_measure timings`` once
per backend, under ``KERAS_BACKEND=<backend>`` (Keras picks its backend once, at import),
``python -m benchmarks.speed_measure memory`` once per contender (a process's peak memory only
grows), and ``python -c "import ..."`` for the import times.

OpenBLAS' threads spin while they wait, so on a machine whose cores are busy with other work
scikit-learn can become many times slower with its default threads than with one. The run
first times scikit-learn both ways, for fit (a), fit (b) and the bulk predict separately, and
keeps the faster of each (the choices are reported): ratios are never flattered by a
handicapped reference. The load average is recorded at the start and the end of the run.

With jax installed (and without ``--no-jax``), the skml columns are measured again under
``KERAS_BACKEND=jax``, against a scikit-learn measured in that same process.

``--quick`` takes fewer repeats; ``--smoke`` runs tiny problems once, to check that the
benchmark works (its figures mean nothing). Writes ``speed.md`` (the table, also printed),
``speed.csv`` (one row per figure, contender and backend, with the versions) and
``speed.json`` (every sample) to ``--out``.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.report import environment, write_report
from benchmarks.speed_measure import SIZES

__all__ = ["BESIDE", "FIGURES", "TARGETS", "main", "markdown", "report_rows", "summarise"]

#: skml's other networks, measured beside the plain one on the first backend (no target):
#: contender -> column label.
BESIDE = {"skml-tabm": "TabM k=8", "skml-embedded": "embedded", "skml-ensemble": "Ensemble k=5"}

#: What skml aims at, as figure -> (kind, bound): "ratio" bounds skml / sklearn from above,
#: "min_ratio" from below, "max" bounds skml's own value.
TARGETS = {
    "fit_a_cold_s": ("ratio", 1.5),
    "fit_b_s": ("ratio", 0.8),
    "latency_1row_ms": ("max", 1.0),
    "bulk_rows_per_s": ("min_ratio", 1.0),
    "import_s": ("max", 0.3),
}
#: Figure -> (label, unit), in report order.
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
#: Statements timed in fresh processes: figure -> contender -> statement.
IMPORTS = {
    "import_s": {"skml": "import skml", "sklearn": "import sklearn"},
    "import_estimator_s": {
        "skml": "from skml import KerasMultiLabelClassifier",
        "sklearn": "from sklearn.neural_network import MLPClassifier",
    },
}


# --------------------------------------------------------------------------- fresh processes


def _env(backend):
    """The environment of a measuring process: its Keras backend, quiet, this package."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": root if not path else os.pathsep.join([root, path]),
    }
    env.setdefault("PYTHONWARNINGS", "ignore")
    return env


def _measure(args, backend, size):
    """Run ``python -m benchmarks.speed_measure <args>``; return the figures it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figures.json"
        command = [sys.executable, "-m", "benchmarks.speed_measure", *args]
        command += ["--size", size, "--json", str(path)]
        # Its progress goes to our stderr; a smoke run bounds it with the size's timeout.
        done = subprocess.run(command, env=_env(backend), timeout=SIZES[size].timeout_s)
        if done.returncode != 0:
            raise RuntimeError(
                f"python -m benchmarks.speed_measure {' '.join(args)} failed under {backend}"
            )
        return json.loads(path.read_text())


def _import_seconds(statement, n, backend, timeout):
    """Seconds of ``statement`` in ``n`` fresh Python processes."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = []
    for _ in range(n):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=_env(backend),
            check=True,
            timeout=timeout,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def measure(backends, size, *, scikeras=True, log=print):
    """Every figure of every backend, each set of them measured in its own processes.

    Parameters
    ----------
    backends : list of str
        Keras backends; the first is required, a later one that fails is skipped.
    size : str
        A key of :data:`benchmarks.speed_measure.SIZES`.
    scikeras : bool, default=True
        Whether to measure scikeras (on the first backend only, like :data:`BESIDE`).
    log : callable, default=print
        Receives the progress lines.

    Returns
    -------
    results : dict
        Backend -> ``backend``, ``sklearn_blas_threads`` and ``samples`` (figure ->
        contender -> list of measurements).
    """
    results, memory = {}, {}
    for backend in backends:
        first = backend == backends[0]
        contenders = ["skml", "sklearn"] + list(BESIDE) * first + ["scikeras"] * scikeras
        log(f"[{backend}] timing {', '.join(contenders)} ...")
        try:
            results[backend] = _measure(
                ["timings", "--contenders", ",".join(contenders)], backend, size
            )
            log(f"[{backend}] peak memory ...")
            memory[backend] = {
                name: _measure(["memory", "--contender", name], backend, size)
                for name in (contenders if first else ["skml"])
            }
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            if backend == backends[0]:
                raise
            log(f"[{backend}] skipped: {exc}")
            results.pop(backend, None)
        scikeras = False  # one scikeras column, from the first backend's process
    for backend, result in results.items():  # scikit-learn's memory: the first backend's
        for name, mem in {**memory[backends[0]], **memory[backend]}.items():
            if name in ("scikeras", *BESIDE) and backend != backends[0]:
                continue
            result["samples"].setdefault("peak_rss_mb", {})[name] = [mem["peak_rss_mb"]]
            added = mem["peak_rss_mb"] - mem["before_fit_mb"]
            result["samples"].setdefault("fit_rss_mb", {})[name] = [added]
    log("import time ...")
    for backend, result in results.items():
        for figure, statements in IMPORTS.items():
            result["samples"][figure] = {
                name: _import_seconds(
                    statement, SIZES[size].import_repeats, backend, SIZES[size].timeout_s
                )
                for name, statement in statements.items()
            }
    return results


# --------------------------------------------------------------------------- report


def summarise(result):
    """Median per figure and contender, and skml's ratio to scikit-learn.

    Parameters
    ----------
    result : dict
        One backend's result of :func:`measure`.

    Returns
    -------
    summary : dict
        Figure -> ``median`` (contender -> median or None) and ``ratio`` (skml / sklearn, or
        None).
    """
    out = {}
    for figure, by_contender in result["samples"].items():
        medians = {
            name: statistics.median(values) if values else None
            for name, values in by_contender.items()
        }
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
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _versions(env):
    """``skml 0.2.0, sklearn 1.9.1, ...``: the libraries' versions of an environment."""
    return ", ".join(
        f"{key.removesuffix('_version')} {value}"
        for key, value in env.items()
        if key.endswith("_version") and key != "backend_version" and value
    )


def markdown(summaries, meta):
    """The markdown report: one row per figure, one column per contender and backend.

    Parameters
    ----------
    summaries : dict
        Backend -> :func:`summarise` of its result.
    meta : dict
        ``load_start``, ``load_end``, ``env`` (:func:`benchmarks.report.environment`) and
        ``sklearn_blas_threads``.

    Returns
    -------
    text : str
    """
    backends = list(summaries)
    head = ["figure", "sklearn", "scikeras"]
    for backend in backends:
        head += [f"skml ({backend})", f"skml / sklearn ({backend})"]
    for label in BESIDE.values():
        head += [f"skml {label}", f"{label} / sklearn"]
    head += ["target (tensorflow)"]
    lines = [
        "# skml speed",
        "",
        f"Load average (1 min) at start {meta['load_start']:.2f}, at end "
        f"{meta['load_end']:.2f}, on {meta['env']['cpu_count']} CPUs. scikit-learn BLAS "
        f"threads: {meta['sklearn_blas_threads']}. Versions: {_versions(meta['env'])}.",
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
        medians = first.get(figure, {}).get("median", {})
        sklearn = medians.get("sklearn")
        for name in BESIDE:
            value = medians.get(name)
            row += [_fmt(value), _fmt(value / sklearn if value is not None and sklearn else None)]
        tf = summaries.get("tensorflow", first).get(figure)
        row.append(_target_status(figure, tf) if tf else "")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Medians. Ratios are skml / scikit-learn measured in the same process (for rows/s, "
        "higher is better; for the rest, lower). Fit (a) of skml is cold (its traced "
        "functions dropped first); the second-fit row is what a grid search pays per fit "
        "after the first. The sklearn, scikeras, TabM, embedded and Ensemble columns come "
        f"from the {backends[0]} process; the targets bound the plain network, TabM (the "
        "same hidden layer, 8 members), the default network's embeddings (the same hidden "
        "layer after periodic embeddings of the features) and Ensemble (5 plain networks "
        "trained one by one) are measured beside it.",
    ]
    return "\n".join(lines) + "\n"


def report_rows(summaries, meta):
    """The CSV rows: one per figure, contender and backend, with the run's environment.

    Parameters
    ----------
    summaries, meta : dict
        As for :func:`markdown`.

    Returns
    -------
    rows : list of dict
    """
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
                        **meta["env"],
                    }
                )
    return rows


def _log_summaries(summaries, log):
    for backend, summary in summaries.items():
        log(f"\n[{backend}]")
        for figure, s in summary.items():
            medians = ", ".join(f"{k} {_fmt(v)}" for k, v in s["median"].items())
            ratio = "" if s["ratio"] is None else f"  skml/sklearn {s['ratio']:.3g}"
            log(f"  {FIGURES[figure][0]}: {medians}{ratio}")


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer repeats")
    size.add_argument(
        "--smoke", action="store_true", help="tiny problems, once: checks that it runs"
    )
    parser.add_argument("--out", default="results", help="folder of the reports")
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX backend")
    return parser


def main(argv=None):
    """Measure, print and write the speed report.

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
    size = "smoke" if args.smoke else "quick" if args.quick else "full"

    def log(message):
        print(message, flush=True)

    load_start = os.getloadavg()[0]
    backends = ["tensorflow"]
    if not args.no_jax and importlib.util.find_spec("jax") is not None:
        backends.append("jax")
    scikeras = importlib.util.find_spec("scikeras") is not None
    results = measure(backends, size, scikeras=scikeras, log=log)
    meta = {
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "env": environment(libraries=("jax", "scikeras")),
        "size": size,
        "sklearn_blas_threads": "; ".join(
            f"{b}: " + ", ".join(f"{work} {n}" for work, n in r["sklearn_blas_threads"].items())
            for b, r in results.items()
        ),
    }
    summaries = {backend: summarise(result) for backend, result in results.items()}
    _log_summaries(summaries, log)
    table = markdown(summaries, meta)
    log("\n" + table)
    cpus = os.cpu_count() or 1
    if meta["load_end"] > cpus or load_start > cpus:
        log("warning: the machine was busy with other work; timings are noisy.")
    data = {"meta": meta, "results": results, "summaries": summaries}
    paths = write_report(args.out, "speed", table, rows=report_rows(summaries, meta), data=data)
    log("wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())

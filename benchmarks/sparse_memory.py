"""Memory of fitting and predicting on a large sparse matrix: ``python -m
benchmarks.sparse_memory [--n-samples 200000] [--n-features 50000] [--density 0.001]
[--epochs 1] [--out results/]``.

The data look like TF-IDF rows: a CSR float32 matrix whose rows hold about
``density x n_features`` non-zeros (binomial counts, distinct uniformly drawn columns, uniform
values, each row scaled to unit L2 norm), built directly with NumPy (``scipy.sparse.random``
is slow at this scale). At the default size it is 200,000 x 50,000 with 10 million non-zeros,
about 80 MB, whose dense float32 copy would be 40 GB.

The labels depend on the features, so the fit learns something: label ``j`` owns a random set
of "trigger" features, sized so that about 15% of the rows contain one, and a row carries label
``j`` when it has a non-zero in one of ``j``'s triggers; then 2% of all entries are flipped.
The in-sample macro ROC AUC of the predicted probabilities is reported as a sanity check that
the predictions are not constant; one epoch learns little more than the label rates here (about
0.52 at the default size), which does not matter: the figures of interest are memory.

It fits ``KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(64,)), epochs=1,
batch_size=256, early_stopping=True, random_state=0)`` and predicts the probabilities of every
row, and reports:

- the sparse matrix's own size (``data + indices + indptr`` bytes);
- the resident memory baseline: after importing TensorFlow/Keras and building ``X`` and ``y``,
  before the fit;
- the peak resident memory during fit + predict, from ``VmRSS`` sampled every 50 ms by a
  background thread, from the kernel's high-water mark ``VmHWM`` (reset before the fit through
  ``/proc/self/clear_refs`` where the kernel allows it) and from ``getrusage``'s ``ru_maxrss``;
- the peak increase over the baseline, and both figures as multiples of the matrix's size;
- fit and predict seconds.

The criterion: peak resident memory below 3x the sparse matrix's size. TensorFlow alone holds
hundreds of MB after import, more than the matrix itself at this size, so the report says
which of the absolute peak and the increase over the baseline meets it.

Writes ``sparse_memory.md`` (also printed) and ``sparse_memory.json`` to ``--out``.
"""

import argparse
import gc
import json
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from benchmarks._rss import RssSampler, reset_high_water_mark, ru_maxrss_kib, status_kib
from benchmarks.report import environment, write_report

__all__ = ["main", "make_data", "markdown", "run", "sparse_bytes"]

CRITERION = 3.0  # peak resident memory below this multiple of the sparse matrix's size
LABEL_PREVALENCE = 0.15
LABEL_NOISE = 0.02
MIB = 1024**2


# --------------------------------------------------------------------------- data


def make_data(n_samples, n_features, density, n_labels=20, seed=0):
    """A TF-IDF-like CSR float32 matrix and multi-label targets that depend on it.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float32, int32 indices
    Y : ndarray of shape (n_samples, n_labels), int8
    """
    from sklearn.preprocessing import normalize

    rng = np.random.default_rng(seed)
    counts = rng.binomial(n_features, density, size=n_samples)
    # Sorted (row, column) keys without the few columns drawn twice in a row. Sorted in place:
    # np.unique leaves about 3x the keys' size of freed but resident memory behind, which
    # would inflate the baseline.
    keys = np.repeat(np.arange(n_samples, dtype=np.int64), counts)
    keys *= n_features
    keys += rng.integers(0, n_features, size=keys.size)
    keys.sort()
    if keys.size:
        keep = np.empty(keys.size, dtype=bool)
        keep[0] = True
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        keys = keys[keep]
        del keep
    indices = (keys % n_features).astype(np.int32)
    indptr = np.zeros(n_samples + 1, dtype=np.int32)
    np.cumsum(np.bincount(keys // n_features, minlength=n_samples), out=indptr[1:])
    del keys
    data = rng.random(indices.size, dtype=np.float32) + np.float32(0.1)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_features))
    normalize(X, copy=False)  # unit L2 rows, in place

    per_label = int(min(n_features, max(1, round(-np.log1p(-LABEL_PREVALENCE) / density))))
    triggers = np.stack(
        [rng.choice(n_features, size=per_label, replace=False) for _ in range(n_labels)]
    )
    owner = sp.csr_matrix(
        (
            np.ones(triggers.size, dtype=np.float32),
            (triggers.ravel(), np.repeat(np.arange(n_labels), per_label)),
        ),
        shape=(n_features, n_labels),
    )
    Y = np.asarray((X @ owner).toarray() > 0, dtype=np.int8)
    Y ^= (rng.random(Y.shape) < LABEL_NOISE).astype(np.int8)
    return X, Y


def sparse_bytes(X):
    """Bytes of the arrays a CSR matrix owns: data, indices and indptr."""
    return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)


# --------------------------------------------------------------------------- run


def _fit_and_predict(clf, X, Y, log):
    """Fit and predict under a :class:`~benchmarks._rss.RssSampler`; return the figures."""
    gc.collect()
    baseline = status_kib("VmRSS")
    ru_before = ru_maxrss_kib()
    reset = reset_high_water_mark()
    with RssSampler() as sampler:
        sampler.phase = "fit"
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, Y)
        fit_s = time.perf_counter() - start
        log(f"fit: {fit_s:.1f} s, history {clf.history_}")
        sampler.sample()
        sampler.phase = "predict"
        start = time.perf_counter()
        proba = clf.predict_proba(X)
        predict_s = time.perf_counter() - start
        log(f"predict_proba: {predict_s:.1f} s")
    hwm = status_kib("VmHWM")
    ru_after = ru_maxrss_kib()
    sampled = max(sampler.peaks.values())
    # The kernel's marks catch what 50 ms sampling misses; valid only when reset before the fit.
    kernel = max(hwm or 0, ru_after) if reset else None
    peak = max(sampled, kernel or 0)
    return proba, {
        "fit_s": fit_s,
        "predict_s": predict_s,
        "baseline_kib": baseline,
        "ru_maxrss_before_fit_kib": ru_before,
        "high_water_mark_reset": reset,
        "peak_sampled_fit_kib": sampler.peaks.get("fit"),
        "peak_sampled_predict_kib": sampler.peaks.get("predict"),
        "rss_samples": sampler.samples,
        "vmhwm_kib": hwm,
        "ru_maxrss_kib": ru_after,
        "peak_kib": peak,
        "increase_kib": peak - baseline,
    }


def run(n_samples, n_features, density, epochs=1, n_labels=20, seed=0, log=print):
    """Build the data, fit and predict; return every figure as a dict."""
    from sklearn.metrics import roc_auc_score

    from skml import KerasMultiLabelClassifier
    from skml._training import import_keras
    from skml.networks import MLP

    keras = import_keras()
    if keras.backend.backend() == "tensorflow":
        import tensorflow  # noqa: F401  (counted in the baseline, as the issue asks)
    env = environment()
    rss_import = status_kib("VmRSS")

    start = time.perf_counter()
    X, Y = make_data(n_samples, n_features, density, n_labels=n_labels, seed=seed)
    build_s = time.perf_counter() - start
    size = sparse_bytes(X)
    log(
        f"X: {X.shape[0]:,} x {X.shape[1]:,}, {X.nnz:,} non-zeros ({size / MIB:.1f} MiB; dense "
        f"float32 would be {X.shape[0] * X.shape[1] * 4 / 1024**3:.1f} GiB), built in "
        f"{build_s:.1f} s; label rates {Y.mean(axis=0).min():.2f}-{Y.mean(axis=0).max():.2f}"
    )
    clf = KerasMultiLabelClassifier(
        network=MLP(hidden_layer_sizes=(64,)),
        epochs=epochs,
        batch_size=256,
        early_stopping=True,
        random_state=0,
    )
    proba, figures = _fit_and_predict(clf, X, Y, log)
    return {
        "n_samples": n_samples,
        "n_features": n_features,
        "density": density,
        "nnz": int(X.nnz),
        "n_labels": n_labels,
        "epochs": epochs,
        "seed": seed,
        "sparse_bytes": size,
        "data_bytes": int(X.data.nbytes),
        "indices_bytes": int(X.indices.nbytes),
        "indptr_bytes": int(X.indptr.nbytes),
        "dense_float32_bytes": int(X.shape[0]) * int(X.shape[1]) * 4,
        "build_s": build_s,
        "epochs_run": len(next(iter(clf.history_.values()), [])),
        "history": clf.history_,
        "in_sample_macro_roc_auc": float(roc_auc_score(Y, proba, average="macro")),
        "rss_after_import_kib": rss_import,
        **figures,
        "peak_ratio": figures["peak_kib"] * 1024 / size,
        "increase_ratio": figures["increase_kib"] * 1024 / size,
        "env": env,
    }


def _mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:,.0f}"


def markdown(r):
    """The report: a table of the figures and the verdict on the criterion."""
    size_mib = r["sparse_bytes"] / MIB
    env = r["env"]
    limit_mib = CRITERION * size_mib
    ok_peak = r["peak_ratio"] < CRITERION
    ok_increase = r["increase_ratio"] < CRITERION
    ru_note = (
        "reset before the fit"
        if r["high_water_mark_reset"]
        else "not reset (lifetime peak, includes building X)"
    )
    rows = [
        ("X", f"{r['n_samples']:,} x {r['n_features']:,}, density {r['density']:g}"),
        ("non-zeros", f"{r['nnz']:,}"),
        (
            "sparse matrix size (data + indices + indptr)",
            f"{size_mib:,.1f} MiB ({r['data_bytes'] / MIB:.1f} + {r['indices_bytes'] / MIB:.1f}"
            f" + {r['indptr_bytes'] / MIB:.1f})",
        ),
        ("its dense float32 copy", f"{r['dense_float32_bytes'] / 1024**3:,.1f} GiB"),
        ("RSS after importing TensorFlow/Keras", f"{_mib(r['rss_after_import_kib'])} MiB"),
        ("baseline RSS (imports + X + y, before fit)", f"{_mib(r['baseline_kib'])} MiB"),
        ("peak VmRSS sampled every 50 ms, fit", f"{_mib(r['peak_sampled_fit_kib'])} MiB"),
        ("peak VmRSS sampled every 50 ms, predict", f"{_mib(r['peak_sampled_predict_kib'])} MiB"),
        (f"VmHWM ({ru_note})", f"{_mib(r['vmhwm_kib'])} MiB"),
        (f"ru_maxrss ({ru_note})", f"{_mib(r['ru_maxrss_kib'])} MiB"),
        ("**peak RSS, fit + predict**", f"**{_mib(r['peak_kib'])} MiB**"),
        ("**peak increase over baseline**", f"**{_mib(r['increase_kib'])} MiB**"),
        ("peak / sparse size", f"{r['peak_ratio']:.2f}x"),
        ("peak increase / sparse size", f"{r['increase_ratio']:.2f}x"),
        ("fit", f"{r['fit_s']:.1f} s ({r['epochs_run']} epoch(s))"),
        ("predict_proba, all rows", f"{r['predict_s']:.1f} s"),
        ("in-sample macro ROC AUC (sanity check)", f"{r['in_sample_macro_roc_auc']:.3f}"),
    ]
    lines = [
        "# Sparse input: memory of fit + predict",
        "",
        "`KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(64,)), "
        f"epochs={r['epochs']}, batch_size=256, early_stopping=True, random_state=0)` on a "
        "random CSR float32 matrix "
        f"with {r['n_labels']} labels; fit, then `predict_proba` on every row.",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"Criterion: peak resident memory below {CRITERION:g}x the sparse matrix's size, "
        f"{limit_mib:,.0f} MiB.",
        "",
        f"- Absolute peak: {_mib(r['peak_kib'])} MiB = {r['peak_ratio']:.2f}x: "
        + (
            "**meets** it."
            if ok_peak
            else "**does not meet** it (the imports alone hold "
            f"{_mib(r['rss_after_import_kib'])} MiB)."
        ),
        f"- Increase over the post-import baseline: {_mib(r['increase_kib'])} MiB = "
        f"{r['increase_ratio']:.2f}x: "
        + ("**meets** it." if ok_increase else "**does not meet** it."),
        "",
        f"skml {env['skml_version']}, keras {env['keras_version']} ({env['keras_backend']} "
        f"{env['backend_version']}), Python {env['python_version']}, {env['platform']}, "
        f"{env['cpus_usable']} usable CPUs.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Measure; print and write ``sparse_memory.md`` and ``sparse_memory.json``.

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
        prog="python -m benchmarks.sparse_memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=50_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--n-labels", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    parser.add_argument("--out", default="results", help="folder of the reports")
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    result = run(
        args.n_samples,
        args.n_features,
        args.density,
        epochs=args.epochs,
        n_labels=args.n_labels,
        seed=args.seed,
        log=log,
    )
    report = markdown(result)
    write_report(args.out, "sparse_memory", report, data=result)
    print(report)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

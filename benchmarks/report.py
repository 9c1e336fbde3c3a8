"""The report: environment, CSV of every run, markdown table, one chart per data set; and
:func:`write_report`, the one writer of every side benchmark's ``<name>.md/.csv/.json``."""

import importlib.util
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.protocols import METRICS

__all__ = [
    "environment",
    "markdown_table",
    "plot_dataset",
    "summarize",
    "write_csv",
    "write_report",
]

#: Columns identifying a run, in CSV order.
KEYS = ["dataset", "method", "protocol", "fold", "seed"]
_QUALITY = [m for m in METRICS if not m.endswith("_seconds")]
_LABEL_OFFSETS = [(6, 6), (6, -13), (-6, 6), (-6, -13)]


def environment(libraries=()):
    """Versions and machine, recorded in every CSV row.

    Parameters
    ----------
    libraries : iterable of str, default=()
        Further modules whose versions to record as ``<module>_version`` ("" when one is not
        installed), such as ``("jax", "scikeras")``.

    Returns
    -------
    env : dict of str to str or int
        Versions of skml, scikit-learn, keras, the Keras backend, tensorflow, numpy and
        Python; the platform and the CPU count (all CPUs, and those this process may use).
    """
    import keras
    import sklearn

    import skml

    backend = keras.backend.backend()
    try:
        backend_version = __import__(
            {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend)
        ).__version__
    except ImportError:
        backend_version = ""
    try:
        import tensorflow as tf

        tf_version = tf.__version__
    except ImportError:
        tf_version = ""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    extra = {
        f"{name}_version": __import__(name).__version__
        if importlib.util.find_spec(name) is not None
        else ""
        for name in libraries
    }
    return {
        "skml_version": skml.__version__,
        "sklearn_version": sklearn.__version__,
        "keras_version": keras.__version__,
        "keras_backend": backend,
        "backend_version": backend_version,
        "tensorflow_version": tf_version,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        **extra,
    }


def write_csv(rows, path):
    """Write one CSV row per run.

    Parameters
    ----------
    rows : list of dict
        Runs: the :data:`KEYS`, the metrics, sizes and environment.
    path : path-like
        The CSV file.

    Returns
    -------
    frame : pandas.DataFrame
        The rows as written.
    """
    frame = pd.DataFrame(rows)
    first = [c for c in [*KEYS, *METRICS] if c in frame.columns]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    frame.to_csv(path, index=False, float_format="%.6g")
    return frame


def write_report(out, name, text, *, rows=None, data=None):
    """Write a benchmark's report files to the folder ``out`` (created if missing).

    Parameters
    ----------
    out : path-like
        The folder.
    name : str
        Stem of the files: ``<name>.md``, ``<name>.csv``, ``<name>.json``.
    text : str
        The markdown report, written to ``<name>.md``.
    rows : list of dict or None, default=None
        One CSV row per result, written with :func:`write_csv`; no CSV when None.
    data : dict or None, default=None
        Every figure, written as JSON; no JSON when None.

    Returns
    -------
    paths : list of pathlib.Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.md"]
    paths[0].write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    if rows is not None:
        paths.append(out / f"{name}.csv")
        write_csv(rows, paths[-1])
    if data is not None:
        paths.append(out / f"{name}.json")
        paths[-1].write_text(json.dumps(data, indent=1) + "\n")
    return paths


def summarize(frame):
    """Mean and standard deviation of each metric over the folds and seeds of a run set.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run.

    Returns
    -------
    summary : pandas.DataFrame
        Indexed by dataset, protocol and method (in first-seen order), with columns
        ``(metric, "mean")``, ``(metric, "std")`` and ``("runs", "count")``.
    """
    groups = frame.groupby(["dataset", "protocol", "method"], sort=False)
    summary = groups[list(METRICS)].agg(["mean", "std"])
    summary[("runs", "count")] = groups.size()
    return summary


def _cell(mean, std, bold, digits):
    text = f"{mean:.{digits}f}"
    if np.isfinite(std):
        text += f" ± {std:.{digits}f}"
    return f"**{text}**" if bold else text


def markdown_table(frame):
    """One markdown table per data set and protocol: a row per method.

    Cells are the mean, ``± std`` where a protocol has several runs. The best mean of each
    quality metric is bold.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run.

    Returns
    -------
    text : str
    """
    summary = summarize(frame)
    header = (
        "| method | "
        + " | ".join(
            f"{label} {'↓' if lower else '↑'}" if name in _QUALITY else label
            for name, (label, lower) in METRICS.items()
        )
        + " |"
    )
    rule = "|---|" + "---:|" * len(METRICS)
    blocks = []
    for (dataset, protocol), table in summary.groupby(level=[0, 1], sort=False):
        runs = frame[(frame.dataset == dataset) & (frame.protocol == protocol)]
        first = runs.iloc[0]
        if protocol == "split":
            n_seeds = runs.seed.nunique()
            seeds = f", {n_seeds} model seeds" if n_seeds > 1 else ""
            what = f"standard split, {first.n_train} train / {first.n_test} test{seeds}"
        else:
            n_repeats = runs.seed.nunique()
            n_splits = runs.fold.nunique() // n_repeats
            repeats = f" x {n_repeats} repeats" if n_repeats > 1 else ""
            what = f"{n_splits} folds{repeats}, stratified, {first.n_train + first.n_test} rows"
        lines = [f"### {dataset}: {protocol} ({what}, {first.n_labels} labels)", "", header, rule]
        best = {
            name: (table[(name, "mean")].min() if lower else table[(name, "mean")].max())
            for name, (_, lower) in METRICS.items()
            if name in _QUALITY
        }
        for (_, _, method), row in table.iterrows():
            cells = [
                _cell(
                    row[(name, "mean")],
                    row[(name, "std")],
                    name in best and row[(name, "mean")] == best[name],
                    3 if name in _QUALITY else 2,
                )
                for name in METRICS
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def plot_dataset(frame, dataset, path, methods=None):
    """Chart macro-F1 against hamming loss, one labelled point per method.

    One panel per protocol; error bars are one standard deviation over the runs. The hamming
    axis is inverted, so the best methods sit top right.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run.
    dataset : str
        The data set to chart.
    path : path-like
        The PNG file.
    methods : list of str or None, default=None
        All method names, fixing each method's colour across charts.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(frame[frame.dataset == dataset])
    protocols = list(summary.index.unique(level="protocol"))
    methods = list(methods) if methods is not None else list(frame.method.unique())
    colors = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(protocols), figsize=(6.5 * len(protocols), 5), squeeze=False)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        table = summary.xs((dataset, protocol), level=["dataset", "protocol"])
        for method, row in table.iterrows():
            x, y = row[("hamming_loss", "mean")], row[("f1_macro", "mean")]
            xerr, yerr = row[("hamming_loss", "std")], row[("f1_macro", "std")]
            color = colors(methods.index(method) % 10 if method in methods else 0)
            ax.errorbar(
                x,
                y,
                xerr=None if np.isnan(xerr) else xerr,
                yerr=None if np.isnan(yerr) else yerr,
                fmt="o",
                color=color,
                ecolor=color,
                elinewidth=1,
                alpha=0.85,
                capsize=3,
                markersize=7,
            )
            # Labels go round their points in turn, so that neighbours rarely overlap.
            dx, dy = _LABEL_OFFSETS[len(ax.texts) % len(_LABEL_OFFSETS)]
            ax.annotate(
                method,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="left" if dx > 0 else "right",
                fontsize=9,
                color=color,
            )
        ax.invert_xaxis()
        ax.set_xlabel("hamming loss (lower is better, axis inverted)")
        ax.set_ylabel("macro-F1 (higher is better)")
        ax.set_title(f"{dataset}, {protocol}: best is top right")
        ax.grid(alpha=0.3)
        ax.margins(0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

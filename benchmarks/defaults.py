"""How skml's defaults are chosen: candidates cross-validated on a suite, training data only.

``python -m benchmarks.defaults`` fits every candidate setting of
:class:`skml.KerasMultiLabelClassifier` on every data set of the development suite and prints a
markdown table of mean hamming loss and macro-F1 (threshold 0.5) over 3 multi-label stratified
folds **of each set's training split** (the test split is never read), then ranks the
candidates. The suite covers the kinds of data the defaults must serve:

========== ===========================================================================
yeast      dense, standardised (MULAN standard training split)
emotions   dense, standardised, small
scene      dense, standardised, images' features
bibtex     sparse binary text, 1836 features, 159 labels, many rare (MaxAbsScaler)
synthetic  sparse bag-of-words counts, 2000 features, 80 labels, 600 rows (MaxAbsScaler)
unscaled   yeast's features with column scales spread over 5 decades, no scaler
tiny       150 rows of emotions' training split
digits     32x32 digit canvases, flattened pixels in [0, 1] (the MLP's view of images)
========== ===========================================================================

A candidate wins by its mean rank over the sets (hamming loss and macro-F1 ranked separately,
then averaged); the table is in the README. The ``threshold="f1"`` candidates choose how the
decision rule is tuned; they are run on their own (``--candidates``) and compared by macro-F1.
``--shrinkage`` compares the rare-label safeguard of the tuned rules instead: the pseudo-count
``shrinkage`` of :func:`skml.thresholds.tune_thresholds` (see :func:`shrinkage_study`).
``--quick`` runs 2 sets with one fold each, to check the script.
"""

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import f1_score, hamming_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

__all__ = ["CANDIDATES", "SHRINKAGES", "SUITE", "main", "run", "shrinkage_study"]


def _candidates(n_features):
    from skml.networks import MLP, TabM

    # The candidates measured before the embeddings became the default pin the network of
    # that time (embedding=None: features fed to the first layer as they are), so that their
    # rows in the README stay reproducible.
    plain = MLP(embedding=None)
    authors = {"embedding": "periodic", "embedding_frequencies": 48, "embedding_units": 24}
    return {
        "0.2.0: L2 1e-3": {"network": MLP(l2=1e-3, embedding=None)},
        "no L2": {"network": MLP(l2=0.0, embedding=None)},
        "L2 0.1 / n_features": {"network": MLP(l2=0.1 / n_features, embedding=None)},
        "no L2, no early stopping, 100 epochs (AdamW)": {
            "network": MLP(l2=0.0, embedding=None),
            "optimizer": "adamw",
            "early_stopping": False,
            "epochs": 100,
        },
        "TabM k=8 (no L2)": {"network": TabM()},
        # The learning-rate / batch-size pair (Adam; the default is 1e-3 with batches of 32).
        "learning rate 3e-4": {"network": plain, "learning_rate_init": 3e-4},
        "learning rate 3e-3": {"network": plain, "learning_rate_init": 3e-3},
        "batches of 64": {"network": plain, "batch_size": 64},
        "batches of 128, learning rate 3e-3": {
            "network": plain,
            "batch_size": 128,
            "learning_rate_init": 3e-3,
        },
        # Periodic embeddings at the authors' sizes (48 frequencies, 24 units) on every set,
        # then the default: 16 and 16, on rows of at most 512 features (embedding="auto").
        "periodic embeddings": {"network": MLP(**authors)},
        "periodic embeddings, 16 frequencies, 16 units": {"network": MLP(embedding="periodic")},
        "periodic embeddings, 8 frequencies, 8 units": {
            "network": MLP(embedding="periodic", embedding_frequencies=8, embedding_units=8)
        },
        "auto embeddings (the default)": {"network": MLP()},
        # The embeddings' scale (the standard deviation of the initial frequencies), the
        # hyperparameter their authors tune first; the default is theirs, 0.01.
        "auto embeddings, scale 0.003": {"network": MLP(embedding_scale=0.003)},
        "auto embeddings, scale 0.03": {"network": MLP(embedding_scale=0.03)},
        "auto embeddings, scale 0.1": {"network": MLP(embedding_scale=0.1)},
        # Decision-rule candidates: compare them with each other (macro-F1 first), not with
        # the threshold-0.5 candidates above.
        'threshold="f1" on the validation split': {
            "network": plain,
            "threshold": "f1",
            "threshold_cv": "validation",
        },
        'threshold="f1", threshold_cv=3': {"network": plain, "threshold": "f1", "threshold_cv": 3},
        'TabM k=8, threshold="f1"': {"network": TabM(), "threshold": "f1"},
        'threshold="f1", no early stopping, 100 epochs (AdamW)': {
            "network": MLP(l2=0.0, embedding=None),
            "optimizer": "adamw",
            "early_stopping": False,
            "epochs": 100,
            "threshold": "f1",
        },
        'periodic embeddings, threshold="f1"': {"network": MLP(**authors), "threshold": "f1"},
        'auto embeddings (the default), threshold="f1"': {"network": MLP(), "threshold": "f1"},
        'learning rate 3e-3, threshold="f1"': {"learning_rate_init": 3e-3, "threshold": "f1"},
        'hidden layer of 512, threshold="f1"': {"network": MLP((512,)), "threshold": "f1"},
        'TabM k=8 with auto embeddings, threshold="f1"': {
            "network": TabM(embedding="auto"),
            "threshold": "f1",
        },
    }


#: Names of the candidate settings, in the order of the table.
CANDIDATES = (
    "0.2.0: L2 1e-3",
    "no L2",
    "L2 0.1 / n_features",
    "no L2, no early stopping, 100 epochs (AdamW)",
    "TabM k=8 (no L2)",
    "learning rate 3e-4",
    "learning rate 3e-3",
    "batches of 64",
    "batches of 128, learning rate 3e-3",
    "periodic embeddings",
    "periodic embeddings, 16 frequencies, 16 units",
    "periodic embeddings, 8 frequencies, 8 units",
    "auto embeddings (the default)",
    "auto embeddings, scale 0.003",
    "auto embeddings, scale 0.03",
    "auto embeddings, scale 0.1",
    'threshold="f1" on the validation split',
    'threshold="f1", threshold_cv=3',
    'TabM k=8, threshold="f1"',
    'threshold="f1", no early stopping, 100 epochs (AdamW)',
    'periodic embeddings, threshold="f1"',
    'auto embeddings (the default), threshold="f1"',
    'learning rate 3e-3, threshold="f1"',
    'hidden layer of 512, threshold="f1"',
    'TabM k=8 with auto embeddings, threshold="f1"',
)
#: Pseudo-counts of the rare-label shrinkage compared by ``--shrinkage`` (3 is the default).
SHRINKAGES = (10.0, 5.0, 3.0, 1.0, 0.0)
#: The development suite: name -> scaler kind.
SUITE = {
    "yeast": "standard",
    "emotions": "standard",
    "scene": "standard",
    "bibtex": "maxabs",
    "synthetic": "maxabs",
    "unscaled": None,
    "tiny": "standard",
    "digits": None,
}


def load_training_split(name):
    """``(X, y)``: the training rows of a suite set (the test rows are never loaded)."""
    from benchmarks.data import load_dataset

    if name == "synthetic":
        X, y = make_multilabel_classification(
            n_samples=600,
            n_features=2000,
            n_classes=80,
            n_labels=3,
            length=60,
            sparse=True,
            allow_unlabeled=True,
            random_state=0,
        )
        return sp.csr_matrix(X, dtype=np.float32), y
    if name == "unscaled":
        X, y = load_training_split("yeast")
        scales = 10.0 ** np.random.default_rng(0).uniform(-2, 3, size=X.shape[1])
        return X * scales, y
    if name == "tiny":
        X, y = load_training_split("emotions")
        rows = np.random.default_rng(0).choice(X.shape[0], size=150, replace=False)
        return X[np.sort(rows)], y[np.sort(rows)]
    data = load_dataset(name)
    return data.features(data.train), np.asarray(data.y[data.train])


def _pipeline(scaler, params):
    from skml import KerasMultiLabelClassifier

    clf = KerasMultiLabelClassifier(random_state=0, **params)
    if scaler == "standard":
        return make_pipeline(StandardScaler(), clf)
    if scaler == "maxabs":
        return make_pipeline(MaxAbsScaler(), clf)
    return clf


def _scores(y_true, y_pred):
    """The suite's two metrics of one fold's predictions."""
    return {
        "hamming": hamming_loss(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
    }


def run(datasets, candidates, n_splits=3, max_folds=None, log=print):
    """One row per (set, candidate, fold): hamming loss, macro-F1, seconds."""
    from skml.model_selection import MultilabelStratifiedKFold

    rows = []
    for name in datasets:
        X, y = load_training_split(name)
        settings = _candidates(X.shape[1])
        splitter = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        folds = list(splitter.split(X, y))[:max_folds]
        for candidate in candidates:
            for fold, (train, test) in enumerate(folds):
                params = {k: clone(v, safe=False) for k, v in settings[candidate].items()}
                model = _pipeline(SUITE[name], params)
                start = time.perf_counter()
                model.fit(X[train], y[train])
                seconds = time.perf_counter() - start
                pred = model.predict(X[test])
                row = {
                    "dataset": name,
                    "candidate": candidate,
                    "fold": fold,
                    **_scores(y[test], pred),
                    "fit_seconds": seconds,
                }
                rows.append(row)
                log(
                    f"{name:10s} {candidate:28s} fold {fold}: hamming {row['hamming']:.4f} "
                    f"macro-F1 {row['macro_f1']:.3f} ({seconds:.1f} s)"
                )
    return rows


def _estimator(model):
    """The classifier of a suite model (the last step of a pipeline, or the model)."""
    return model[-1] if hasattr(model, "steps") else model


@contextlib.contextmanager
def _recording_tuning_data(calls):
    """Record the ``(y_true, y_score)`` that ``tune_thresholds`` is called with."""
    from skml import thresholds

    tune = thresholds.tune_thresholds

    def record(y_true, y_score, *args, **kwargs):
        calls.append((np.asarray(y_true), np.asarray(y_score)))
        return tune(y_true, y_score, *args, **kwargs)

    thresholds.tune_thresholds = record
    try:
        yield
    finally:
        thresholds.tune_thresholds = tune


def shrinkage_study(datasets, shrinkages=SHRINKAGES, n_splits=3, max_folds=None, log=print):
    """One row per (set, pseudo-count, fold) for ``threshold="f1"`` at the other defaults.

    Each fold fits the estimator once (on the same folds as :func:`run`). The out-of-fold
    predictions it tuned its thresholds on are recorded, tuned again with each pseudo-count
    ``shrinkage`` of :func:`skml.thresholds.tune_thresholds` (``max_positive_ratio`` at its
    default), and the fold's test rows are predicted with each set of thresholds: the
    pseudo-counts are compared on the same networks.
    """
    from skml.model_selection import MultilabelStratifiedKFold
    from skml.thresholds import apply_thresholds, tune_thresholds

    rows = []
    for name in datasets:
        X, y = load_training_split(name)
        splitter = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        for fold, (train, test) in enumerate(list(splitter.split(X, y))[:max_folds]):
            model = _pipeline(SUITE[name], {"threshold": "f1"})
            calls = []
            with _recording_tuning_data(calls):
                model.fit(X[train], y[train])
            ((y_tune, s_tune),) = calls  # one tuning per fit: the final network's
            positives = y[train].sum(axis=0)
            trained = (positives > 0) & (positives < len(train))  # constant labels: no rule
            proba = model.predict_proba(X[test])
            for shrinkage in shrinkages:
                thresholds = np.array(_estimator(model).thresholds_, dtype=float)
                thresholds[trained] = tune_thresholds(y_tune, s_tune, shrinkage=shrinkage)
                pred = apply_thresholds(proba, thresholds)
                row = {"dataset": name, "shrinkage": shrinkage, "fold": fold}
                row.update(_scores(y[test], pred))
                rows.append(row)
                log(
                    f"{name:10s} shrinkage {shrinkage:4g} fold {fold}: hamming "
                    f"{row['hamming']:.4f} macro-F1 {row['macro_f1']:.3f}"
                )
    return rows


def summarise_shrinkage(rows):
    """Markdown: mean hamming / macro-F1 per set and pseudo-count."""
    import pandas as pd

    means = (
        pd.DataFrame(rows)
        .groupby(["shrinkage", "dataset"], sort=False)[["hamming", "macro_f1"]]
        .mean()
    )
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    lines = ["| shrinkage | " + " | ".join(datasets) + " |", "|---" * (len(datasets) + 1) + "|"]
    for shrinkage in dict.fromkeys(r["shrinkage"] for r in rows):
        cells = [
            f"{means.loc[(shrinkage, name), 'hamming']:.4f} / "
            f"{means.loc[(shrinkage, name), 'macro_f1']:.3f}"
            for name in datasets
        ]
        lines.append(f"| {shrinkage:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarise(rows):
    """Markdown: mean hamming / macro-F1 per set and candidate, and the mean ranks."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    means = frame.groupby(["dataset", "candidate"], sort=False)[
        ["hamming", "macro_f1", "fit_seconds"]
    ].mean()
    datasets = list(dict.fromkeys(frame["dataset"]))
    candidates = list(dict.fromkeys(frame["candidate"]))
    lines = ["| candidate | " + " | ".join(datasets) + " | mean rank |"]
    lines.append("|---" * (len(datasets) + 2) + "|")
    ranks = {}
    for name in datasets:
        block = means.loc[name]
        ranks[name] = (
            block["hamming"].rank(method="average") + block["macro_f1"].rank(ascending=False)
        ) / 2
    for candidate in candidates:
        cells = [
            f"{means.loc[(name, candidate), 'hamming']:.4f} / "
            f"{means.loc[(name, candidate), 'macro_f1']:.3f}"
            for name in datasets
        ]
        mean_rank = np.mean([ranks[name][candidate] for name in datasets])
        lines.append(f"| {candidate} | " + " | ".join(cells) + f" | {mean_rank:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    """Command line: ``python -m benchmarks.defaults [--quick] [--datasets ...] [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 sets, 1 fold: a smoke run")
    parser.add_argument("--datasets", nargs="+", choices=sorted(SUITE), default=list(SUITE))
    parser.add_argument("--candidates", nargs="+", choices=CANDIDATES, default=list(CANDIDATES))
    parser.add_argument(
        "--shrinkage",
        action="store_true",
        help='compare the pseudo-counts of the tuned rules\' shrinkage (threshold="f1")',
    )
    parser.add_argument("--out", type=Path, default=Path("results/defaults"))
    args = parser.parse_args(argv)
    datasets = ["tiny", "synthetic"] if args.quick else args.datasets
    max_folds = 1 if args.quick else None
    if args.shrinkage:
        rows = shrinkage_study(datasets, max_folds=max_folds)
        table, stem = summarise_shrinkage(rows), "shrinkage"
    else:
        rows = run(datasets, args.candidates, max_folds=max_folds)
        table, stem = summarise(rows), "defaults"
    args.out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    pd.DataFrame(rows).to_csv(args.out / f"{stem}.csv", index=False)
    (args.out / f"{stem}.md").write_text(table + "\n")
    print(table)
    return rows


if __name__ == "__main__":
    main()

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
``--rules`` compares decision rules for ``threshold="f1"`` on the same networks instead: the
pseudo-count ``shrinkage`` of :func:`skml.thresholds.tune_thresholds` (the rare-label
safeguard), other rules, and the headroom left to any rule (see :func:`rule_study`).
``--seeds N`` fits every candidate (with ``--rules``, the estimator whose tuning data the rules
share) with ``random_state`` 0 to N-1 on the same folds; each cell then gives its standard
deviation over seeds too, the resolution of the comparison (one seed, the default, is how the
README's rows were measured unless they say otherwise).
``--quick`` runs 2 sets with one fold each, to check the script.
"""

import argparse
import contextlib
import functools
import itertools
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import f1_score, hamming_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, StandardScaler

__all__ = ["CANDIDATES", "HEADROOM", "RULES", "SHRINKAGES", "SUITE", "main", "rule_study", "run"]


def _candidates(n_features):
    from skml.networks import MLP, Ensemble, TabM

    # The candidates measured before the embeddings became the default pin the network of
    # that time (embedding=None: features fed to the first layer as they are), so that their
    # rows in the README stay reproducible.
    plain = MLP(embedding=None)
    authors = {"embedding": "periodic", "embedding_frequencies": 48, "embedding_units": 24}
    earlier = {
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
        # The hidden layers of the default network (one of 256 units, dropout 0.2), re-examined
        # with the embeddings: a first sweep on one seed favoured these two (see the README).
        "dropout 0.35": {"network": MLP(dropout=0.35)},
        "two hidden layers of 256": {"network": MLP((256, 256))},
        # A deep ensemble: 5 default networks trained one by one, their probabilities averaged.
        "Ensemble of 5 default MLPs": {"network": Ensemble(k=5)},
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
        'two hidden layers of 256, threshold="f1"': {
            "network": MLP((256, 256)),
            "threshold": "f1",
        },
        'Ensemble of 5 default MLPs, threshold="f1"': {
            "network": Ensemble(k=5),
            "threshold": "f1",
        },
    }
    # The candidates measured before early stopping averaged the weights of the epochs after
    # the best one pin average_epochs=1 (the best epoch's weights, as then): their rows in the
    # README stay reproducible.
    pinned = {
        name: params if params.get("early_stopping") is False else {**params, "average_epochs": 1}
        for name, params in earlier.items()
    }
    averaged = {
        "weights averaged over 5 epochs (the default)": {},
        "weights averaged over 3 epochs": {"average_epochs": 3},
        "weights averaged over 8 epochs": {"average_epochs": 8},
        'weights averaged over 5 epochs (the default), threshold="f1"': {"threshold": "f1"},
        'weights averaged over 11 epochs, threshold="f1"': {
            "threshold": "f1",
            "average_epochs": 11,
        },
        'patience 20, weights averaged over 11 epochs, threshold="f1"': {
            "threshold": "f1",
            "patience": 20,
            "average_epochs": 11,
        },
        'patience 20, weights averaged over 21 epochs, threshold="f1"': {
            "threshold": "f1",
            "patience": 20,
            "average_epochs": 21,
        },
    }
    # The threshold="f1" candidates measured before the final network trained on every row
    # for the out-of-fold networks' best epoch pin final_epochs="early_stopping" (as then).
    before_all_rows = {
        name: {**params, "final_epochs": "early_stopping"} if _all_rows_applies(params) else params
        for name, params in {**pinned, **averaged}.items()
    }
    before_all_rows['final network on every row, threshold="f1"'] = {"threshold": "f1"}
    # The threshold="f1" candidates measured before the rare-label shrinkage went to
    # pseudo-count 1 pin the one they were tuned with: 10 for the first four, 3 after.
    pseudo_counts = {
        name: 10.0 if name in _SHRINKAGE_10 else 3.0
        for name, params in before_all_rows.items()
        if isinstance(params.get("threshold"), str)
    }
    before_shrinkage_1 = {
        name: {**params, "threshold_shrinkage": pseudo_counts[name]}
        if name in pseudo_counts
        else params
        for name, params in before_all_rows.items()
    }
    shrinkage_1 = {
        **before_shrinkage_1,
        'shrinkage 1, threshold="f1" (one MLP)': {"threshold": "f1"},
    }
    # The threshold="f1" candidates measured before its default network became the ensemble
    # pin the single MLP they were measured with.
    single = {
        name: {"network": MLP(), **params}
        if params.get("threshold") == "f1" and "network" not in params
        else params
        for name, params in shrinkage_1.items()
    }
    return {
        **single,
        # Tuned on the validation split (threshold_cv="validation"), where the ensemble's
        # thresholds come from member 0's predictions on its own split: one MLP or five.
        'one MLP, threshold="f1" on the validation split, shrinkage 1': {
            "network": MLP(),
            "threshold": "f1",
            "threshold_cv": "validation",
        },
        'Ensemble of 5 default MLPs, threshold="f1" on the validation split, shrinkage 1': {
            "network": Ensemble(k=5),
            "threshold": "f1",
            "threshold_cv": "validation",
        },
        # The deep ensemble again with every later default (averaging, every row, shrinkage
        # 1): the default network of threshold="f1" since it won here.
        'Ensemble of 5 default MLPs, shrinkage 1, threshold="f1" (the default)': {
            "threshold": "f1"
        },
    }


#: The threshold="f1" candidates measured with the rare-label shrinkage of the first 0.2.0
#: builds (pseudo-count 10).
_SHRINKAGE_10 = frozenset(
    {
        'threshold="f1" on the validation split',
        'threshold="f1", threshold_cv=3',
        'TabM k=8, threshold="f1"',
        'threshold="f1", no early stopping, 100 epochs (AdamW)',
    }
)


def _all_rows_applies(params):
    """Whether ``final_epochs`` applies to a candidate's fits (tuned out of fold, early
    stopping on)."""
    return (
        isinstance(params.get("threshold"), str)
        and params.get("threshold_cv") != "validation"
        and params.get("early_stopping", True)
    )


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
    "dropout 0.35",
    "two hidden layers of 256",
    "Ensemble of 5 default MLPs",
    'threshold="f1" on the validation split',
    'threshold="f1", threshold_cv=3',
    'TabM k=8, threshold="f1"',
    'threshold="f1", no early stopping, 100 epochs (AdamW)',
    'periodic embeddings, threshold="f1"',
    'auto embeddings (the default), threshold="f1"',
    'learning rate 3e-3, threshold="f1"',
    'hidden layer of 512, threshold="f1"',
    'TabM k=8 with auto embeddings, threshold="f1"',
    'two hidden layers of 256, threshold="f1"',
    'Ensemble of 5 default MLPs, threshold="f1"',
    "weights averaged over 5 epochs (the default)",
    "weights averaged over 3 epochs",
    "weights averaged over 8 epochs",
    'weights averaged over 5 epochs (the default), threshold="f1"',
    'weights averaged over 11 epochs, threshold="f1"',
    'patience 20, weights averaged over 11 epochs, threshold="f1"',
    'patience 20, weights averaged over 21 epochs, threshold="f1"',
    'final network on every row, threshold="f1"',
    'shrinkage 1, threshold="f1" (one MLP)',
    'one MLP, threshold="f1" on the validation split, shrinkage 1',
    'Ensemble of 5 default MLPs, threshold="f1" on the validation split, shrinkage 1',
    'Ensemble of 5 default MLPs, shrinkage 1, threshold="f1" (the default)',
)
#: Pseudo-counts of the rare-label shrinkage compared by ``--rules`` (1 is the default; it was 3).
SHRINKAGES = (10.0, 5.0, 3.0, 1.0, 0.0)


def _tuned(y, s, shrinkage):
    """The rule of ``threshold="f1"`` (F1, positive-ratio cap 3) with pseudo-count
    ``shrinkage``."""
    from skml.thresholds import tune_thresholds

    return tune_thresholds(y, s, shrinkage=shrinkage)


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


def _pipeline(scaler, params, seed=0):
    from skml import KerasMultiLabelClassifier

    clf = KerasMultiLabelClassifier(random_state=seed, **params)
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


def run(datasets, candidates, n_splits=3, max_folds=None, seeds=(0,), log=print):
    """One row per (set, candidate, seed, fold): hamming loss, macro-F1, seconds.

    ``seeds`` are the estimator's ``random_state`` values; the folds stay the same for all.
    """
    from skml.model_selection import MultilabelStratifiedKFold

    rows = []
    for name in datasets:
        X, y = load_training_split(name)
        settings = _candidates(X.shape[1])
        splitter = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        folds = list(splitter.split(X, y))[:max_folds]
        for candidate, seed in itertools.product(candidates, seeds):
            for fold, (train, test) in enumerate(folds):
                params = {k: clone(v, safe=False) for k, v in settings[candidate].items()}
                model = _pipeline(SUITE[name], params, seed)
                start = time.perf_counter()
                model.fit(X[train], y[train])
                seconds = time.perf_counter() - start
                pred = model.predict(X[test])
                row = {
                    "dataset": name,
                    "candidate": candidate,
                    "seed": seed,
                    "fold": fold,
                    **_scores(y[test], pred),
                    "fit_seconds": seconds,
                }
                rows.append(row)
                log(
                    f"{name:10s} {candidate:28s} seed {seed} fold {fold}: hamming "
                    f"{row['hamming']:.4f} macro-F1 {row['macro_f1']:.3f} ({seconds:.1f} s)"
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


def _shrunk(tuned, y, shrinkage, default=0.5):
    """``tuned`` thresholds pulled toward ``default`` as :func:`~skml.thresholds.tune_thresholds`
    does: weight ``m / (m + shrinkage)``, ``m`` a label's minority count in ``y``."""
    positives = y.sum(axis=0)
    minority = np.minimum(positives, len(y) - positives)
    weight = minority / (minority + shrinkage)
    return weight * tuned + (1.0 - weight) * default


def _half_best_f1(y, s):
    """Each label's best out-of-fold F1 halved (Lipton et al. 2014), shrunk with pseudo-count
    3 (the default of the study's first runs)."""
    from skml.thresholds import apply_thresholds, tune_thresholds

    best = tune_thresholds(y, s, shrinkage=0, max_positive_ratio=None)
    f1 = f1_score(y, apply_thresholds(s, best), average=None, zero_division=0)
    return _shrunk(f1 / 2.0, y, shrinkage=3.0)


def _toward_pooled(y, s):
    """Shrink (pseudo-count 3) toward the one threshold that maximises micro-F1 on all labels
    pooled."""
    from skml.thresholds import tune_thresholds

    (pooled,) = tune_thresholds(
        y.reshape(-1, 1), s.reshape(-1, 1), shrinkage=0, max_positive_ratio=None
    )
    return tune_thresholds(y, s, default=float(pooled), shrinkage=3.0)


def _bootstrap_mean(y, s, n_resamples=30):
    """The mean of the thresholds of the rule with pseudo-count 3 over bootstrap resamples of
    the rows."""
    from skml.thresholds import tune_thresholds

    rng = np.random.default_rng(0)
    resamples = (rng.integers(0, len(y), len(y)) for _ in range(n_resamples))
    tuned = (tune_thresholds(y[rows], s[rows], shrinkage=3.0) for rows in resamples)
    return np.mean(list(tuned), axis=0)


#: The decision rules of the rule study, each ``rule(y_tune, s_tune) -> thresholds``: the
#: pseudo-counts of :func:`skml.thresholds.tune_thresholds`'s ``shrinkage``, then other rules.
RULES = {
    **{f"shrinkage {count:g}": functools.partial(_tuned, shrinkage=count) for count in SHRINKAGES},
    "best F1 / 2 (Lipton et al. 2014), shrinkage 3": _half_best_f1,
    "shrinkage 3 toward the pooled micro-F1 threshold": _toward_pooled,
    "shrinkage 3, mean over 30 bootstrap resamples": _bootstrap_mean,
}
#: Not a rule: each label's best threshold on the fold's own test rows bounds what any rule
#: could reach on these networks.
HEADROOM = "headroom: thresholds tuned on the test rows"


def rule_study(datasets, rules=tuple(RULES), n_splits=3, max_folds=None, seeds=(0,), log=print):
    """One row per (set, rule, seed, fold) for ``threshold="f1"`` at the other defaults.

    Each fold fits the estimator once per seed (its ``random_state``; the same folds as
    :func:`run`). The out-of-fold
    predictions it tuned its thresholds on are recorded and tuned again with each rule of
    :data:`RULES`, and the fold's test rows are predicted with each set of thresholds: the
    rules are compared on the same networks. A last row per fold, :data:`HEADROOM`, tunes on
    the test rows themselves (pseudo-count 0, no cap): what a perfect rule would reach.
    """
    from skml.model_selection import MultilabelStratifiedKFold
    from skml.networks import MLP
    from skml.thresholds import apply_thresholds, tune_thresholds

    rows = []
    for name in datasets:
        X, y = load_training_split(name)
        splitter = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        folds = list(splitter.split(X, y))[:max_folds]
        for seed, (fold, (train, test)) in itertools.product(seeds, enumerate(folds)):
            # The single MLP the study was measured on: the default network of "f1" is now
            # an ensemble of 5, 5 times the fits for the same comparison of rules.
            model = _pipeline(SUITE[name], {"network": MLP(), "threshold": "f1"}, seed)
            calls = []
            with _recording_tuning_data(calls):
                model.fit(X[train], y[train])
            ((y_tune, s_tune),) = calls  # one tuning per fit: the final network's
            positives = y[train].sum(axis=0)
            trained = (positives > 0) & (positives < len(train))  # constant labels: no rule
            proba = model.predict_proba(X[test])
            exact = {"shrinkage": 0, "max_positive_ratio": None}
            tunings = {rule: RULES[rule](y_tune, s_tune) for rule in rules}
            tunings[HEADROOM] = tune_thresholds(y[test], proba, **exact)[trained]
            for rule, tuned in tunings.items():
                thresholds = np.array(_estimator(model).thresholds_, dtype=float)
                thresholds[trained] = tuned
                pred = apply_thresholds(proba, thresholds)
                row = {"dataset": name, "rule": rule, "seed": seed, "fold": fold}
                row.update(_scores(y[test], pred))
                rows.append(row)
                log(
                    f"{name:10s} {rule:50s} seed {seed} fold {fold}: hamming "
                    f"{row['hamming']:.4f} macro-F1 {row['macro_f1']:.3f}"
                )
    return rows


def summarise_rules(rows):
    """Markdown: mean hamming / macro-F1 per set and rule, and the rule's mean macro-F1 over
    the sets; with several seeds, ± the standard deviation over seeds of a seed's fold mean."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if "seed" not in frame:
        frame["seed"] = 0
    per_seed = frame.groupby(["rule", "dataset", "seed"], sort=False)[["hamming", "macro_f1"]]
    per_seed = per_seed.mean()
    means = per_seed.groupby(level=["rule", "dataset"], sort=False).mean()
    spread = per_seed.groupby(level=["rule", "dataset"], sort=False).std(ddof=1)
    several = frame["seed"].nunique() > 1
    datasets = list(dict.fromkeys(frame["dataset"]))
    lines = ["| rule | " + " | ".join(datasets) + " | mean macro-F1 |"]
    lines.append("|---" * (len(datasets) + 2) + "|")
    for rule in dict.fromkeys(frame["rule"]):
        cells = []
        for name in datasets:
            mean, sd = means.loc[(rule, name)], spread.loc[(rule, name)]
            cells.append(
                f"{mean['hamming']:.4f} ± {sd['hamming']:.4f} / "
                f"{mean['macro_f1']:.3f} ± {sd['macro_f1']:.3f}"
                if several
                else f"{mean['hamming']:.4f} / {mean['macro_f1']:.3f}"
            )
        overall = means.loc[rule]["macro_f1"].mean()
        lines.append(f"| {rule} | " + " | ".join(cells) + f" | {overall:.4f} |")
    return "\n".join(lines)


def summarise(rows):
    """Markdown: mean hamming / macro-F1 per set and candidate, and the mean ranks.

    With several seeds, each cell also gives the standard deviation over seeds of the
    seed's mean over folds: how far a cell moves with the estimator's ``random_state`` alone.
    """
    import pandas as pd

    frame = pd.DataFrame(rows)
    if "seed" not in frame:
        frame["seed"] = 0
    per_seed = frame.groupby(["dataset", "candidate", "seed"], sort=False)[
        ["hamming", "macro_f1"]
    ].mean()
    means = per_seed.groupby(level=["dataset", "candidate"], sort=False).mean()
    spread = per_seed.groupby(level=["dataset", "candidate"], sort=False).std(ddof=1)
    several = frame["seed"].nunique() > 1
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

    def cell(name, candidate):
        mean, sd = means.loc[(name, candidate)], spread.loc[(name, candidate)]
        if several:
            return (
                f"{mean['hamming']:.4f} ± {sd['hamming']:.4f} / "
                f"{mean['macro_f1']:.3f} ± {sd['macro_f1']:.3f}"
            )
        return f"{mean['hamming']:.4f} / {mean['macro_f1']:.3f}"

    for candidate in candidates:
        cells = [cell(name, candidate) for name in datasets]
        mean_rank = np.mean([ranks[name][candidate] for name in datasets])
        lines.append(f"| {candidate} | " + " | ".join(cells) + f" | {mean_rank:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    """Command line: ``python -m benchmarks.defaults [--quick] [--datasets ...] [--seeds N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 sets, 1 fold: a smoke run")
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=sorted(SUITE),
        default=list(SUITE),
        metavar="SET",
        help=f"sets of the suite (default: all: {', '.join(SUITE)})",
    )
    parser.add_argument(
        "--candidates",
        nargs="+",
        choices=CANDIDATES,
        default=list(CANDIDATES),
        metavar="NAME",
        help="candidate settings, quoted, by their names in benchmarks.defaults.CANDIDATES "
        "(default: all)",
    )
    parser.add_argument(
        "--rules",
        action="store_true",
        help='compare decision rules on the same networks (threshold="f1"), pseudo-counts first',
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="fit each candidate (or, with --rules, the estimator) with random_state 0, 1, ..., "
        "SEEDS-1 on the same folds",
    )
    parser.add_argument("--out", type=Path, default=Path("results/defaults"))
    args = parser.parse_args(argv)
    datasets = ["tiny", "synthetic"] if args.quick else args.datasets
    max_folds = 1 if args.quick else None
    if args.rules:
        rows = rule_study(datasets, max_folds=max_folds, seeds=range(args.seeds))
        table, stem = summarise_rules(rows), "rules"
    else:
        rows = run(datasets, args.candidates, max_folds=max_folds, seeds=range(args.seeds))
        table, stem = summarise(rows), "defaults"
    args.out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    pd.DataFrame(rows).to_csv(args.out / f"{stem}.csv", index=False)
    (args.out / f"{stem}.md").write_text(table + "\n")
    print(table)
    return rows


if __name__ == "__main__":
    main()

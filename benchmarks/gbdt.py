"""The gradient-boosting contenders (XGBoost, CatBoost, LightGBM) and the ``-f1`` variants.

Each factory takes ``random_state`` and ``quick`` like every contender (see
:mod:`benchmarks.contenders`, which registers them). The libraries are optional
(``pip install -e ".[bench]"``) and imported by the factories only. :func:`tuned_for_f1` wraps
any contender in per-label F1 threshold tuning on out-of-fold rows.
"""

from sklearn.multioutput import MultiOutputClassifier

from benchmarks.estimators import ConstantLabels, ConstantSafe

__all__ = [
    "CATBOOST_ROUNDS",
    "GBDT_LEARNING_RATE",
    "LIGHTGBM_ROUNDS",
    "TUNING_CV",
    "XGBOOST_ROUNDS",
    "make_catboost",
    "make_catboost_f1",
    "make_lightgbm",
    "make_xgboost",
    "make_xgboost_f1",
    "tuned_for_f1",
]

#: Boosting rounds of the gradient-boosting contenders (full, quick), cut from the libraries'
#: defaults (XGBoost and LightGBM 100, CatBoost 1000) to fit the benchmark's 20-minute budget
#: on 2 cores. All three run on one thread: on 2 shared cores, OpenMP threads that wait for
#: each other spin, and XGBoost with ``n_jobs=2`` took 251 s (60 CPU-s) for 20 rounds on
#: yeast's training rows against 28 s (6.4 CPU-s) with ``n_jobs=1``. Measured on bibtex's
#: training rows (4880 x 1836 sparse, 159 labels), one thread, on a busy 2-core machine:
#: XGBoost 0.6 CPU-s per round (159 trees); CatBoost's MultiLogloss over 200 s for 5
#: iterations; LightGBM, 159 boosters of 20 rounds, over 4 minutes. CatBoost, LightGBM and
#: ``catboost-f1`` therefore sit bibtex out (see ``benchmarks.contenders.CONTENDERS``); the
#: opt-in ``xgboost-f1`` (4 fits) runs it in about 31 s a fit.
XGBOOST_ROUNDS = {False: 20, True: 5}
LIGHTGBM_ROUNDS = {False: 50, True: 5}
CATBOOST_ROUNDS = {False: 100, True: 5}
#: Learning rate of all three: XGBoost's default, higher than LightGBM's (0.1) and CatBoost's
#: (about 0.1 for 1000 iterations) to make up for the fewer rounds.
GBDT_LEARNING_RATE = 0.3


def make_xgboost(random_state, quick=False):
    """XGBoost's ``XGBClassifier`` on the label matrix (one tree per label and round).

    ``tree_method="hist"``, ``n_jobs=1`` (see :data:`XGBOOST_ROUNDS` for why), no early
    stopping, :data:`XGBOOST_ROUNDS` rounds at learning rate :data:`GBDT_LEARNING_RATE`, depth 6
    (the default). XGBoost grows one tree per
    label and round, so bibtex's 159 labels make 159 trees a round; the library default of 100
    rounds would take most of the benchmark's 20-minute budget on that one data set. Constant
    label columns are predicted as their constant (:class:`ConstantLabels`). Sparse input is
    read as is (an absent entry is XGBoost's "missing", with a learnt default direction).

    Parameters
    ----------
    random_state : int
        Seed of the boosting.
    quick : bool, default=False
        5 rounds.

    Returns
    -------
    estimator : ConstantLabels
    """
    from xgboost import XGBClassifier

    return ConstantLabels(
        XGBClassifier(
            tree_method="hist",
            n_estimators=XGBOOST_ROUNDS[quick],
            learning_rate=GBDT_LEARNING_RATE,
            n_jobs=1,
            random_state=random_state,
        )
    )


def make_catboost(random_state, quick=False):
    """CatBoost's ``CatBoostClassifier(loss_function="MultiLogloss")``: one tree for all labels.

    :data:`CATBOOST_ROUNDS` iterations (the library default is 1000) at learning rate
    :data:`GBDT_LEARNING_RATE`, depth 6 (the default), ``thread_count=1``, no early stopping,
    silent. Constant label columns are predicted as their constant (:class:`ConstantLabels`).

    Parameters
    ----------
    random_state : int
        ``random_seed`` of CatBoost.
    quick : bool, default=False
        5 iterations.

    Returns
    -------
    estimator : ConstantLabels
    """
    from catboost import CatBoostClassifier

    return ConstantLabels(
        CatBoostClassifier(
            loss_function="MultiLogloss",
            iterations=CATBOOST_ROUNDS[quick],
            learning_rate=GBDT_LEARNING_RATE,
            thread_count=1,
            random_seed=random_state,
            verbose=0,
            allow_writing_files=False,
        )
    )


def make_lightgbm(random_state, quick=False):
    """LightGBM's ``LGBMClassifier``, one per label (``MultiOutputClassifier``).

    :data:`LIGHTGBM_ROUNDS` rounds at learning rate :data:`GBDT_LEARNING_RATE`, otherwise the
    defaults (31 leaves), ``n_jobs=1``, silent. A label constant in the training rows is
    predicted as its constant (:class:`ConstantSafe`).

    Parameters
    ----------
    random_state : int
        Seed of each label's booster.
    quick : bool, default=False
        5 rounds.

    Returns
    -------
    estimator : MultiOutputClassifier
    """
    from lightgbm import LGBMClassifier

    return MultiOutputClassifier(
        ConstantSafe(
            LGBMClassifier(
                n_estimators=LIGHTGBM_ROUNDS[quick],
                learning_rate=GBDT_LEARNING_RATE,
                n_jobs=1,
                random_state=random_state,
                verbose=-1,
            )
        )
    )


#: Folds of the threshold tuning of the ``-f1`` contenders (full, quick). Each fit of such a
#: contender fits its peer ``cv + 1`` times (once per fold, then on all the training rows).
TUNING_CV = {False: 3, True: 2}


def tuned_for_f1(estimator, random_state, quick):
    """``estimator`` with per-label thresholds tuned for F1 on out-of-fold rows.

    skml's ``TunedThresholdMultiLabelClassifier(scoring="f1")`` with :data:`TUNING_CV` folds
    (multi-label stratified, shuffled with ``random_state``), then a refit on all the rows.

    Parameters
    ----------
    estimator : classifier
        The unfitted contender.
    random_state : int
        Seed of the folds.
    quick : bool
        2 folds instead of 3.

    Returns
    -------
    estimator : TunedThresholdMultiLabelClassifier
    """
    from skml import TunedThresholdMultiLabelClassifier

    return TunedThresholdMultiLabelClassifier(
        estimator, scoring="f1", cv=TUNING_CV[quick], random_state=random_state
    )


def make_xgboost_f1(random_state, quick=False):
    """:func:`make_xgboost` with per-label thresholds tuned for F1 (see :func:`tuned_for_f1`).

    Parameters
    ----------
    random_state : int
        Seed of the boosting and of the folds.
    quick : bool, default=False
        5 rounds, 2 folds.

    Returns
    -------
    estimator : TunedThresholdMultiLabelClassifier
    """
    return tuned_for_f1(make_xgboost(random_state, quick), random_state, quick)


def make_catboost_f1(random_state, quick=False):
    """:func:`make_catboost` with per-label thresholds tuned for F1 (see :func:`tuned_for_f1`).

    Parameters
    ----------
    random_state : int
        Seed of the boosting and of the folds.
    quick : bool, default=False
        5 iterations, 2 folds.

    Returns
    -------
    estimator : TunedThresholdMultiLabelClassifier
    """
    return tuned_for_f1(make_catboost(random_state, quick), random_state, quick)

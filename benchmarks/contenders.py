"""The contenders: one factory per method, each returning an unfitted estimator.

Every factory takes ``random_state`` (the run's seed) and ``quick`` (shrink training for the
smoke run: fewer epochs, trees, iterations and chains) and returns an estimator whose
``fit(X, y)`` takes a 0/1 label matrix and whose ``predict(X)`` returns one. Features are
standardised in a pipeline for the methods that need it (logistic regression, the MLPs,
nearest neighbours; sparse features, bibtex's word indicators, are scaled by their maximum
absolute value instead, which keeps them sparse); the forests and boosted trees take them as
they are. Everything else is the library's default, so each method runs as a user would get
it, except the gradient-boosting contenders (:mod:`benchmarks.gbdt`), whose sizes are cut to
fit the benchmark's time budget.

The gradient-boosting contenders need optional libraries (``pip install -e ".[bench]"``); a
contender whose library is missing is skipped with a note, see :meth:`Contender.available`.

A contender reads a 2-D ``X`` (``input="tabular"``; image data sets are flattened for it) or
the images themselves (``input="image"``; skipped on data sets without images): ``skml-cnn``,
skml's built-in CNN with its defaults, reads the digits' 32x32 canvases as they come (values in
[0, 1], no scaling).

:func:`make_fixed_mlp` is the speed benchmark's contender: one network, trained alike by skml,
scikit-learn and scikeras.
"""

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from benchmarks.estimators import ChainEnsemble, ConstantSafe, Resampled, Scaler
from benchmarks.gbdt import (
    CATBOOST_ROUNDS,
    GBDT_LEARNING_RATE,
    LIGHTGBM_ROUNDS,
    TUNING_CV,
    XGBOOST_ROUNDS,
    make_catboost,
    make_catboost_f1,
    make_lightgbm,
    make_xgboost,
    make_xgboost_f1,
    tuned_for_f1,
)
from benchmarks.mlknn import MLkNN

__all__ = [
    "CATBOOST_ROUNDS",
    "CONTENDERS",
    "FIXED_MLP_LIBRARIES",
    "FIXED_TABM_K",
    "GBDT_LEARNING_RATE",
    "LIGHTGBM_ROUNDS",
    "TUNING_CV",
    "TUTORIAL_EPOCHS",
    "XGBOOST_ROUNDS",
    "Contender",
    "build_tutorial_mlp",
    "make_binary_relevance",
    "make_catboost",
    "make_catboost_f1",
    "make_chain_ensemble",
    "make_classifier_chain",
    "make_fixed_mlp",
    "make_lightgbm",
    "make_mlknn",
    "make_random_forest",
    "make_random_forest_f1",
    "make_scikeras_mlp",
    "make_skml",
    "make_skml_cnn",
    "make_skml_ensemble",
    "make_skml_f1",
    "make_skml_mlp",
    "make_skml_tabm_f1",
    "make_sklearn_mlp",
    "make_xgboost",
    "make_xgboost_f1",
]

#: Epochs of the scikeras tutorial network: the count of the Keras multi-label tutorials
#: (e.g. "Multi-Label Classification with Deep Learning", Machine Learning Mastery), trained
#: to the end, without early stopping.
TUTORIAL_EPOCHS = 100
_QUICK_EPOCHS = 5


@dataclass(frozen=True)
class Contender:
    """A method of the benchmark.

    Parameters
    ----------
    name : str
        Short name, used on the command line and in the results.
    factory : callable
        ``factory(random_state, quick=False)`` returning an unfitted estimator.
    description : str
        One line for ``--list`` and the report.
    input : {"tabular", "image"}, default="tabular"
        Whether the estimator reads 2-D features or images of shape (n, h, w, c).
    requires : str or None, default=None
        Module of an optional library the contender needs (e.g. ``"xgboost"``).
    not_on : dict of str to str, default={}
        Data sets the contender sits out, each with the reason (printed with the results).
    default : bool, default=True
        Whether a run without ``--methods`` includes it; False for the costliest contenders,
        which run when named.
    """

    name: str
    factory: Callable
    description: str
    input: str = "tabular"
    requires: str | None = None
    not_on: dict = field(default_factory=dict)
    default: bool = True

    def available(self):
        """Whether the contender's optional library (if any) can be imported.

        Returns
        -------
        available : bool
        """
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


def _skml_defaults():
    """skml's default hidden layer sizes and batch size."""
    from skml import KerasMultiLabelClassifier
    from skml.networks import MLP

    return {
        "hidden_layer_sizes": MLP().hidden_layer_sizes,
        "batch_size": KerasMultiLabelClassifier().batch_size,
    }


def _logistic_regression(random_state):
    # scikit-learn's defaults (lbfgs, C=1, max_iter=100), as in its classifier-chain example;
    # a higher max_iter takes minutes per label on the 1024 pixels of the digits.
    return ConstantSafe(LogisticRegression(random_state=random_state))


def make_skml(random_state, quick=False, *, resampler=None, **params):
    """skml's ``KerasMultiLabelClassifier`` with its defaults, behind a ``Scaler``.

    Parameters
    ----------
    random_state : int
        Seed of the network (and of the resampler).
    quick : bool, default=False
        Train for at most 5 epochs.
    resampler : class or None, default=None
        A resampler such as ``skml.resampling.MLSMOTE``: ``resampler(random_state=...)``
        resamples the scaled training rows before the classifier fits them
        (:class:`~benchmarks.estimators.Resampled`).
    **params
        Parameters of the classifier that differ from its defaults.

    Returns
    -------
    estimator : Pipeline
    """
    from skml import KerasMultiLabelClassifier

    if quick:
        params.setdefault("epochs", _QUICK_EPOCHS)
    classifier = KerasMultiLabelClassifier(random_state=random_state, **params)
    if resampler is not None:
        classifier = Resampled(resampler(random_state=random_state), classifier)
    return make_pipeline(Scaler(), classifier)


def make_skml_f1(random_state, quick=False):
    """skml with per-label thresholds tuned for F1 (``threshold="f1"``: out-of-fold, 3 folds),
    on that rule's default network (``Ensemble()``: 5 default MLPs averaged).

    Parameters
    ----------
    random_state : int
        Seed of the network.
    quick : bool, default=False
        Train for at most 5 epochs.

    Returns
    -------
    estimator : Pipeline
    """
    return make_skml(random_state, quick, threshold="f1")


def make_skml_tabm_f1(random_state, quick=False):
    """skml with ``network=TabM()`` and ``threshold="f1"`` (out-of-fold, 3 folds).

    It beat the earlier MLP (no feature embeddings) with tuned thresholds on the development
    suite (README, "How the defaults were chosen"); the default MLP with embeddings beats it
    there now, so it is opt-in.

    Parameters
    ----------
    random_state : int
        Seed of the network.
    quick : bool, default=False
        Train for at most 5 epochs.

    Returns
    -------
    estimator : Pipeline
    """
    from skml.networks import TabM

    return make_skml(random_state, quick, network=TabM(), threshold="f1")


def make_skml_ensemble(random_state, quick=False):
    """skml with ``network=Ensemble()``: 5 default MLPs trained one by one, averaged, at
    threshold 0.5 (under ``threshold="f1"`` they are the default network: ``skml-f1``).

    Parameters
    ----------
    random_state : int
        Seed of the networks.
    quick : bool, default=False
        Train for at most 5 epochs.

    Returns
    -------
    estimator : Pipeline
    """
    from skml.networks import Ensemble

    return make_skml(random_state, quick, network=Ensemble())


def make_skml_cnn(random_state, quick=False):
    """skml's ``KerasMultiLabelClassifier(network=CNN())`` with its defaults, on images.

    The defaults: three convolution blocks of 16, 32 and 64 filters (batch norm, ReLU, 2x2 max
    pooling), global max pooling, a dense head of 256 units and early stopping on a stratified
    validation split. The images go in unscaled: the canvases are already in [0, 1] and the
    blocks normalise their batches.

    Parameters
    ----------
    random_state : int
        Seed of the network.
    quick : bool, default=False
        Train for at most 5 epochs.

    Returns
    -------
    estimator : KerasMultiLabelClassifier
    """
    from skml import KerasMultiLabelClassifier
    from skml.networks import CNN

    params = {"epochs": _QUICK_EPOCHS} if quick else {}
    return KerasMultiLabelClassifier(network=CNN(), random_state=random_state, **params)


def make_classifier_chain(random_state, quick=False):
    """One classifier chain of logistic regressions, labels in their given order.

    Parameters
    ----------
    random_state : int
        Seed of the logistic regressions.
    quick : bool, default=False
        Unused: a chain is already fast.

    Returns
    -------
    estimator : Pipeline
    """
    return make_pipeline(
        Scaler(),
        ClassifierChain(_logistic_regression(random_state), random_state=random_state),
    )


def make_chain_ensemble(random_state, quick=False):
    """Ten classifier chains of logistic regressions in random orders, probabilities averaged.

    Parameters
    ----------
    random_state : int
        Seed of the label orders.
    quick : bool, default=False
        Three chains instead of ten.

    Returns
    -------
    estimator : Pipeline
    """
    return make_pipeline(
        Scaler(),
        ChainEnsemble(
            _logistic_regression(random_state),
            n_chains=3 if quick else 10,
            random_state=random_state,
        ),
    )


def make_random_forest(random_state, quick=False):
    """scikit-learn's ``RandomForestClassifier``, which fits a label matrix natively.

    Parameters
    ----------
    random_state : int
        Seed of the forest.
    quick : bool, default=False
        20 trees instead of 100.

    Returns
    -------
    estimator : RandomForestClassifier
    """
    return RandomForestClassifier(n_estimators=20 if quick else 100, random_state=random_state)


def make_binary_relevance(random_state, quick=False):
    """Binary relevance: one logistic regression per label (``MultiOutputClassifier``).

    Parameters
    ----------
    random_state : int
        Seed of the logistic regressions.
    quick : bool, default=False
        Unused: binary relevance is already fast.

    Returns
    -------
    estimator : Pipeline
    """
    return make_pipeline(Scaler(), MultiOutputClassifier(_logistic_regression(random_state)))


def make_sklearn_mlp(random_state, quick=False):
    """scikit-learn's ``MLPClassifier`` (multi-label natively), defaults, no early stopping.

    Its ``early_stopping=True`` holds out an unstratified 10% and can stop after the first
    epochs on small, wide data sets, so the default (off, 200 iterations) is kept.

    Parameters
    ----------
    random_state : int
        Seed of the weights and batches.
    quick : bool, default=False
        At most 20 iterations.

    Returns
    -------
    estimator : Pipeline
    """
    return make_pipeline(
        Scaler(),
        MLPClassifier(
            max_iter=20 if quick else 200, early_stopping=False, random_state=random_state
        ),
    )


def build_tutorial_mlp(meta, hidden_units):
    """The network of the Keras multi-label tutorials: one ReLU layer, one sigmoid per label.

    Parameters
    ----------
    meta : dict
        scikeras' fit metadata (``n_features_in_``, ``n_classes_``).
    hidden_units : int
        Units of the hidden layer.

    Returns
    -------
    model : keras.Model
        Uncompiled; scikeras compiles it with the wrapper's ``loss`` and ``optimizer``.
    """
    import keras

    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(hidden_units, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="sigmoid"),
        ]
    )


def make_scikeras_mlp(random_state, quick=False):
    """A scikeras ``KerasClassifier`` around the tutorial network, trained as tutorials do.

    Hidden size and batch size are skml's defaults, so the two networks differ in training
    (a fixed :data:`TUTORIAL_EPOCHS` epochs, no early stopping, no dropout or L2) rather than
    in size. Thresholds are scikeras' 0.5.

    Parameters
    ----------
    random_state : int
        Seed of scikeras' fit.
    quick : bool, default=False
        5 epochs.

    Returns
    -------
    estimator : Pipeline
    """
    from scikeras.wrappers import KerasClassifier

    defaults = _skml_defaults()
    return make_pipeline(
        Scaler(),
        KerasClassifier(
            model=build_tutorial_mlp,
            model__hidden_units=int(defaults["hidden_layer_sizes"][0]),
            loss="binary_crossentropy",
            optimizer="adam",
            epochs=_QUICK_EPOCHS if quick else TUTORIAL_EPOCHS,
            batch_size=defaults["batch_size"],
            verbose=0,
            random_state=random_state,
        ),
    )


#: Libraries of :func:`make_fixed_mlp`, in the speed report's order.
FIXED_MLP_LIBRARIES = (
    "skml",
    "skml-tabm",
    "skml-embedded",
    "skml-ensemble",
    "sklearn",
    "scikeras",
)

#: Members of the speed benchmark's ensemble network (TabM's default).
FIXED_TABM_K = 8
#: Members of the speed benchmark's deep ensemble (Ensemble's default).
FIXED_ENSEMBLE_K = 5


def make_fixed_mlp(library, *, hidden_units, epochs, batch_size, random_state=0):
    """One network, trained alike by skml, scikit-learn or scikeras: the speed contender.

    One ReLU hidden layer, one sigmoid unit per label, Adam at 1e-3, no dropout, no weight
    penalty, no feature embeddings, no early stopping: every epoch runs. No scaler: the speed
    benchmark's features are already standard.

    Parameters
    ----------
    library : {"skml", "skml-tabm", "skml-embedded", "skml-ensemble", "sklearn", "scikeras"}
        ``KerasMultiLabelClassifier`` (``"skml-tabm"``: with ``network=TabM(k=8)``, the same
        hidden layer shared by 8 members with their own scalings and output layers;
        ``"skml-embedded"``: the default network's periodic feature embeddings,
        ``embedding="auto"``, before the same hidden layer; ``"skml-ensemble"``:
        ``network=Ensemble(k=5)`` of the plain network, 5 of them trained one by one),
        ``MLPClassifier`` or a scikeras
        ``KerasClassifier`` around :func:`build_tutorial_mlp`.
    hidden_units : int
        Units of the hidden layer.
    epochs, batch_size : int
        Training length and batch size.
    random_state : int, default=0
        Seed of skml's and scikit-learn's networks. Not given to scikeras, whose
        ``random_state`` switches on TensorFlow's global op determinism (slower ops).

    Returns
    -------
    estimator : classifier
    """
    if library in ("skml", "skml-tabm", "skml-embedded", "skml-ensemble"):
        from skml import KerasMultiLabelClassifier
        from skml.networks import MLP, Ensemble, TabM

        layers = {"hidden_layer_sizes": (hidden_units,), "dropout": 0.0, "l2": 0.0}
        network = {
            "skml": lambda: MLP(**layers, embedding=None),  # the same network as the others
            "skml-tabm": lambda: TabM(FIXED_TABM_K, **layers),
            "skml-embedded": lambda: MLP(**layers, embedding="auto"),
            "skml-ensemble": lambda: Ensemble(MLP(**layers, embedding=None), FIXED_ENSEMBLE_K),
        }[library]()
        return KerasMultiLabelClassifier(
            network=network,
            epochs=epochs,
            batch_size=batch_size,
            early_stopping=False,
            random_state=random_state,
        )
    if library == "sklearn":
        return MLPClassifier(
            (hidden_units,),
            alpha=0.0,
            batch_size=batch_size,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=epochs + 1,  # every epoch runs, as in the other two
            random_state=random_state,
        )
    if library == "scikeras":
        from scikeras.wrappers import KerasClassifier

        return KerasClassifier(
            build_tutorial_mlp,
            model__hidden_units=hidden_units,
            loss="binary_crossentropy",
            optimizer="adam",
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
        )
    raise ValueError(f"Unknown library {library!r}; choose from {FIXED_MLP_LIBRARIES}.")


_BIBTEX_TOO_SLOW = (
    "too slow for the time budget on 159 labels (measured: {what}, see benchmarks/gbdt.py)"
)
#: Gradient boosting on digits' 1,024 flattened pixels took catboost 156 s, lightgbm 23 s and
#: xgboost 20 s a fit (one seed, 2 cores): 10 minutes for 3 seeds, which put the default run
#: over its 20 minutes. The image set compares the CNN with the MLPs and the flat baselines.
_DIGITS_TOO_SLOW = "gradient boosting on 1,024 flattened pixels; measured {what} a fit"


def make_random_forest_f1(random_state, quick=False):
    """:func:`make_random_forest` with per-label thresholds tuned for F1 on out-of-fold rows
    (:func:`benchmarks.gbdt.tuned_for_f1`).

    Parameters
    ----------
    random_state : int
        Seed of the forest and of the folds.
    quick : bool, default=False
        20 trees, 2 folds.

    Returns
    -------
    estimator : TunedThresholdMultiLabelClassifier
    """
    return tuned_for_f1(make_random_forest(random_state, quick), random_state, quick)


def _to_dense(X):
    return X.toarray() if hasattr(X, "toarray") else X


def make_mlknn(random_state, quick=False):
    """ML-kNN with k=10 and Laplace smoothing, on standardised features.

    Parameters
    ----------
    random_state : int
        Unused: ML-kNN is deterministic.
    quick : bool, default=False
        Unused.

    Sparse features (bibtex) are scaled, then densified for the benchmark's ML-kNN, which
    reads dense arrays only (7395 x 1836 float64 is 109 MB).

    Returns
    -------
    estimator : Pipeline
    """
    return make_pipeline(
        Scaler(), FunctionTransformer(_to_dense, accept_sparse=True), MLkNN(k=10, s=1.0)
    )


def make_skml_mlp(random_state, quick=False, threshold=0.5, **network):
    """skml with ``network=MLP(**network)``: the opt-in variants of the default network.

    Parameters
    ----------
    random_state : int
        Seed of the network.
    quick : bool, default=False
        Train for at most 5 epochs.
    threshold : float or str, default=0.5
        The estimator's ``threshold`` (``"f1"`` for the ``-f1`` contenders).
    **network
        Parameters of :class:`skml.networks.MLP`.

    Returns
    -------
    estimator : Pipeline
    """
    from skml.networks import MLP

    return make_skml(random_state, quick, network=MLP(**network), threshold=threshold)


#: The embeddings at their authors' sizes (``skml-periodic``) and none (``skml-plain``).
_AUTHORS_EMBEDDINGS = {"embedding": "periodic", "embedding_frequencies": 48, "embedding_units": 24}
_NO_EMBEDDINGS = {"embedding": None}
_TOO_WIDE = {"bibtex": "embedding all 1836 features would take a 44,000-wide first layer"}

#: All contenders, by name, in report order.
CONTENDERS = {
    c.name: c
    for c in (
        Contender("skml", make_skml, "skml KerasMultiLabelClassifier, defaults"),
        Contender(
            "skml-f1",
            make_skml_f1,
            'skml with threshold="f1" (per-label tuned; its default network, 5 MLPs averaged)',
        ),
        Contender(
            "skml-tabm-f1",
            make_skml_tabm_f1,
            'skml with network=TabM(), threshold="f1" (opt-in: --methods)',
            default=False,
        ),
        Contender(
            "skml-ensemble",
            make_skml_ensemble,
            "skml with network=Ensemble(): 5 default MLPs averaged (opt-in: --methods)",
            default=False,
        ),
        Contender(
            "skml-mlp-f1",
            partial(make_skml_mlp, threshold="f1"),
            'skml with network=MLP(), threshold="f1": one network, the default of earlier '
            "builds (opt-in: --methods)",
            default=False,
        ),
        Contender(
            "skml-periodic",
            partial(make_skml_mlp, **_AUTHORS_EMBEDDINGS),
            "skml with periodic embeddings at the authors' sizes (opt-in: --methods)",
            not_on=_TOO_WIDE,
            default=False,
        ),
        Contender(
            "skml-periodic-f1",
            partial(make_skml_mlp, threshold="f1", **_AUTHORS_EMBEDDINGS),
            'skml with periodic embeddings at the authors\' sizes, threshold="f1" '
            "(opt-in: --methods)",
            not_on=_TOO_WIDE,
            default=False,
        ),
        Contender(
            "skml-plain",
            partial(make_skml_mlp, **_NO_EMBEDDINGS),
            "skml with network=MLP(embedding=None): no embeddings (opt-in: --methods)",
            default=False,
        ),
        Contender(
            "skml-plain-f1",
            partial(make_skml_mlp, threshold="f1", **_NO_EMBEDDINGS),
            'skml with network=MLP(embedding=None), threshold="f1" (opt-in: --methods)',
            default=False,
        ),
        Contender(
            "skml-cnn",
            make_skml_cnn,
            "skml with network=CNN(), defaults (images only)",
            input="image",
        ),
        Contender("br-lr", make_binary_relevance, "binary relevance, logistic regression"),
        Contender("cc-lr", make_classifier_chain, "classifier chain, logistic regression"),
        Contender("ecc-lr", make_chain_ensemble, "10 random-order chains, averaged"),
        Contender("rf", make_random_forest, "random forest (native multi-label)"),
        Contender("mlknn", make_mlknn, "ML-kNN, k=10, s=1"),
        Contender("sk-mlp", make_sklearn_mlp, "scikit-learn MLPClassifier, defaults"),
        Contender("scikeras-mlp", make_scikeras_mlp, "scikeras KerasClassifier, tutorial MLP"),
        Contender(
            "xgboost",
            make_xgboost,
            f"XGBClassifier, hist, {XGBOOST_ROUNDS[False]} rounds (native multi-label)",
            requires="xgboost",
            not_on={"digits": _DIGITS_TOO_SLOW.format(what="20 s")},
        ),
        Contender(
            "catboost",
            make_catboost,
            f"CatBoostClassifier, MultiLogloss, {CATBOOST_ROUNDS[False]} iterations",
            requires="catboost",
            not_on={
                "bibtex": _BIBTEX_TOO_SLOW.format(what="over 200 s for 5 iterations"),
                "digits": _DIGITS_TOO_SLOW.format(what="156 s"),
            },
        ),
        Contender(
            "rf-f1",
            make_random_forest_f1,
            "random forest, per-label F1 thresholds (3-fold)",
            not_on={"bibtex": _BIBTEX_TOO_SLOW.format(what="4 forests of about 80 s per fit")},
        ),
        Contender(
            "xgboost-f1",
            make_xgboost_f1,
            "xgboost, per-label F1 thresholds (3-fold; opt-in: --methods)",
            requires="xgboost",
            default=False,
        ),
        Contender(
            "catboost-f1",
            make_catboost_f1,
            "catboost, per-label F1 thresholds (3-fold; opt-in: --methods)",
            requires="catboost",
            default=False,
            not_on={"bibtex": _BIBTEX_TOO_SLOW.format(what="over 200 s for 5 iterations")},
        ),
        Contender(
            "lightgbm",
            make_lightgbm,
            f"LGBMClassifier per label, {LIGHTGBM_ROUNDS[False]} rounds",
            requires="lightgbm",
            not_on={
                "bibtex": _BIBTEX_TOO_SLOW.format(what="over 4 min for 20 rounds"),
                "digits": _DIGITS_TOO_SLOW.format(what="23 s"),
            },
        ),
    )
}

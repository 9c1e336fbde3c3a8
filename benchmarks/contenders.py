"""The contenders: one factory per method, each returning an unfitted estimator.

Every factory takes ``random_state`` (the run's seed) and ``quick`` (shrink training for the
smoke run: fewer epochs, trees, iterations and chains) and returns an estimator whose
``fit(X, y)`` takes a 0/1 label matrix and whose ``predict(X)`` returns one. Features are
standardised in a pipeline for the methods that need it (logistic regression, the MLPs,
nearest neighbours); the random forest takes them as they are. Everything else is the
library's default, so each method runs as a user would get it.

A contender reads a 2-D ``X`` (``input="tabular"``; image data sets are flattened for it) or
the images themselves (``input="image"``; skipped on data sets without images): ``skml-cnn``,
skml's built-in CNN with its defaults, reads the digits' 32x32 canvases as they come (values in
[0, 1], no scaling).
"""

from collections.abc import Callable
from dataclasses import dataclass

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.estimators import ChainEnsemble, ConstantSafe
from benchmarks.mlknn import MLkNN

__all__ = [
    "CONTENDERS",
    "TUTORIAL_EPOCHS",
    "Contender",
    "build_tutorial_mlp",
    "make_binary_relevance",
    "make_chain_ensemble",
    "make_classifier_chain",
    "make_mlknn",
    "make_random_forest",
    "make_scikeras_mlp",
    "make_skml",
    "make_skml_cnn",
    "make_skml_f1",
    "make_sklearn_mlp",
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
    """

    name: str
    factory: Callable
    description: str
    input: str = "tabular"


def _skml_defaults():
    from skml import KerasMultiLabelClassifier

    return KerasMultiLabelClassifier().get_params()


def _logistic_regression(random_state):
    # scikit-learn's defaults (lbfgs, C=1, max_iter=100), as in its classifier-chain example;
    # a higher max_iter takes minutes per label on the 1024 pixels of the digits.
    return ConstantSafe(LogisticRegression(random_state=random_state))


def make_skml(random_state, quick=False, **params):
    """skml's ``KerasMultiLabelClassifier`` with its defaults, behind a ``StandardScaler``.

    Parameters
    ----------
    random_state : int
        Seed of the network.
    quick : bool, default=False
        Train for at most 5 epochs.
    **params
        Parameters of the classifier that differ from its defaults.

    Returns
    -------
    estimator : Pipeline
    """
    from skml import KerasMultiLabelClassifier

    if quick:
        params.setdefault("epochs", _QUICK_EPOCHS)
    return make_pipeline(
        StandardScaler(), KerasMultiLabelClassifier(random_state=random_state, **params)
    )


def make_skml_f1(random_state, quick=False):
    """skml with per-label thresholds tuned for F1 on its validation split (``threshold="f1"``).

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


def make_skml_cnn(random_state, quick=False):
    """skml's ``KerasMultiLabelClassifier(architecture="cnn")`` with its defaults, on images.

    The defaults: three convolution blocks of 16, 32 and 64 filters (batch norm, ReLU, 2x2 max
    pooling), global max pooling, the dense head ``hidden_layer_sizes`` and early stopping on
    a stratified validation split. The images go in unscaled: the canvases are already in
    [0, 1] and the blocks normalise their batches.

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

    params = {"epochs": _QUICK_EPOCHS} if quick else {}
    return KerasMultiLabelClassifier(architecture="cnn", random_state=random_state, **params)


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
        StandardScaler(),
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
        StandardScaler(),
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
    return make_pipeline(
        StandardScaler(), MultiOutputClassifier(_logistic_regression(random_state))
    )


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
        StandardScaler(),
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
        StandardScaler(),
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


def make_mlknn(random_state, quick=False):
    """ML-kNN with k=10 and Laplace smoothing, on standardised features.

    Parameters
    ----------
    random_state : int
        Unused: ML-kNN is deterministic.
    quick : bool, default=False
        Unused.

    Returns
    -------
    estimator : Pipeline
    """
    return make_pipeline(StandardScaler(), MLkNN(k=10, s=1.0))


#: All contenders, by name, in report order.
CONTENDERS = {
    c.name: c
    for c in (
        Contender("skml", make_skml, "skml KerasMultiLabelClassifier, defaults"),
        Contender("skml-f1", make_skml_f1, 'skml with threshold="f1" (per-label tuned)'),
        Contender(
            "skml-cnn",
            make_skml_cnn,
            'skml with architecture="cnn", defaults (images only)',
            input="image",
        ),
        Contender("br-lr", make_binary_relevance, "binary relevance, logistic regression"),
        Contender("cc-lr", make_classifier_chain, "classifier chain, logistic regression"),
        Contender("ecc-lr", make_chain_ensemble, "10 random-order chains, averaged"),
        Contender("rf", make_random_forest, "random forest (native multi-label)"),
        Contender("mlknn", make_mlknn, "ML-kNN, k=10, s=1"),
        Contender("sk-mlp", make_sklearn_mlp, "scikit-learn MLPClassifier, defaults"),
        Contender("scikeras-mlp", make_scikeras_mlp, "scikeras KerasClassifier, tutorial MLP"),
    )
}

"""Export: a SavedModel that predicts without skml installed."""

import contextlib
import json
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skml import KerasMultiLabelClassifier
from tests.conftest import FAST

# Run in a fresh interpreter where importing skml is impossible.
_LOAD_WITHOUT_SKML = """
import sys
sys.modules["skml"] = None  # any import of skml now raises ImportError
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
X = np.load(sys.argv[2]).astype("float32")
np.save(sys.argv[3], model.serve(tf.constant(X)).numpy())
assert not any(name.startswith("skml.") for name in sys.modules)
"""


def _load_elsewhere(path, X, tmp_path):
    np.save(tmp_path / "X.npy", X)
    out = tmp_path / "proba.npy"
    subprocess.run(
        [sys.executable, "-c", _LOAD_WITHOUT_SKML, str(path), str(tmp_path / "X.npy"), str(out)],
        check=True,
    )
    return np.load(out)


@pytest.mark.parametrize("kind", ["multilabel", "constant_label", "binary"])
def test_export_predicts_same_proba_without_skml(kind, multilabel_data, tmp_path):
    X, y = multilabel_data
    if kind == "constant_label":
        y = y.copy()
        y[:, 1] = 0
    if kind == "binary":
        y = y[:, 0]
    expect_warning = pytest.warns(UserWarning, match="constant")
    with expect_warning if kind == "constant_label" else contextlib.nullcontext():
        clf = KerasMultiLabelClassifier(**FAST, threshold=0.4).fit(X, y)
    path = clf.export(tmp_path / "model")
    assert_allclose(_load_elsewhere(path, X, tmp_path), clf.predict_proba(X), atol=1e-6)
    meta = json.loads((path / "skml.json").read_text())
    assert meta["n_features_in"] == X.shape[1]
    assert_allclose(meta["thresholds"], clf.thresholds_)


def test_export_before_fit(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        KerasMultiLabelClassifier().export(tmp_path / "model")

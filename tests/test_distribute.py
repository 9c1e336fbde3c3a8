"""Multi-device training: a real MirroredStrategy over two logical CPU devices."""

import subprocess
import sys

import pytest

# The CPU is split into two logical devices in a fresh interpreter, so this test session's
# TensorFlow keeps its own device configuration.
_SCRIPT = """
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
from sklearn.datasets import make_multilabel_classification

from skml import KerasMultiLabelClassifier
from skml.networks import MLP

X, y = make_multilabel_classification(n_samples=200, n_features=10, n_classes=4,
                                      random_state=0)
params = dict(network=MLP(hidden_layer_sizes=(16,), dropout=0.0), epochs=5, batch_size=32,
              early_stopping=False, random_state=0)


def two_cpus():
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


strategy = two_cpus()
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
mirrored = KerasMultiLabelClassifier(distribute_strategy=two_cpus, **params).fit(X, y)
single = KerasMultiLabelClassifier(**params).fit(X, y)
diff = np.abs(mirrored.predict_proba(X) - single.predict_proba(X)).max()
print("max abs difference", diff)
assert diff < 1e-4, diff
assert mirrored.history_["loss"][-1] < mirrored.history_["loss"][0]
"""


@pytest.mark.slow
def test_mirrored_strategy_matches_single_device():
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "max abs difference" in result.stdout


def test_bad_strategy_named():
    import numpy as np

    from skml import KerasMultiLabelClassifier

    X, y = np.zeros((20, 3)), np.tile([[0, 1], [1, 0]], (10, 1))
    with pytest.raises(TypeError, match="distribute_strategy must be"):
        KerasMultiLabelClassifier(distribute_strategy=lambda: "gpu", epochs=1).fit(X, y)

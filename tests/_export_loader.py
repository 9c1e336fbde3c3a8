"""Load exported models as a service would: plain TensorFlow, skml impossible to import.

Run as a script, never imported by the tests:
``python _export_loader.py MODEL_DIR X.npy OUT.npz [MODEL_DIR X.npy OUT.npz ...]``.
For each model it writes ``proba`` (the ``serve`` outputs for ``X`` as float32) and
``input_shape`` (the ``serve`` signature, -1 for the batch dimension) to ``OUT.npz``.
"""

import importlib.abc
import sys


class _BlockSkml(importlib.abc.MetaPathFinder):
    """Refuse every ``import skml``, even though the package is installed in this environment."""

    def find_spec(self, name, path=None, target=None):
        if name == "skml" or name.startswith("skml."):
            raise ImportError(f"{name} is blocked: the export must load without skml")
        return None


def main(args):
    sys.meta_path.insert(0, _BlockSkml())
    try:
        import skml  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("skml is still importable: the check would prove nothing")

    import numpy as np
    import tensorflow as tf

    for model_dir, x_file, out_file in zip(args[0::3], args[1::3], args[2::3]):
        model = tf.saved_model.load(model_dir)
        (spec,), _ = model.serve.concrete_functions[0].structured_input_signature
        X = np.load(x_file).astype(np.float32)
        proba = model.serve(tf.constant(X)).numpy()
        shape = [-1 if d is None else d for d in spec.shape.as_list()]
        np.savez(out_file, proba=proba, input_shape=np.array(shape))
    assert not any(name == "skml" or name.startswith("skml.") for name in sys.modules)


if __name__ == "__main__":
    main(sys.argv[1:])

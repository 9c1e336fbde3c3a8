"""The skml.datasets package: its public names, and an import that stays cheap."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import skml.datasets

REPO_ROOT = Path(__file__).parents[1]


def test_public_names():
    assert sorted(skml.datasets.__all__) == [
        "load_arff",
        "load_bibtex",
        "load_emotions",
        "load_image_folder",
        "load_scene",
        "load_yeast",
        "make_multilabel_digits",
    ]


@pytest.mark.slow  # a fresh interpreter importing scikit-learn and pandas: seconds
def test_import_loads_neither_tensorflow_nor_pillow():
    code = (
        "import sys, skml.datasets; "
        "bad = [m for m in ('tensorflow', 'keras', 'PIL') if m in sys.modules]; "
        "assert not bad, bad"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *sys.path])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)

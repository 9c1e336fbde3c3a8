"""Multi-label data sets: bundled MULAN benchmarks, ARFF and image-folder readers, generators.

Importing this module is cheap: it never imports TensorFlow, and Pillow is only imported by
:func:`load_image_folder`.
"""

from skml.datasets._arff import load_arff
from skml.datasets._digits import make_multilabel_digits
from skml.datasets._images import load_image_folder
from skml.datasets._mulan import load_bibtex, load_emotions, load_scene, load_yeast

__all__ = [
    "load_arff",
    "load_bibtex",
    "load_emotions",
    "load_image_folder",
    "load_scene",
    "load_yeast",
    "make_multilabel_digits",
]

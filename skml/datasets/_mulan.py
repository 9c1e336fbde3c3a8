"""The MULAN benchmark data sets yeast, emotions, scene and bibtex, bundled with skml.

Bundled format
--------------
Each data set is one ``data/<name>.npz`` file, built from MULAN's original train and test ARFF
files and label XML by ``python -m skml.datasets._build_bundled ../shared/datasets`` (run from
the repository root), which checks the source files' sizes and SHA-256 against
``PROVENANCE.md`` and checks that the decoded arrays equal the parsed ARFF exactly.

Why this format: every feature value in these ARFF files is a plain decimal with at most six
digits after the point. Such a value is stored exactly as an integer mantissa ``m`` and a
per-column number of decimals ``d``: ``m / 10.0**d`` is the correctly rounded division of two
exactly representable numbers, hence the very float64 that parsing the ARFF text gives. The
int32 mantissas are stored byte-shuffled (all lowest bytes, then all second bytes, ...), so the
nearly constant high bytes compress to almost nothing, and the ``.npz`` is zip/deflate, which
``numpy.load`` reads without any extra dependency. Compared with the alternatives (measured on
these three data sets): float64 in ``np.savez_compressed`` takes 5.9 MB, the gzipped ARFF text
3.3 MB and needs a text parser at load time, this format 2.4 MB and decodes in milliseconds.
``y`` is stored as uint8 and returned as int64, the dtype of scikit-learn's own multi-label
targets (``make_multilabel_classification``).

bibtex is sparse and binary (1836 word-presence features, about 68 words per row), so it is
stored differently: column by column (CSC order), the gaps between successive rows holding a 1
(the first gap counted from row 0) as byte-shuffled uint16, plus the number of nonzeros per
column; ``y`` is bit-packed per row (``np.packbits``). Decoding is a cumulative sum and a
CSC-to-CSR conversion. Measured on bibtex: the row-wise CSR column indices as uint16 compress
to 581 kB, their in-row gaps to 399 kB, these column-wise gaps to 360 kB; the two ARFF files
take 3.5 MB.

Rows are stored train first, then test; ``subset="all"`` is exactly train followed by test
(for yeast this is not the row order of MULAN's ``yeast.arff`` union file).
"""

from importlib import resources

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch

__all__ = ["load_bibtex", "load_emotions", "load_scene", "load_yeast"]

_SUBSETS = ("train", "test", "all")

_MULAN_CITATION = (
    'G. Tsoumakas, E. Spyromitros-Xioufis, J. Vilcek, I. Vlahavas. "MULAN: A Java Library for\n'
    'Multi-Label Learning". Journal of Machine Learning Research 12:2411-2414, 2011.'
)

_SOURCE = (
    "Source: the MULAN repository (GitHub tsoumakas/mulan, commit 43f6389095ad, directory\n"
    "data/multi-label/{name}/), files {files}.\n"
    "The repository states no license for the data files; cite the papers below."
)

_DESCR = {
    "yeast": """.. _yeast_dataset:

Yeast gene functional classes (MULAN)
-------------------------------------

**Data Set Characteristics:**

:Number of Instances: 2417 (train 1500, test 917: MULAN's standard split)
:Number of Features: 103 numeric (Att1 .. Att103), micro-array expression and phylogenetic
    profile features of yeast genes
:Number of Labels: 14 functional classes (Class1 .. Class14); label cardinality 4.237,
    198 distinct label sets, every gene has at least one label

Labels are in the ARFF attribute order Class1 .. Class14. MULAN's ``yeast.xml`` lists them in
another order (Class1, Class2, Class3, Class6, Class4, ...); they were matched by name.

{source}

Reference:

- A. Elisseeff, J. Weston. "A kernel method for multi-labelled classification". Advances in
  Neural Information Processing Systems 14 (NIPS 2001), 2002.
- {mulan}

Not to be confused with the single-label UCI "Yeast" data set (1484 rows).
""",
    "emotions": """.. _emotions_dataset:

Emotions in music (MULAN)
-------------------------

**Data Set Characteristics:**

:Number of Instances: 593 songs (train 391, test 202: MULAN's standard split)
:Number of Features: 72 numeric rhythmic and timbre audio features
:Number of Labels: 6 emotions (amazed-suprised, happy-pleased, relaxing-calm, quiet-still,
    sad-lonely, angry-aggresive; original spellings); label cardinality 1.868,
    27 distinct label sets

{source}

References:

- K. Trohidis, G. Tsoumakas, G. Kalliris, I. Vlahavas. "Multilabel Classification of Music
  into Emotions". Proc. ISMIR 2008, pp. 325-330, Philadelphia, PA, USA, 2008.
- K. Trohidis, G. Tsoumakas, G. Kalliris, I. Vlahavas. "Multi-label classification of music
  by emotion". EURASIP Journal on Audio, Speech, and Music Processing 2011:4
  (doi:10.1186/1687-4722-2011-426793).
- {mulan}
""",
    "scene": """.. _scene_dataset:

Natural scene classification (MULAN)
------------------------------------

**Data Set Characteristics:**

:Number of Instances: 2407 images (train 1211, test 1196: MULAN's standard split)
:Number of Features: 294 numeric (Att1 .. Att294), spatial colour moments in LUV space
:Number of Labels: 6 (Beach, Sunset, FallFoliage, Field, Mountain, Urban); label
    cardinality 1.074, 15 distinct label sets

Note: 7 rows are exact duplicates (2 within train, 5 shared by train and test) and one test
feature vector occurs with two different label sets, as in the original files.

{source}

References:

- M. R. Boutell, J. Luo, X. Shen, C. M. Brown. "Learning multi-label scene classification".
  Pattern Recognition 37(9):1757-1771, 2004.
- {mulan}
""",
    "bibtex": """.. _bibtex_dataset:

BibTeX entries and their tags (MULAN)
-------------------------------------

**Data Set Characteristics:**

:Number of Instances: 7395 BibTeX entries of the BibSonomy social bookmarking site
    (train 4880, test 2515: MULAN's standard split)
:Number of Features: 1836 binary (sparse), presence of a word in the entry; each feature
    is named by its word
:Number of Labels: 159 tags (TAG_2005 .. TAG_wiki); label cardinality 2.40, 2856 distinct
    label sets, many rare tags

Note: 15 rows are duplicated within train + test, 8 rows occur in both train and test and
21 feature vectors occur with different label sets, as in the original files.

Published anchors on this split: macro-F1 0.353 and hamming loss 0.0140 (P. Mineiro,
N. Karampatziakis, "Fast Label Embeddings via Randomized Linear Algebra", ECML PKDD 2015;
separate models per metric).

{source}

References:

- I. Katakis, G. Tsoumakas, I. Vlahavas. "Multilabel Text Classification for Automated Tag
  Suggestion". Proc. ECML/PKDD 2008 Discovery Challenge, Antwerp, 2008.
- {mulan}
""",
}

_FILES = {
    "yeast": "yeast-train.arff, yeast-test.arff, yeast.xml",
    "emotions": "emotions-train.arff, emotions-test.arff, emotions.xml",
    "scene": "scene-train.arff, scene-test.arff, scene.xml",
    "bibtex": "bibtex-train.arff, bibtex-test.arff, bibtex.xml",
}


def _descr(name):
    source = _SOURCE.format(name=name, files=_FILES[name])
    return _DESCR[name].format(source=source, mulan=_MULAN_CITATION.replace("\n", "\n  "))


def decode_features(planes, shape, decimals):
    """Inverse of the build script's encoding: byte planes of int mantissas -> float64."""
    itemsize = planes.shape[0]
    mantissas = np.ascontiguousarray(planes.T).view(f"<i{itemsize}").reshape(shape)
    return mantissas / np.power(10.0, decimals)


def decode_binary_csr(col_nnz, row_gap_planes, shape):
    """Inverse of the build script's sparse encoding: column-wise row gaps -> 0/1 CSR, float64."""
    gaps = np.ascontiguousarray(row_gap_planes.T).view("<u2").ravel().astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(col_nnz, dtype=np.int64)])
    total = np.cumsum(gaps)
    before = np.concatenate([[0], total])[indptr[:-1]]
    rows = total - np.repeat(before, col_nnz)
    X = sp.csc_matrix((np.ones(len(rows)), rows, indptr), shape=shape)
    return X.tocsr()


def _read_bundled(name):
    with resources.files("skml.datasets").joinpath("data", f"{name}.npz").open("rb") as fh:
        with np.load(fh, allow_pickle=False) as npz:
            shape = tuple(int(n) for n in npz["X_shape"])
            if "y_bits" in npz.files:
                X = decode_binary_csr(npz["X_col_nnz"], npz["X_row_gap_planes"], shape)
                y = np.unpackbits(npz["y_bits"], axis=1, count=len(npz["target_names"]))
            else:
                X = decode_features(npz["X_planes"], shape, npz["X_decimals"])
                y = npz["y"]
            return {
                "X": X,
                "y": y.astype(np.int64),
                "feature_names": npz["feature_names"].astype(object),
                "target_names": npz["target_names"].astype(object),
                "n_train": int(npz["n_train"]),
            }


def _load(name, subset, return_X_y, as_frame):
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}")
    d = _read_bundled(name)
    rows = {"train": slice(None, d["n_train"]), "test": slice(d["n_train"], None)}
    X, y = d["X"], d["y"]
    if subset in rows:
        X = X[rows[subset]] if sp.issparse(X) else np.ascontiguousarray(X[rows[subset]])
        y = np.ascontiguousarray(y[rows[subset]])
    frame = None
    if as_frame:
        import pandas as pd

        if sp.issparse(X):
            X = pd.DataFrame.sparse.from_spmatrix(X, columns=list(d["feature_names"]))
        else:
            X = pd.DataFrame(X, columns=list(d["feature_names"]))
        y = pd.DataFrame(y, columns=list(d["target_names"]))
        frame = pd.concat([X, y], axis=1)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=d["feature_names"],
        target_names=d["target_names"],
        DESCR=_descr(name),
    )


_DOC = """Load the {title} multi-label data set (MULAN), bundled with skml.

    {summary}

    ================= ==============================
    samples (all)     {n_all} (train {n_train}, test {n_test})
    features          {n_features}, float64
    labels            {n_labels}, 0/1 int64
    ================= ==============================

    Read more in the ``DESCR`` attribute, which also gives the citations.

    Parameters
    ----------
    subset : {{"train", "test", "all"}}, default="all"
        MULAN's standard split; "all" is the train rows followed by the test rows.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` and ``target`` as pandas DataFrames (columns: the feature names and
        the label names) and set ``frame``, their column-wise concatenation.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray or DataFrame of shape (n_samples, {n_features})
            Feature values, exactly those of the ARFF files.
        target : ndarray or DataFrame of shape (n_samples, {n_labels}), dtype int64
            0/1 label indicator matrix, columns in ARFF attribute order.
        frame : DataFrame of shape (n_samples, {n_columns}) or None
            ``data`` and ``target`` side by side when ``as_frame=True``, else None.
        feature_names : ndarray of shape ({n_features},), dtype object
        target_names : ndarray of shape ({n_labels},), dtype object
            {target_names}
        DESCR : str
            Description of the data set, with its source and citations.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        If ``subset`` is not one of "train", "test", "all".

    Examples
    --------
    >>> from skml.datasets import {func}
    >>> X, y = {func}(return_X_y=True)
    >>> X.shape, y.shape
    (({n_all}, {n_features}), ({n_all}, {n_labels}))
    >>> X_train, y_train = {func}(subset="train", return_X_y=True)
    >>> X_train.shape
    ({n_train}, {n_features})
    """


def load_yeast(*, subset="all", return_X_y=False, as_frame=False):
    return _load("yeast", subset, return_X_y, as_frame)


def load_emotions(*, subset="all", return_X_y=False, as_frame=False):
    return _load("emotions", subset, return_X_y, as_frame)


def load_scene(*, subset="all", return_X_y=False, as_frame=False):
    return _load("scene", subset, return_X_y, as_frame)


def load_bibtex(*, subset="all", return_X_y=False, as_frame=False):
    """Load the bibtex multi-label data set (MULAN), bundled with skml.

    BibTeX entries of the BibSonomy bookmarking site, as binary word-presence features,
    labelled with the tags their users gave them. The features are sparse (about 68 of the
    1836 per row are 1), so ``data`` is a SciPy CSR matrix.

    ================= ==============================
    samples (all)     7395 (train 4880, test 2515)
    features          1836, 0/1, sparse CSR float64
    labels            159, 0/1 int64
    ================= ==============================

    Read more in the ``DESCR`` attribute, which also gives the citations.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="all"
        MULAN's standard split; "all" is the train rows followed by the test rows.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame of sparse columns
        (``pd.DataFrame.sparse.from_spmatrix``, dtype ``Sparse[float64, 0]``, named by the
        words), ``target`` as a dense DataFrame named by the tags, and set ``frame``, their
        column-wise concatenation.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : csr_matrix or DataFrame of shape (n_samples, 1836)
            Word-presence features, float64 0/1, exactly those of the ARFF files.
        target : ndarray or DataFrame of shape (n_samples, 159), dtype int64
            0/1 label indicator matrix, columns in ARFF attribute order (which here is also
            the order of MULAN's ``bibtex.xml``).
        frame : DataFrame of shape (n_samples, 1995) or None
            ``data`` and ``target`` side by side when ``as_frame=True``, else None.
        feature_names : ndarray of shape (1836,), dtype object
            The words.
        target_names : ndarray of shape (159,), dtype object
            The tags, TAG_2005 .. TAG_wiki.
        DESCR : str
            Description of the data set, with its source and citations.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ValueError
        If ``subset`` is not one of "train", "test", "all".

    Examples
    --------
    >>> from skml.datasets import load_bibtex
    >>> X, y = load_bibtex(return_X_y=True)
    >>> X.format, X.shape, y.shape
    ('csr', (7395, 1836), (7395, 159))
    >>> X_train, y_train = load_bibtex(subset="train", return_X_y=True)
    >>> X_train.shape
    (4880, 1836)
    """
    return _load("bibtex", subset, return_X_y, as_frame)


load_yeast.__doc__ = _DOC.format(
    title="yeast",
    func="load_yeast",
    summary="Gene expression profiles of yeast genes, labelled with their functional classes.",
    n_all=2417,
    n_train=1500,
    n_test=917,
    n_features=103,
    n_labels=14,
    n_columns=117,
    target_names="Class1 .. Class14.",
)
load_emotions.__doc__ = _DOC.format(
    title="emotions",
    func="load_emotions",
    summary="Audio features of songs, labelled with the emotions they evoke.",
    n_all=593,
    n_train=391,
    n_test=202,
    n_features=72,
    n_labels=6,
    n_columns=78,
    target_names="amazed-suprised, happy-pleased, relaxing-calm, quiet-still, "
    "sad-lonely, angry-aggresive (original spellings).",
)
load_scene.__doc__ = _DOC.format(
    title="scene",
    func="load_scene",
    summary="Colour features of natural scene images, labelled with the scene types they show.",
    n_all=2407,
    n_train=1211,
    n_test=1196,
    n_features=294,
    n_labels=6,
    n_columns=300,
    target_names="Beach, Sunset, FallFoliage, Field, Mountain, Urban.",
)

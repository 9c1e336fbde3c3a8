"""The bundled MULAN data sets yeast, emotions and scene (skml/datasets/_mulan.py)."""

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import skml.datasets
from skml.datasets import load_arff, load_emotions, load_scene, load_yeast

REPO_ROOT = Path(__file__).parents[1]
SHARED = Path(__file__).parents[2] / "shared" / "datasets"

# loader, name, n_train, n_test, n_features, n_labels
BUNDLED = [
    (load_yeast, "yeast", 1500, 917, 103, 14),
    (load_emotions, "emotions", 391, 202, 72, 6),
    (load_scene, "scene", 1211, 1196, 294, 6),
]
BUNDLED_IDS = [b[1] for b in BUNDLED]


@pytest.mark.parametrize("subset", ["train", "test", "all"])
@pytest.mark.parametrize(
    ("loader", "name", "n_train", "n_test", "n_features", "n_labels"), BUNDLED, ids=BUNDLED_IDS
)
def test_bundled_shapes(loader, name, n_train, n_test, n_features, n_labels, subset):
    bunch = loader(subset=subset)
    n = {"train": n_train, "test": n_test, "all": n_train + n_test}[subset]
    assert bunch.data.shape == (n, n_features)
    assert bunch.target.shape == (n, n_labels)
    assert bunch.data.dtype == np.float64
    assert bunch.target.dtype == np.int64
    assert set(np.unique(bunch.target)) == {0, 1}
    assert np.isfinite(bunch.data).all()
    assert len(bunch.feature_names) == n_features
    assert len(bunch.target_names) == n_labels
    assert bunch.frame is None
    assert "Tsoumakas" in bunch.DESCR


@pytest.mark.parametrize(
    ("loader", "name", "n_train", "n_test", "n_features", "n_labels"), BUNDLED, ids=BUNDLED_IDS
)
def test_bundled_train_plus_test_is_all(loader, name, n_train, n_test, n_features, n_labels):
    X_train, y_train = loader(subset="train", return_X_y=True)
    X_test, y_test = loader(subset="test", return_X_y=True)
    X_all, y_all = loader(return_X_y=True)
    assert_array_equal(np.vstack([X_train, X_test]), X_all)
    assert_array_equal(np.vstack([y_train, y_test]), y_all)


@pytest.mark.parametrize("loader", [b[0] for b in BUNDLED], ids=BUNDLED_IDS)
def test_bundled_return_X_y_matches_bunch(loader):
    bunch = loader(subset="test")
    X, y = loader(subset="test", return_X_y=True)
    assert_array_equal(X, bunch.data)
    assert_array_equal(y, bunch.target)


@pytest.mark.parametrize("loader", [b[0] for b in BUNDLED], ids=BUNDLED_IDS)
def test_bundled_as_frame(loader):
    pd = pytest.importorskip("pandas")
    bunch = loader(subset="train", as_frame=True)
    plain = loader(subset="train")
    assert isinstance(bunch.data, pd.DataFrame)
    assert isinstance(bunch.target, pd.DataFrame)
    assert list(bunch.data.columns) == list(plain.feature_names)
    assert list(bunch.target.columns) == list(plain.target_names)
    assert (bunch.target.dtypes == np.int64).all()
    assert_array_equal(bunch.data.to_numpy(), plain.data)
    assert_array_equal(bunch.target.to_numpy(), plain.target)
    assert list(bunch.frame.columns) == [*plain.feature_names, *plain.target_names]
    X, y = loader(subset="train", as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.DataFrame)


@pytest.mark.parametrize("subset", ["validation", "Train", None])
def test_bundled_bad_subset(subset):
    with pytest.raises(ValueError, match=f"subset must be .*got {subset!r}"):
        load_emotions(subset=subset)


def test_bundled_label_names():
    assert list(load_yeast().target_names) == [f"Class{i}" for i in range(1, 15)]
    assert list(load_scene().target_names) == [
        "Beach",
        "Sunset",
        "FallFoliage",
        "Field",
        "Mountain",
        "Urban",
    ]
    assert list(load_emotions().target_names) == [
        "amazed-suprised",
        "happy-pleased",
        "relaxing-calm",
        "quiet-still",
        "sad-lonely",
        "angry-aggresive",
    ]


def test_bundled_label_statistics():
    # Label cardinality and distinct label sets from MULAN's statistics table.
    for loader, cardinality, n_sets in [
        (load_yeast, 4.237, 198),
        (load_emotions, 1.868, 27),
        (load_scene, 1.074, 15),
    ]:
        y = loader(return_X_y=True)[1]
        assert_allclose(y.sum(axis=1).mean(), cardinality, atol=1e-3)
        assert len(np.unique(y, axis=0)) == n_sets


@pytest.mark.parametrize(
    ("loader", "first_values", "first_labels"),
    [
        (load_yeast, [0.0937, 0.139771, 0.062774], [0, 0, 1, 1] + [0] * 10),
        (load_emotions, [0.034741, 0.089665, 0.091225, -73.302422], [0, 1, 1, 0, 0, 0]),
        (load_scene, [0.646467, 0.666435, 0.685047], [1, 0, 0, 0, 1, 0]),
    ],
    ids=BUNDLED_IDS,
)
def test_bundled_first_row_exact(loader, first_values, first_labels):
    # Copied from the first data row of <name>-train.arff: float64 values, no rounding.
    X, y = loader(subset="train", return_X_y=True)
    assert X[0, : len(first_values)].tolist() == first_values
    assert y[0].tolist() == first_labels


def test_bundled_data_is_fresh_copy():
    X, y = load_yeast(return_X_y=True)
    X[:] = 0
    y[:] = 0
    assert load_yeast(return_X_y=True)[0].any()


def test_bundled_files_covered_by_package_data():
    data_dir = Path(skml.datasets.__file__).parent / "data"
    assert sorted(p.name for p in data_dir.iterdir() if p.suffix == ".npz") == [
        "bibtex.npz",
        "emotions.npz",
        "scene.npz",
        "yeast.npz",
    ]
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert '"skml.datasets" = ["data/*"]' in pyproject


def _raw_rows(path):
    """Data rows of a dense MULAN ARFF file as a (n, n_attributes) str array, no parser."""
    text = path.read_text().split("@data", 1)[1]
    return np.array([row.split(",") for row in text.split()])


def _raw_attribute_names(path):
    header = path.read_text().split("@data", 1)[0]
    return [line.split()[1] for line in header.splitlines() if line.startswith("@attribute")]


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared MULAN files not available")
@pytest.mark.parametrize(
    ("loader", "name"),
    # emotions, the smallest, in the fast loop; the larger files take seconds to parse.
    [
        pytest.param(loader, name, marks=[] if name == "emotions" else pytest.mark.slow)
        for loader, name, *_ in BUNDLED
    ],
    ids=BUNDLED_IDS,
)
@pytest.mark.parametrize("subset", ["train", "test"])
def test_bundled_equals_original_arff(loader, name, subset):
    arff = SHARED / name / f"{name}-{subset}.arff"
    bundled = loader(subset=subset)
    raw = _raw_rows(arff)
    names = _raw_attribute_names(arff)
    # Labels by name, from columns found independently of skml's parser.
    label_cols = [names.index(label) for label in bundled.target_names]
    feature_cols = [names.index(feature) for feature in bundled.feature_names]
    assert_array_equal(bundled.target, raw[:, label_cols].astype(np.int64))
    assert_array_equal(bundled.data, raw[:, feature_cols].astype(np.float64))  # exact
    parsed = load_arff(arff, label_xml=SHARED / name / f"{name}.xml")
    assert_array_equal(parsed.data, bundled.data)
    assert_array_equal(parsed.target, bundled.target)
    assert list(parsed.target_names) == list(bundled.target_names)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared MULAN files not available")
def test_yeast_labels_matched_by_name_not_xml_order():
    xml = SHARED / "yeast" / "yeast.xml"
    xml_order = [line.split('"')[1] for line in xml.read_text().splitlines() if "name=" in line]
    arff_order = [f"Class{i}" for i in range(1, 15)]
    assert sorted(xml_order) == sorted(arff_order) and xml_order != arff_order
    bunch = load_arff(SHARED / "yeast" / "yeast-test.arff", label_xml=xml)
    assert list(bunch.target_names) == arff_order
    raw = _raw_rows(SHARED / "yeast" / "yeast-test.arff")
    # Class6 is the 4th label of the XML but the 109th attribute (103 features + 6).
    assert_array_equal(bunch.target[:, 5], raw[:, 103 + 5].astype(int))
    assert not np.array_equal(bunch.target[:, 3], bunch.target[:, 5])
    assert_array_equal(load_yeast(subset="test").target, bunch.target)

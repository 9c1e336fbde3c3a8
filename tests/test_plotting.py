import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score, hamming_loss

from skml.metrics import multilabel_report
from skml.networks import MLP
from skml.plotting import (
    plot_calibration,
    plot_history,
    plot_label_report,
    plot_threshold_curve,
)
from skml.thresholds import tune_thresholds

# Headless rendering for these tests only; skml.plotting itself never picks a backend.
matplotlib.use("Agg")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.9, 0.6, 0.5, 0.45], "val_loss": [0.8, 0.55, 0.6, 0.65], "f1": [0, 0, 0, 0]}


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y_true = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]] * 5)
    y_score = np.clip(0.35 * y_true + rng.uniform(0, 0.65, y_true.shape), 0, 1)
    return y_true, y_score


@pytest.fixture
def report(scores):
    y_true, y_score = scores
    return multilabel_report(
        y_true, (y_score >= 0.5).astype(int), y_score, target_names=["a", "b", "c"]
    )


def _save_png(ax, path):
    """Render the Axes' figure to PNG and check it is a real image of the figure's size."""
    fig = ax.figure
    fig.savefig(path, dpi=100)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 5_000
    width, height = np.round(fig.get_size_inches() * 100).astype(int)
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (width, height)
    assert matplotlib.image.imread(path).shape[:2] == (height, width)
    return len(data)


def test_plot_history_dict(tmp_path):
    ax = plot_history(HISTORY)
    train, val, vline, best = ax.get_lines()
    assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    assert_array_equal(train.get_ydata(), HISTORY["loss"])
    assert_array_equal(val.get_ydata(), HISTORY["val_loss"])
    assert_array_equal(best.get_xdata(), [2])
    assert_array_equal(best.get_ydata(), [0.55])
    assert_array_equal(vline.get_xdata(), [2, 2])
    assert "epoch 2" in best.get_label()
    assert ax.get_xlabel() == "epoch"
    _save_png(ax, tmp_path / "history.png")


def test_plot_history_training_loss_only_on_given_axes(tmp_path):
    import matplotlib.pyplot as plt

    ax = Figure(figsize=(4, 3)).subplots()
    before = plt.get_fignums()
    assert plot_history({"loss": [1.0, 0.5, np.nan]}, ax=ax) is ax
    assert plt.get_fignums() == before
    (line,) = ax.get_lines()
    assert_array_equal(line.get_ydata(), [1.0, 0.5, np.nan])
    _save_png(ax, tmp_path / "loss_only.png")


def test_plot_history_estimator(tmp_path):
    from skml import KerasMultiLabelClassifier

    X, y = make_multilabel_classification(n_samples=100, n_classes=3, random_state=0)
    clf = KerasMultiLabelClassifier(network=MLP(hidden_layer_sizes=(8,)), epochs=3, random_state=0)
    with pytest.raises(NotFittedError):
        plot_history(clf)
    clf.fit(X, y)
    ax = plot_history(clf)
    lines = ax.get_lines()
    assert_allclose(lines[0].get_ydata(), clf.history_["loss"])
    assert_allclose(lines[1].get_ydata(), clf.history_["val_loss"])
    best = int(np.argmin(clf.history_["val_loss"])) + 1
    assert_array_equal(lines[-1].get_xdata(), [best])
    _save_png(ax, tmp_path / "history_estimator.png")


@pytest.mark.parametrize(
    "history, match",
    [
        ({}, "history is empty"),
        ({"val_loss": [1.0]}, "no 'loss' key"),
        ({"loss": []}, "non-empty"),
        ({"loss": [[1.0, 2.0]]}, "non-empty"),
        ({"loss": [1.0, 0.5], "val_loss": [1.0]}, "different lengths"),
    ],
)
def test_plot_history_bad_history(history, match):
    with pytest.raises(ValueError, match=match):
        plot_history(history)


def test_plot_history_estimator_without_history():
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="no history_ attribute"):
        plot_history(reg)


def test_plot_label_report_sorted(report, tmp_path):
    ax = plot_label_report(report)
    labels = report.loc[["a", "b", "c"]].sort_values("f1-score", ascending=False, kind="stable")
    heights = [bar.get_height() for bar in ax.patches]
    assert_allclose(heights, labels["f1-score"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(labels.index)
    (macro,) = ax.get_lines()
    assert_allclose(macro.get_ydata(), [report.loc["macro avg", "f1-score"]] * 2)
    twin = next(other for other in ax.figure.axes if other is not ax)
    (support,) = twin.get_lines()
    assert_array_equal(support.get_ydata(), labels["support"])
    _save_png(ax, tmp_path / "report.png")


def test_plot_label_report_unsorted_metric_on_given_axes(report, tmp_path):
    ax = Figure(figsize=(5, 4)).subplots()
    assert plot_label_report(report, ax=ax, metric="roc_auc", sort=False) is ax
    assert_allclose([bar.get_height() for bar in ax.patches], report["roc_auc"].iloc[:3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_ylabel() == "roc_auc"
    _save_png(ax, tmp_path / "report_auc.png")


def test_plot_label_report_nan_last_and_no_support():
    report = pd.DataFrame({"roc_auc": [np.nan, 0.6, 0.9]}, index=["x", "y", "z"])
    ax = plot_label_report(report, metric="roc_auc")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["z", "y", "x"]
    assert len(ax.figure.axes) == 1
    # Without a macro avg row, the line is the mean of the defined values.
    assert_allclose(ax.get_lines()[0].get_ydata(), [0.75, 0.75])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"metric": "support"}, ValueError, "metric must be one of"),
        ({"metric": "accuracy"}, ValueError, "metric must be one of"),
        ({"sort": "yes"}, ValueError, "sort must be"),
    ],
)
def test_plot_label_report_bad_arguments(report, kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_label_report(report, **kwargs)


def test_plot_label_report_bad_report(report):
    with pytest.raises(TypeError, match="pandas DataFrame"):
        plot_label_report(report.to_numpy())
    with pytest.raises(ValueError, match="no per-label rows"):
        plot_label_report(report.loc[["macro avg", "hamming loss"]])


def test_plot_threshold_curve(scores, tmp_path):
    y_true, y_score = scores
    ax = plot_threshold_curve(y_true, y_score, label=1)
    f1_line, error_line, half, best_line, best = ax.get_lines()
    grid = np.linspace(0, 1, 101)
    assert_allclose(f1_line.get_xdata(), grid)
    expected_f1 = [f1_score(y_true[:, 1], y_score[:, 1] >= t, zero_division=0) for t in grid]
    expected_error = [hamming_loss(y_true[:, 1], y_score[:, 1] >= t) for t in grid]
    assert_allclose(f1_line.get_ydata(), expected_f1)
    assert_allclose(error_line.get_ydata(), expected_error)
    assert_array_equal(half.get_xdata(), [0.5, 0.5])
    threshold = tune_thresholds(y_true, y_score, shrinkage=0, max_positive_ratio=None)[1]
    assert_allclose(best.get_xdata(), [threshold])
    assert_allclose(best.get_ydata(), [f1_score(y_true[:, 1], y_score[:, 1] >= threshold)])
    assert best.get_ydata()[0] >= max(expected_f1)
    assert ax.get_title() == "label 1"
    _save_png(ax, tmp_path / "threshold.png")


def test_plot_threshold_curve_label_names_and_grid(scores, tmp_path):
    y_true, y_score = scores
    frame = pd.DataFrame(y_true, columns=["a", "b", "c"])
    grid = [0.9, 0.1, 0.5]
    ax = Figure(figsize=(4, 3)).subplots()
    assert plot_threshold_curve(frame, y_score, label="c", ax=ax, thresholds=grid) is ax
    assert_allclose(ax.get_lines()[0].get_xdata(), [0.1, 0.5, 0.9])
    assert ax.get_title() == "label c"
    named = plot_threshold_curve(y_true, y_score, label="c", target_names=["x", "y", "c"])
    assert_allclose(
        named.get_lines()[0].get_ydata(),
        plot_threshold_curve(y_true, y_score, label=-1).get_lines()[0].get_ydata(),
    )
    _save_png(ax, tmp_path / "threshold_named.png")


def test_plot_threshold_curve_label_without_positives():
    y_true = np.array([[0, 1], [0, 0], [0, 1]])
    y_score = np.array([[0.2, 0.9], [0.7, 0.1], [0.4, 0.6]])
    ax = plot_threshold_curve(y_true, y_score, label=0)
    assert len(ax.get_lines()) == 3  # F1, error rate and 0.5: no best-F1 marker
    assert_array_equal(ax.get_lines()[0].get_ydata(), np.zeros(101))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"label": 3}, r"label must be in \[0, 3\)"),
        ({"label": -4}, r"label must be in \[0, 3\)"),
        ({"label": True}, "integer index or a label name"),
        ({"label": "z"}, "Unknown label name 'z': no target_names"),
        ({"label": "z", "target_names": ["a", "b", "c"]}, "Unknown label name 'z': known"),
        ({"target_names": ["a", "b"]}, "target_names has 2 names"),
        ({"thresholds": []}, "non-empty 1-D"),
        ({"thresholds": [[0.5]]}, "non-empty 1-D"),
        (
            {"thresholds": [0.5, np.nan]},
            r"thresholds must hold finite values in \(-inf, inf\); got 1: nan",
        ),
    ],
)
def test_plot_threshold_curve_bad_arguments(scores, kwargs, match):
    y_true, y_score = scores
    with pytest.raises(ValueError, match=match):
        plot_threshold_curve(y_true, y_score, **kwargs)


def test_plot_threshold_curve_bad_data(scores):
    y_true, y_score = scores
    with pytest.raises(ValueError, match="different shapes"):
        plot_threshold_curve(y_true, y_score[:, :2])
    with pytest.raises(ValueError, match="different shapes"):
        plot_threshold_curve(y_true, y_score[:-1])
    with pytest.raises(ValueError, match="y_true .* values other than 0/1 found: 2"):
        plot_threshold_curve(y_true * 2, y_score)
    with pytest.raises(ValueError, match="NaN or infinity"):
        plot_threshold_curve(y_true, np.full(y_true.shape, np.nan))


@pytest.mark.parametrize(
    "plot, args",
    [
        (plot_history, (HISTORY,)),
        (plot_label_report, (pd.DataFrame({"f1-score": [1.0]}),)),
        (plot_threshold_curve, ([[1]], [[0.5]])),
        (plot_calibration, ([[1]], [[0.5]])),
    ],
)
def test_missing_matplotlib(monkeypatch, plot, args):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "skml\[plot\]"'):
        plot(*args)


# ------------------------------------------------------------------------- plot_calibration


def test_plot_calibration(scores, tmp_path):
    from skml.metrics import expected_calibration_error

    y_true, y_score = scores
    ax = plot_calibration(y_true, y_score, n_bins=5)
    diagonal, *lines = ax.get_lines()
    assert_array_equal(diagonal.get_xdata(), [0, 1])
    assert len(lines) == 3
    bins = np.minimum((y_score[:, 2] * 5).astype(int), 4)
    expected_x = [y_score[bins == b, 2].mean() for b in range(5) if (bins == b).any()]
    expected_y = [y_true[bins == b, 2].mean() for b in range(5) if (bins == b).any()]
    assert_allclose(lines[2].get_xdata(), expected_x)
    assert_allclose(lines[2].get_ydata(), expected_y)
    ece = expected_calibration_error(y_true, y_score, n_bins=5)[2]
    assert lines[2].get_label() == f"2 (ECE {ece:.3f})"
    _save_png(ax, tmp_path / "calibration.png")


def test_plot_calibration_labels_by_name_on_given_axes():
    import matplotlib.pyplot as plt

    y_true = pd.DataFrame({"a": [1, 0, 1, 0], "b": [0, 0, 1, 1]})
    y_score = [[0.9, 0.1], [0.2, 0.3], [0.7, 0.6], [0.4, 0.8]]
    _, ax = plt.subplots()
    assert plot_calibration(y_true, y_score, labels=["b"], ax=ax) is ax
    assert [line.get_label() for line in ax.get_lines()][1].startswith("b (ECE")
    assert len(ax.get_lines()) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": [5]}, r"label must be in \[0, 3\)"),
        ({"labels": ["x"]}, "Unknown label name 'x'"),
        ({"n_bins": 0}, r"n_bins must be an integer in \[1, inf\); got 0"),
        ({"target_names": ["a"]}, "target_names has 1 names"),
    ],
)
def test_plot_calibration_bad_arguments(scores, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_calibration(*scores, **kwargs)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        plot_calibration(scores[0], scores[1] * 2)

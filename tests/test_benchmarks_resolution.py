"""Tests of ``python -m benchmarks.resolution``: a paired bootstrap of two methods."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import f1_score, hamming_loss

from benchmarks import resolution


def _labels(seed, n_rows=60, n_labels=5):
    rng = np.random.default_rng(seed)
    y = (rng.random((n_rows, n_labels)) < [0.5, 0.3, 0.1, 0.03, 0.0]).astype(int)
    noisy = np.where(rng.random(y.shape) < 0.2, 1 - y, y)
    return y, noisy


def test_resample_counts_draw_every_row_count_per_resample():
    counts = resolution.resample_counts(50, 400, random_state=1)
    assert counts.shape == (400, 50)
    assert (counts.sum(axis=1) == 50).all()
    # About 1 - 1/e of the rows appear in a resample; each row is drawn once on average.
    assert 0.55 < (counts > 0).mean() < 0.72
    assert_allclose(counts.mean(), 1.0)
    assert (resolution.resample_counts(50, 4, 1) == counts[:4]).all()


def test_bootstrap_metrics_match_scikit_learn_on_the_repeated_rows():
    y, pred = _labels(0)
    counts = resolution.resample_counts(len(y), 3, random_state=2)
    metrics = resolution.bootstrap_metrics(y, pred, counts)
    for i, row_counts in enumerate(counts):
        rows = np.repeat(np.arange(len(y)), row_counts)
        assert metrics["hamming_loss"][i] == pytest.approx(hamming_loss(y[rows], pred[rows]))
        expected = f1_score(y[rows], pred[rows], average="macro", zero_division=0)
        assert metrics["f1_macro"][i] == pytest.approx(expected)


def test_paired_bootstrap_of_a_method_against_itself_is_exactly_zero():
    y, pred = _labels(3)
    result = resolution.paired_bootstrap(y, [pred], [pred.copy()], n_resamples=200)
    for metric in resolution.METRICS:
        r = result[metric]
        assert r["difference"] == r["sd"] == r["low"] == r["high"] == 0.0


def test_paired_bootstrap_averages_seeds_and_spreads_around_the_observed_difference():
    y, a0 = _labels(4)
    _, a1 = _labels(5)
    _, b = _labels(6)
    result = resolution.paired_bootstrap(y, [a0, a1], [b], n_resamples=500)
    f1 = result["f1_macro"]
    mean_a = np.mean([f1_score(y, p, average="macro", zero_division=0) for p in (a0, a1)])
    assert f1["a"] == pytest.approx(mean_a)
    assert f1["difference"] == pytest.approx(mean_a - f1_score(y, b, average="macro"))
    hamming = result["hamming_loss"]
    assert hamming["difference"] == pytest.approx(
        np.mean([hamming_loss(y, a0), hamming_loss(y, a1)]) - hamming_loss(y, b)
    )
    for r in result.values():
        assert r["sd"] > 0 and r["low"] < r["difference"] < r["high"]


def test_command_line_compares_two_benchmark_methods(tmp_path):
    from benchmarks.contenders import CONTENDERS
    from benchmarks.data import QUICK_SIZES, load_dataset
    from benchmarks.protocols import evaluate, iter_folds

    argv = ["--dataset", "emotions", "--methods", "br-lr,rf", "--quick", "--seeds", "2"]
    result = resolution.main([*argv, "--resamples", "100", "--out", str(tmp_path)])
    # The observed difference is that of the benchmark's own scores (mean over seeds).
    dataset = load_dataset("emotions").subsample(*QUICK_SIZES)
    means = {
        method: np.mean(
            [
                evaluate(CONTENDERS[method], dataset, fold, quick=True)["hamming_loss"]
                for fold in iter_folds(dataset, "split", n_seeds=2)
            ]
        )
        for method in ("br-lr", "rf")
    }
    assert result["hamming_loss"]["difference"] == pytest.approx(means["br-lr"] - means["rf"])
    text = (tmp_path / "resolution_emotions_br-lr_rf.md").read_text()
    assert "| macro-F1 |" in text and "95% interval" in text
    with pytest.raises(SystemExit):
        resolution.main(["--dataset", "emotions", "--methods", "br-lr"])
